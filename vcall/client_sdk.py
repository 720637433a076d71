"""The Vonage Client SDK the page runs: where it talks to live, and its bundle.

Live, the SDK talks to the hosts of the application's region (:func:`hosts`); in the sandbox,
to ``vcall serve`` itself.

The bundle's licence does not allow shipping it, so ``npm ci`` fetches it from the lockfile
vcall carries (``client/package-lock.json``, in the wheel too). It goes into the user's cache,
``$XDG_CACHE_HOME/vcall/client-sdk/<lockfile digest>/`` (``~/.cache`` by default): writable
wherever vcall is installed (a read-only site-packages included), shared by every project, and
a new pin gets a folder of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from vcall._errors import ConfigError

# hashlib, shutil, subprocess and tempfile are imported in the functions that use them:
# `vcall --help` builds the serve command, which reads REGIONS from here, and its start-up is
# measured (bench/startup.py).

#: The page's files: ``vcall/client`` (a link to the top-level ``client/`` in a checkout, the
#: files themselves in an installed wheel).
CLIENT_DIR = Path(__file__).resolve().parent / "client"
#: The UMD build, inside the installed package.
BUNDLE = Path("node_modules/@vonage/client-sdk/dist/vonageClientSDK.min.js")
_MANIFESTS = ("package.json", "package-lock.json")
#: The regions Vonage serves the Client SDK from (``vcall serve --region``), the first the
#: default.
REGIONS = ("us", "eu", "ap")


def hosts(region: str) -> dict[str, str]:
    """The region's hosts, as ``ClientConfig`` names them."""
    return {
        "apiUrl": f"https://api-{region}.vonage.com",
        "websocketUrl": f"https://ws-{region}.vonage.com",
    }


def install_dir(client_dir: Path = CLIENT_DIR) -> Path:
    """Where the bundle pinned by ``client_dir``'s lockfile lives."""
    import hashlib

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256((client_dir / "package-lock.json").read_bytes()).hexdigest()[:16]
    return cache / "vcall" / "client-sdk" / digest


def bundle(client_dir: Path = CLIENT_DIR) -> Path | None:
    """The installed bundle, or None."""
    path = install_dir(client_dir) / BUNDLE
    return path if path.is_file() else None


def install(client_dir: Path = CLIENT_DIR) -> Path:
    """Install the bundle with ``npm ci`` (once); its path. :class:`~vcall._errors.ConfigError`
    says what to do when npm is not there or fails."""
    import shutil
    import subprocess
    import tempfile

    found = bundle(client_dir)
    if found is not None:
        return found
    npm = shutil.which("npm")
    target = install_dir(client_dir)
    if npm is None:
        raise ConfigError(
            "the page needs the Vonage Client SDK and npm is not installed: install Node.js "
            "and npm (e.g. `apt-get install npm`), then start vcall serve again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside its final place, then renamed: a folder there is always complete.
    with tempfile.TemporaryDirectory(
        prefix=".install-", dir=target.parent, ignore_cleanup_errors=True
    ) as work:
        for name in _MANIFESTS:
            shutil.copyfile(client_dir / name, Path(work) / name)
        done = subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(f"npm could not install the Vonage Client SDK ({last}); try again")
        try:
            os.replace(work, target)
        except OSError:
            if not target.is_dir():  # else another vcall installed it meanwhile
                raise
    return target / BUNDLE


if __name__ == "__main__":  # scripts/test.sh installs it before the browser tests run
    print(install())
