"""What every request passes before the app sees it: the API key, the body-size cap and the body deadlines.

A pure ASGI layer, so it acts on the stream itself: the key is checked before a byte of the body is read, and a
body (chunked or not) is cut off at the size limit as it arrives, never written to disk in full first. The request
headers' own deadline is in GuardedH11 (uvicorn's protocol; headers arrive before any ASGI code runs).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Paths that need the key when keys are set; the health probes and the review page's own files never do.
PROTECTED = ("/v1", "/metrics", "/docs", "/redoc", "/openapi.json")


def owner_of(key: str) -> str:
    """What a job row stores of the key that made it: a hash, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def match_key(keys: dict[str, bool], given: str | None) -> tuple[str, bool] | None:
    """(owner, is_admin) for a known key, else None; every key is compared in constant time."""
    found = None
    for key, admin in keys.items():
        if secrets.compare_digest((given or "").encode(), key.encode()) and given:
            found = (owner_of(key), admin)
    return found


class Guard:
    def __init__(self, app, keys: dict[str, bool], max_body: int, body_timeout_s: float, body_idle_s: float):
        self.app = app
        self.keys = keys
        self.max_body = max_body
        self.body_timeout_s = body_timeout_s
        self.body_idle_s = body_idle_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if self.keys and scope["path"].startswith(PROTECTED):
            if match_key(self.keys, headers.get(b"x-api-key", b"").decode("latin-1")) is None:
                return await _answer(send, 401, "missing or wrong API key (send it in the X-API-Key header)")
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body:
            return await _answer(send, 413, self._too_large())

        refused: list[tuple[int, str]] = []   # the answer that replaces the app's, once the body is cut off
        received = 0
        body_done = False
        deadline = time.monotonic() + self.body_timeout_s

        async def limited_receive():
            nonlocal received, body_done
            if refused:
                return {"type": "http.disconnect"}
            if body_done:   # later calls wait for a disconnect: no limit applies to them
                return await receive()
            try:
                wait = min(self.body_idle_s, deadline - time.monotonic())
                message = await asyncio.wait_for(receive(), max(wait, 0.001))
            except TimeoutError:
                refused.append((408, f"the request body did not arrive in time (at most {self.body_timeout_s:g} "
                                     f"s in all, {self.body_idle_s:g} s between parts)"))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused.append((413, self._too_large()))
                    return {"type": "http.disconnect"}
                body_done = not message.get("more_body", False)
            return message

        started = False

        async def guarded_send(message):
            nonlocal started
            if refused and not started:
                return   # the app's answer to a cut-off body (a parse error) is replaced below
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await _answer(send, *refused[0])

    def _too_large(self) -> str:
        return f"the upload is larger than the limit of {self.max_body / (1024 * 1024):g} MB"


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def guarded_h11(header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, with a deadline for each request's headers: a client that connects and then
    sends nothing, or dribbles its headers, is disconnected after header_timeout_s instead of holding a socket."""

    class GuardedH11(H11Protocol):
        _header_timer = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self):
            super().on_response_complete()
            self._arm()   # the next request on this connection gets the same deadline

        def connection_lost(self, exc):
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_overdue)

        def _headers_overdue(self):
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11
