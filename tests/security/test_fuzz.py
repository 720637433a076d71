"""Fuzzing vcall serve: generated bad requests on every route → no 5xx, no crash.

Requests come from two generators, both hypothesis-driven, sent fast to one real server on
loopback (one test, many examples, not one test per example):

* schemathesis over the server's own ``/api/openapi.json`` (negative and positive cases),
  some signed correctly or carrying the page key so they get past the gates into handlers;
* raw HTTP: arbitrary methods, paths, headers and bodies, and malformed request bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import requests
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from vcall import tokens
from vcall.signing import query_payload, sign
from vcall.web.access import COOKIE
from vcall.web.app import create_app

#: Total requests the fuzz test must send (the issue asks for at least 10,000).
TARGET = 10_000
#: Generated shapes: schemathesis cases, raw requests (each sent to every path), raw bytes.
SHAPES = (300, 750, 1_000)
_FAST = settings(
    database=None,
    deadline=None,
    derandomize=False,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
PATHS = [
    "/healthz",
    "/voice/answer",
    "/voice/fallback",
    "/voice/event",
    "/api/events",
    "/api/events/stream",
    "/api/openapi.json",
    "/api/calls",
    "/api/calls/CON-fuzz",
    "/api/calls/CON-fuzz/replay",
    "/",
    "/voice/",
    "/voice/../api/events",
    "/%2e%2e/api/events",
    "/api//events",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"]


class Fuzzer:
    """Sends requests to one server, counts answers by status, remembers 5xx and drops."""

    def __init__(self, base: str, authorize: Callable[[requests.PreparedRequest, str], None]):
        self.base = base
        self.authorize = authorize
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.dropped: list[str] = []
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="fuzz")
        self._pending: list[tuple[requests.Request, str]] = []
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []

    def queue(self, request: requests.Request, how: str) -> None:
        """Send ``request`` with credentials ``how`` soon, in a concurrent batch.

        Concurrency matters: sequential requests would each wait for their own fsync,
        while concurrent ones share the store's group commit, as real traffic does.
        """
        self._pending.append((request, how))
        if len(self._pending) >= 32:
            self.flush()

    def flush(self) -> None:
        """Send everything queued and wait for the answers."""
        batch, self._pending = self._pending, []
        list(self._pool.map(lambda item: self._send(*item), batch))

    def close(self) -> None:
        self.flush()
        self._pool.shutdown()
        for conn in self._connections:
            conn.close()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "conn", None) is None:
            url = urlsplit(self.base)
            self._local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            with self._lock:
                self._connections.append(self._local.conn)
        return self._local.conn

    def _send(self, request: requests.Request, how: str) -> None:
        # requests only serialises (params, json, form bodies); the lighter http.client
        # sends, on one keep-alive connection per thread.
        if request.method == "HEAD":
            request.data = request.json = None  # a HEAD body would desync the connection
        try:
            prepared = request.prepare()
        except (ValueError, requests.RequestException):
            return  # requests refuses to build it (e.g. a control character in a header)
        self.authorize(prepared, how)
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        conn = self._connection()
        try:
            conn.request(prepared.method, prepared.path_url, body, dict(prepared.headers))
            resp = conn.getresponse()
            status = resp.status
            if "event-stream" in resp.getheader("Content-Type", ""):
                conn.close()  # the stream never ends: the status is all we need
            else:
                resp.read()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # Closing the connection on a malformed request is fine while it stays rare and
            # the server keeps answering (both checked); a timeout would mean a hang.
            with self._lock:
                self.dropped.append(f"{type(exc).__name__} {prepared.method} {prepared.url}")
            conn.close()
            return
        with self._lock:
            self.statuses[status] += 1
        if status >= 500:
            self.errors.append(f"{status} {prepared.method} {prepared.url} {body!r:.200}")

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + len(self.dropped)


def serve_credentials(secret: str, key: str) -> Callable[[requests.PreparedRequest, str], None]:
    """For vcall serve: a valid signature on /voice/*, the page key elsewhere, or forgeries."""

    def authorize(prepared: requests.PreparedRequest, how: str) -> None:
        url = urlsplit(prepared.url)
        if how == "none":
            return
        if how == "garbage":
            prepared.headers["Authorization"] = "Bearer eyJhbGciOiJub25lIn0.e30."
        elif url.path.startswith("/voice/"):
            if prepared.method == "GET":
                payload = query_payload(parse_qsl(url.query, keep_blank_values=True))
            else:
                body = prepared.body or b""
                payload = body.encode() if isinstance(body, str) else body
            token = sign(secret, payload, api_key="k", application_id="a")
            prepared.headers["Authorization"] = f"Bearer {token}"
        else:
            prepared.headers["Authorization"] = f"Bearer {key}"

    return authorize


def raw_request(base: str, data: bytes, *, half_close: bool = False) -> bytes:
    """Send ``data`` on a fresh connection; the first line of what comes back (b"": none).

    ``half_close`` ends the sending side at once: for garbage that would otherwise leave the
    server waiting for the rest of a request.
    """
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in reply and (chunk := sock.recv(4096)):
                reply += chunk
    return reply.split(b"\r\n", 1)[0]


_headers = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "Authorization", "Origin", "Cookie", "Last-Event-ID", "X-Junk", "Accept"]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    max_size=4,
)
_bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"uuid": st.text(max_size=10), "status": st.text(max_size=10)},
        optional={
            "from": st.text(max_size=10) | st.integers(),
            "duration": st.booleans() | st.text(),
        },
    ).map(lambda v: json.dumps(v).encode()),
)
_query = st.lists(st.tuples(st.text(max_size=10), st.text(max_size=20)), max_size=4)
_garbage = st.binary(min_size=1, max_size=200)
_bad_requests = st.builds(
    lambda m, p, v, h: m + b" " + p + b" " + v + b"\r\n" + h + b"\r\n\r\n",
    st.sampled_from([b"GET", b"POST", b"G\x00T", b"", b"CONNECT"]),
    st.sampled_from(
        [b"/voice/event", b"/api/events", b"/healthz", b"*", b"http://x/", b"/\xff", b""]
    ),
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b"HTTP/1.1x", b""]),
    st.sampled_from(
        [
            b"Host: x",
            b"Content-Length: -1",
            b"Content-Length: 5\r\nContent-Length: 6",
            b"Transfer-Encoding: chunked\r\n\r\nzz",
            b"Transfer-Encoding: chunked, identity",
            b"X: " + b"a" * 9000,
            b"Bad Header",
            # Header bytes that are not UTF-8 reach the handlers as surrogate escapes.
            b"Host: x\r\nAuthorization: Bearer \xff\xfe",
            b"Host: x\r\nCookie: vcall_key=\xff",
            b"Host: x\r\nContent-Length: 2\r\nContent-Type: \xff/\xfe; charset=\xff",
        ]
    ),
)
_raw_lines = st.one_of(_garbage.map(lambda d: (d, True)), _bad_requests.map(lambda d: (d, False)))


_HOW = st.sampled_from(["valid", "valid", "none", "garbage"])


def fuzz_server(
    base: str,
    schemas: list[tuple[dict, str]],  # type: ignore[type-arg]
    paths: list[str],
    fuzz: Fuzzer,
    shapes: tuple[int, int, int],
) -> list[bytes]:
    """Send schemathesis cases, raw HTTP requests and malformed bytes to the server at ``base``.

    ``schemas``: OpenAPI documents and the base URL their paths are relative to; ``paths``:
    where the raw requests go.

    ``shapes``: how many of each to generate. Generation is the costly part (a schemathesis
    case takes 5-9 ms, a raw request ~1 ms, more than sending it), so each schemathesis case
    is sent with and without valid credentials, and each raw request to every path.
    Returns the first line answered to each malformed byte string (b"": none).
    """
    import schemathesis
    from schemathesis import GenerationMode

    n_openapi, n_raw, n_malformed = shapes
    cases = st.one_of(
        *(
            st.tuples(schema.as_strategy(mode), st.just(url))
            for doc, url in schemas
            for schema in [schemathesis.openapi.from_dict(doc)]
            for mode in (GenerationMode.NEGATIVE, GenerationMode.POSITIVE)
        )
    )

    @settings(_FAST, max_examples=max(1, n_openapi))
    @given(case_url=cases, forged=st.sampled_from(["none", "garbage"]))
    def from_openapi(case_url, forged):  # type: ignore[no-untyped-def]
        case, url = case_url
        kwargs = _request_kwargs(case.as_transport_kwargs(base_url=url))
        for how in ("valid", forged):
            fuzz.queue(requests.Request(**kwargs), how)

    # Batches: one hypothesis example per request would cost more in overhead than the draw.
    batch = 20
    request = st.tuples(st.sampled_from(METHODS), _query, _headers, _bodies, _HOW)

    @settings(_FAST, max_examples=max(1, n_raw // batch))
    @given(shapes=st.lists(request, min_size=batch, max_size=batch))
    def raw_http(shapes):  # type: ignore[no-untyped-def]
        for method, query, headers, body, how in shapes:
            for path in paths:
                request = requests.Request(
                    method, base + path, params=query, headers=headers, data=body or None
                )
                fuzz.queue(request, how)

    sent: list[bytes] = []

    @settings(_FAST, max_examples=max(1, n_malformed // batch))
    @given(datas=st.lists(_raw_lines, min_size=batch, max_size=batch))
    def malformed(datas):  # type: ignore[no-untyped-def]
        for data, half_close in datas:
            line = raw_request(base, data, half_close=half_close)
            assert not line.startswith((b"HTTP/1.1 5", b"HTTP/1.0 5")), (data, line)
            sent.append(line)

    # No documents (routes that are not vcall's own API): raw requests and bytes only.
    runs = (from_openapi, raw_http, malformed) if schemas else (raw_http, malformed)
    for run in runs:
        run()
        fuzz.flush()
    return sent


def test_fuzz_serve_no_5xx(options, in_thread, caplog):
    """≥ 10,000 generated requests across every route: no 5xx, no crash, healthz answers."""
    caplog.set_level(logging.ERROR)
    started = time.perf_counter()
    with in_thread(create_app(options)) as base:
        key = options.page_key
        fuzz = Fuzzer(base, serve_credentials(options.signature_secret, key))
        doc = requests.get(
            f"{base}/api/openapi.json", headers={"Authorization": f"Bearer {key}"}
        ).json()
        # Replay sends requests to the URL it is given: fuzzed on its own, to loopback only
        # (test_fuzz_replay_no_5xx); here its path only gets raw requests for no stored call.
        del doc["paths"][REPLAY_PATH]
        paths = sorted({*PATHS, *doc["paths"]})
        lines = fuzz_server(base, [(doc, base)], paths, fuzz, SHAPES)
        fuzz.close()
        healthy = requests.get(f"{base}/healthz", timeout=5)
    elapsed = time.perf_counter() - started
    total = fuzz.sent + len(lines)
    answered = Counter(line[:12] for line in lines)
    print(
        f"\nfuzz serve: {total} requests in {elapsed:.1f} s; {dict(fuzz.statuses)}; raw: {answered}"
    )
    assert fuzz.errors == []
    assert total >= TARGET
    assert healthy.status_code == 200 and healthy.json() == {"ok": True}
    assert len(fuzz.dropped) < fuzz.sent // 100 and not any("Timeout" in d for d in fuzz.dropped)
    assert_no_crash(caplog.records)


REPLAY_PATH = "/api/calls/{conversation}/replay"


def test_fuzz_replay_no_5xx(options, in_thread, caplog, seed):
    """Generated bodies for a stored call's replay: a target on loopback (this server, a
    closed port) is sent to and reported; anything else is a 400. Never another 5xx."""
    caplog.set_level(logging.ERROR)
    with in_thread(create_app(options)) as base:
        secret = options.signature_secret
        key = {"Authorization": f"Bearer {options.page_key}"}
        for hook in seed.webhooks():
            prepared = requests.Request(
                hook.method, base + hook.path, params=hook.query, data=hook.body
            ).prepare()
            serve_credentials(secret, "")(prepared, "valid")
            assert requests.Session().send(prepared, timeout=10).status_code == 200
        conversation = seed.events[0]["conversation_uuid"]
        url = f"{base}/api/calls/{conversation}/replay"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{s.getsockname()[1]}"
        # Only hosts on loopback: a generated host name would be looked up in the DNS.
        loopback = st.one_of(
            st.sampled_from([base, base + "/", closed, f"{base}/voice/nowhere"]),
            st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12).map(
                lambda t: f"{closed}/{t}"
            ),
        )
        targets = st.one_of(
            loopback,
            st.text(max_size=40).filter(lambda t: "://" not in t),
            st.from_regex(r"\A(ftp|file|javascript|data):[ -~]{0,20}\Z"),
            st.integers() | st.none() | st.lists(st.text(max_size=5), max_size=2),
        )
        bodies = st.one_of(
            st.fixed_dictionaries({"to": targets}).map(json.dumps),
            _bodies.map(lambda b: b.decode("latin-1")),
        )
        answered: Counter[int] = Counter()

        @settings(_FAST, max_examples=150, phases=[Phase.explicit, *_FAST.phases])
        @given(body=bodies)
        @example(body=json.dumps({"to": base}))
        @example(body=json.dumps({"to": closed}))
        def replay(body: str) -> None:
            resp = requests.post(url, data=body.encode("latin-1", "replace"), headers=key)
            answered[resp.status_code] += 1
            assert resp.status_code in (200, 400, 502), (body, resp.text)
            if resp.status_code == 502:
                assert resp.json()["error"].startswith("cannot reach"), resp.text

        replay()
    print(f"\nfuzz replay: {dict(answered)}")
    assert answered[200] and answered[400] and answered[502]
    assert_no_crash(caplog.records)


def assert_no_crash(records: list[logging.LogRecord]) -> None:
    """Only aiohttp's own complaints about unparsable HTTP may be logged as errors.

    One known aiohttp 3.14 bug is let through by name: a request line without an HTTP
    version (``CONNECT /x \\r\\n``) is answered 400, then aiohttp's connection task fails on
    ``message.url is None`` ("'NoneType' object has no attribute 'absolute'"). It only ends
    that connection (the server keeps answering, which the fuzz test checks); it is logged
    by asyncio, not vcall, and needs fixing upstream.
    """
    from aiohttp.http_exceptions import HttpProcessingError

    def known(record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
            return True
        text = record.getMessage()
        return "RequestHandler.start()" in text and "no attribute 'absolute'" in text

    crashes = [logging.Formatter().format(r) for r in records if not known(r)]
    assert crashes == []


def _request_kwargs(kwargs: dict) -> dict:  # type: ignore[type-arg]
    """schemathesis' requests kwargs, minus what requests.Request does not take."""
    return {
        k: v
        for k, v in kwargs.items()
        if k in {"method", "url", "headers", "params", "data", "json", "cookies", "files"}
    }


@pytest.mark.parametrize(
    "path", [b"/voice/../api/events", b"/voice/%2e%2e/api/events", b"/healthz/../api/events"]
)
def test_open_prefixes_cannot_reach_keyed_routes(options, in_thread, path):
    with in_thread(create_app(options)) as base:
        line = raw_request(base, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert line.split(b" ")[1] in (b"401", b"404"), line


async def test_fuzz_findings_stay_fixed(client, options):
    """Requests the fuzzer once turned into a 500."""
    key = {"Authorization": f"Bearer {options.page_key}"}
    resp = await client.get("/api/events", params={"after": str(2**90)}, headers=key)
    assert resp.status == 400 and "at most" in (await resp.json())["error"]


SANDBOX_PATHS = [
    "/",
    "/v2/applications",
    "/v2/applications/{app}",
    "/v2/applications/no-such-app",
    "/account/numbers",
    "/number/search",
    "/number/buy",
    "/number/cancel",
    "/number/update",
    "/v1/users",
    "/v1/users/USR-no-such-user",
    "/v2/applications/../v1/users",
]
#: The sandbox: schemathesis cases, raw requests (each sent to every path), raw bytes.
SANDBOX_SHAPES = (300, 800, 500)


def sandbox_credentials(
    basic: str, user_jwt: str
) -> Callable[[requests.PreparedRequest, str], None]:
    """For the sandbox API: the account's Basic auth, or the app's JWT for /v1/users, or forgeries."""

    def authorize(prepared: requests.PreparedRequest, how: str) -> None:
        if how == "none":
            return
        if how == "garbage":
            prepared.headers["Authorization"] = "Basic bm90OnRoZS1zZWNyZXQ="
        elif urlsplit(prepared.url).path.startswith("/v1/users"):
            prepared.headers["Authorization"] = f"Bearer {user_jwt}"
        else:
            prepared.headers["Authorization"] = basic

    return authorize


def test_fuzz_sandbox_api_no_5xx(in_thread, caplog):
    """≥ 10,000 generated requests on the sandbox's Applications, Numbers and Users APIs."""
    import base64

    from vcall import tokens
    from vcall.paths import Paths
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.rest.service import create_sandbox_app
    from vcall.sandbox.rest.spec import load

    caplog.set_level(logging.ERROR)
    state = SandboxState.open(Paths.default())
    account = state.account
    basic = "Basic " + base64.b64encode(f"{account.api_key}:{account.api_secret}".encode()).decode()
    started = time.perf_counter()
    # Plain HTTP on loopback: what is fuzzed is the API, not TLS (the SDK tests cover that).
    with in_thread(create_sandbox_app(state)) as base:
        made = requests.post(
            f"{base}/v2/applications",
            json={"name": "fuzz", "capabilities": {"voice": {"webhooks": {}}}},
            headers={"Authorization": basic},
            timeout=10,
        ).json()
        user_jwt = tokens.mint(made["id"], made["keys"]["private_key"], "fuzz")
        fuzz = Fuzzer(base, sandbox_credentials(basic, user_jwt))
        schemas = [
            (load("application").doc, f"{base}/v2/applications"),
            (load("numbers").doc, base),
        ]
        paths = [p.replace("{app}", made["id"]) for p in SANDBOX_PATHS]
        lines = fuzz_server(base, schemas, paths, fuzz, SANDBOX_SHAPES)
        fuzz.close()
        healthy = requests.get(f"{base}/v2/applications", headers={"Authorization": basic})
    elapsed = time.perf_counter() - started
    total = fuzz.sent + len(lines)
    print(f"\nfuzz sandbox: {total} requests in {elapsed:.1f} s; {dict(fuzz.statuses)}")
    assert fuzz.errors == []
    assert total >= TARGET
    assert healthy.status_code == 200 and "total_items" in healthy.json()
    assert len(fuzz.dropped) < fuzz.sent // 100 and not any("Timeout" in d for d in fuzz.dropped)
    assert_no_crash(caplog.records)


async def test_sandbox_fuzz_findings_stay_fixed(aiohttp_client):
    """Requests the fuzzer once turned into a sandbox 500."""
    from vcall.paths import Paths
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.rest.service import create_sandbox_app

    state = SandboxState.open(Paths.default())
    api = await aiohttp_client(create_sandbox_app(state))
    account = {"api_key": state.account.api_key, "api_secret": state.account.api_secret}
    resp = await api.post("/number/buy", params=account, data={"country": "GB", "msisdn": "00"})
    assert resp.status == 420 and "not a phone number" in (await resp.json())["error-code-label"]


#: Paths the Client SDK's side answers in the sandbox; {cid} and {leg} are a real call's.
CLIENT_SDK_PATHS = [
    "/v0.3/conversations/{cid}",
    "/v0.3/conversations/{cid}/members/MEM-x",
    "/v0.3/conversations/{cid}/rtc/{leg}/answer",
    "/v0.2/conversations/{cid}/members/MEM-x",
    "/v0.3/conversations/CON-nope",
    "/v0.3/conversations/{cid}/rtc/nope/answer",
    "/v0.2/sessions/SESSION-x",
    "/v2/rtc/",
]
#: Raw requests generated for them (each sent to every path, with and without credentials).
CLIENT_SDK_SHAPES = 300


def client_sdk_credentials(key: str, jwt: str) -> Callable[[requests.PreparedRequest, str], None]:
    """The page key in its cookie and the user's JWT as the SDK sends it; or forgeries."""

    def authorize(prepared: requests.PreparedRequest, how: str) -> None:
        if how == "none":
            return
        prepared.headers["Cookie"] = f"{COOKIE}={key}"
        token = jwt if how == "valid" else "eyJhbGciOiJub25lIn0.e30."
        prepared.headers["Authorization"] = f"bearer {token}"

    return authorize


def test_fuzz_client_sdk_routes_no_5xx(in_thread, caplog, sandbox_serve):
    """Generated requests on the socket's path and the Conversation API, a call ringing: no 5xx,
    the SDK's error shape on every refusal, and the call carries on."""
    import json as json_

    from vcall.paths import Paths
    from vcall.provision import run_setup

    caplog.set_level(logging.ERROR)
    paths = Paths.default()
    options = sandbox_serve(paths)
    with in_thread(create_app(options)) as base:
        run_setup(mode="sandbox", public_url=base)
        state = json_.loads(paths.state.read_text())
        jwt = tokens.mint(state["application_id"], paths.private_key.read_text(), "Alice")
        key = {"Authorization": f"Bearer {options.page_key}"}
        placed = requests.post(
            f"{base}/sandbox/calls", json={"talk_for": 0, "ring_timeout": 120}, headers=key
        ).json()
        cid, deadline = placed["conversation_uuid"], time.monotonic() + 10
        while len(placed["legs"]) < 2:  # the app leg rings once the NCCO is in
            assert time.monotonic() < deadline, placed
            time.sleep(0.02)  # polling under a deadline
            placed = requests.get(f"{base}/sandbox/calls/{cid}", headers=key).json()
        leg = placed["legs"][1]["uuid"]
        fuzz = Fuzzer(base, client_sdk_credentials(options.page_key, jwt))
        paths_ = [p.format(cid=cid, leg=leg) for p in CLIENT_SDK_PATHS]
        lines = fuzz_server(base, [], paths_, fuzz, (0, CLIENT_SDK_SHAPES, 40))
        fuzz.close()
        # Every refusal is the SDK's error shape (or the page key's, before it).
        answer = requests.put(
            f"{base}/v0.3/conversations/{cid}/members/MEM-x",
            data=b"{not json",
            headers={"Cookie": f"{COOKIE}={options.page_key}", "Authorization": f"bearer {jwt}"},
        )
        still = requests.get(f"{base}/sandbox/calls/{cid}", headers=key).json()
        healthy = requests.get(f"{base}/healthz", timeout=5)
    total = fuzz.sent + len(lines)
    print(f"\nfuzz client sdk: {total} requests; {dict(fuzz.statuses)}")
    assert fuzz.errors == []
    assert total >= 2_000
    assert answer.status_code == 400 and answer.json()["code"] == "http:error:validation-fail"
    assert not still["ended"] and still["legs"][1]["status"] == "started"  # still ringing
    assert healthy.status_code == 200
    assert_no_crash(caplog.records)


async def test_garbage_on_the_socket_leaves_it_serving(aiohttp_server, isolated, sandbox_serve):
    """Random frames on a signed-in socket (engine.io and socket.io packets, text and bytes):
    the server answers the next sign-in as before."""
    import random

    from vcall.paths import Paths
    from vcall.provision import run_setup
    from vcall.sandbox.voice.sdk_client import SdkClient

    paths = Paths.default()
    options = sandbox_serve(paths)
    server = await aiohttp_server(create_app(options))
    base = str(server.make_url("")).rstrip("/")
    await asyncio.to_thread(run_setup, mode="sandbox", public_url=base)
    state = json.loads(paths.state.read_text())
    jwt = tokens.mint(state["application_id"], paths.private_key.read_text(), "Alice")
    rng = random.Random(21)
    prefixes = ["0", "2", "3", "4", "40", "41", "42", "43", "44", "451-", "6", "9", ""]
    async with aiohttp.ClientSession() as http:
        for _ in range(20):
            async with http.ws_connect(
                f"{base}/v2/rtc/",
                params={
                    "EIO": "4",
                    "transport": "websocket",
                    "token": jwt,
                    "key": options.page_key,
                },
            ) as ws:
                for _ in range(50):
                    if rng.random() < 0.2:
                        await ws.send_bytes(rng.randbytes(rng.randint(0, 64)))
                        continue
                    body = rng.choice(
                        [
                            "",
                            "[]",
                            '["rtc:answer", {"x": 1}]',
                            '["session:success"]',
                            "{" * rng.randint(1, 40),
                            json.dumps([rng.random(), {"a": [None] * 3}]),
                            "".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 30))),
                        ]
                    )
                    await ws.send_str(rng.choice(prefixes) + body)
    device = SdkClient(base, options.page_key)
    try:
        assert (await device.create_session(jwt)).startswith("SESSION-")
    finally:
        await device.close()
