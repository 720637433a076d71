"""The sandbox's local certificate authority: the SDK only speaks ``https://``.

On first use a CA and a server certificate for ``127.0.0.1``/``localhost``/``::1`` are issued
(by ``trustme``) and kept in the sandbox folder, so an SDK configured once with
``REQUESTS_CA_BUNDLE=.vcall/sandbox/ca.pem`` keeps working across restarts::

    ca.pem       the CA certificate (what clients trust)
    server.pem   the server's private key and certificate chain

The CA's own key is never written down: nothing else can be signed by a CA the user trusts.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

from vcall._errors import ConfigError
from vcall._files import write_private

#: The names the server certificate is valid for.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA certificate and the server's key + chain are."""

    ca_cert: Path
    server_pem: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the sandbox server."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(self.server_pem)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the sandbox certificate {self.server_pem} ({exc}); "
                "run `vcall sandbox reset --all`"
            ) from None
        return ctx


def ensure_tls(folder: Path) -> TlsFiles:
    """The sandbox's CA and server certificate, issued on first use (files 0600).

    Callers serialise this with other writers (:meth:`SandboxState.tls`)."""
    files = TlsFiles(folder / "ca.pem", folder / "server.pem")
    if files.ca_cert.is_file() and files.server_pem.is_file():
        return files
    ca = trustme.CA(organization_name="vcall sandbox")
    leaf = ca.issue_cert(*LOOPBACK_NAMES, common_name="vcall sandbox")
    # CA certificate last: a half-written pair is detected as a missing ca.pem.
    write_private(files.server_pem, leaf.private_key_and_cert_chain_pem.bytes())
    write_private(files.ca_cert, ca.cert_pem.bytes())
    return files
