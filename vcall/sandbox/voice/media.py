"""The platform's end of a call's audio: a real WebRTC peer (aiortc), as Vonage's media server is.

The Client SDK's ``answer()`` resolves only once the browser's peer connection is
``connected``, so the app leg needs real ICE and DTLS. What the user hears from the caller's
side is a quiet 440 Hz tone, one second in three (the sandbox has no voice to put through).

aiortc and PyAV are heavy (tens of MB resident, a fifth of a second to import): an idle
``vcall serve`` never loads them. They are loaded in a worker thread when the first Client SDK
session signs in (:func:`preload`), since every invite must carry the platform's SDP offer and
the first call should ring as fast as the others.

Candidates are loopback only. The sandbox's pages are on this machine: ``getUserMedia`` needs
a secure context, which over plain http is loopback. aioice, under aiortc, offers every
address of the machine except 127.0.0.1, which on a loopback-only host is none at all, and
elsewhere sends media to addresses the page never needed. :func:`_load` therefore makes its
host-address lookup answer 127.0.0.1 (the one function aioice asks; nothing else changes),
and no STUN server is configured (aiortc's default is a public one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import struct
import threading
from types import ModuleType
from typing import Any

from vcall._errors import InvalidInput

logger = logging.getLogger("vcall.sandbox.media")

#: The tone: frequency, level (of full scale) and its cadence in seconds (on, period).
TONE_HZ = 440
TONE_LEVEL = 0.1
TONE_ON, TONE_PERIOD = 1.0, 3.0
#: aiortc's audio tracks run at 8 kHz in 20 ms frames.
_RATE, _FRAME = 8000, 160

_aiortc: ModuleType | None = None
_loading = threading.Lock()


def _load() -> ModuleType:
    """aiortc, with aioice's host candidates set to loopback (see the module's docstring)."""
    global _aiortc
    with _loading:
        if _aiortc is None:
            import aioice.ice
            import aiortc

            aioice.ice.get_host_addresses = _loopback_addresses
            _aiortc = aiortc
    return _aiortc


async def preload() -> None:
    """Import aiortc off the event loop, so that the first call does not wait for it."""
    if _aiortc is None:
        await asyncio.to_thread(_load)


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def _tone_frame() -> bytes:
    # 160 samples of 440 Hz at 8 kHz are 8.8 periods: keep the phase running across frames
    # by building a whole second (440 periods exactly) and slicing it.
    amplitude = TONE_LEVEL * 32767
    return b"".join(
        struct.pack("<h", round(amplitude * math.sin(2 * math.pi * TONE_HZ * n / _RATE)))
        for n in range(_RATE)
    )


class Peer:
    """One WebRTC peer connection with an audio track each way.

    The platform makes the offer (:meth:`offer`, then :meth:`accept` the answer); the
    headless stand-in answers one (:meth:`answer`). Incoming audio is read and dropped.
    """

    def __init__(self) -> None:
        aiortc = _load()
        self._pc: Any = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        self._pc.addTrack(_tone_track(aiortc))
        self._state: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._drains: set[asyncio.Task[None]] = set()
        self._gathering: asyncio.Future[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        self._pc.on("connectionstatechange", self._on_state)
        self._pc.on("track", self._on_track)

    def _on_state(self) -> None:
        state = self._pc.connectionState
        if state in ("connected", "failed", "closed") and not self._state.done():
            self._state.set_result(state)

    def _on_track(self, track: Any) -> None:
        task = asyncio.create_task(_drain(track))
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def offer(self) -> str:
        """The offer SDP, with the host candidates gathered."""
        await self._describe(await self._pc.createOffer())
        return str(self._pc.localDescription.sdp)

    async def accept(self, sdp: str) -> None:
        """Apply the remote answer; :class:`~vcall._errors.InvalidInput` if it does not parse or
        fit the offer."""
        await self._set_remote(sdp, "answer")

    async def answer(self, sdp: str) -> str:
        """Apply a remote offer and return the answer SDP (the stand-in's side)."""
        await self._set_remote(sdp, "offer")
        await self._describe(await self._pc.createAnswer())
        return str(self._pc.localDescription.sdp)

    async def _describe(self, description: Any) -> None:
        # Gathering binds the candidates' sockets; a peer closed half-way would leave one open,
        # so the gathering runs to its end even if the caller is cancelled (close() waits).
        self._gathering = asyncio.ensure_future(self._pc.setLocalDescription(description))
        await asyncio.shield(self._gathering)

    async def _set_remote(self, sdp: str, kind: str) -> None:
        aiortc = _load()
        try:
            await self._pc.setRemoteDescription(aiortc.RTCSessionDescription(sdp=sdp, type=kind))
        except (
            ValueError,
            KeyError,
            IndexError,
            TypeError,
            AttributeError,
            aiortc.exceptions.InvalidStateError,
        ) as exc:
            # aiortc's SDP parser raises whatever the text trips it into.
            raise InvalidInput(
                f"the {kind} SDP cannot be used: {exc or type(exc).__name__}"
            ) from None

    async def connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ICE and DTLS; True once ``connected``."""
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._state), timeout) == "connected"
        return False

    async def traffic(self) -> tuple[int, int]:
        """Bytes received and sent over the transport so far (``rtc:hangup``'s bandwidth)."""
        stats = await self._pc.getStats()
        transports = [s for s in stats.values() if s.type == "transport"]
        return sum(s.bytesReceived for s in transports), sum(s.bytesSent for s in transports)

    async def close(self) -> None:
        """Hang up the media; idempotent, and finished even if the caller is cancelled (a peer
        closed half-way leaves sockets open)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._gathering is not None:
            await asyncio.wait([self._gathering])
        await self._pc.close()
        for task in list(self._drains):
            task.cancel()


async def _drain(track: Any) -> None:
    """Read the remote audio so aiortc's receive queue does not grow for the call's length."""
    from aiortc.mediastreams import MediaStreamError

    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            await track.recv()


_TONE: bytes | None = None


def _tone_track(aiortc: ModuleType) -> Any:
    """An audio track that plays the tone's cadence (aiortc paces the frames)."""
    global _TONE
    if _TONE is None:
        _TONE = _tone_frame()
    tone = _TONE

    class ToneTrack(aiortc.AudioStreamTrack):  # type: ignore[misc,name-defined]
        async def recv(self) -> Any:
            frame = await super().recv()
            position = frame.pts % _RATE * 2
            if frame.pts / _RATE % TONE_PERIOD < TONE_ON:
                chunk = (tone + tone)[position : position + _FRAME * 2]
                frame.planes[0].update(chunk)
            return frame

    return ToneTrack()
