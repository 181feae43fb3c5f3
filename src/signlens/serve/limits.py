"""Bounds on what a slow or greedy client can hold: header and body read times, and the request
bodies in memory at once.

- Headers: a connection must send a request's headers within HEADER_SECONDS of opening (or of its
  last answer), else it is closed. uvicorn's keep-alive timer only runs between requests.
- Bodies: no byte for `body_idle_seconds`, or the whole body not in by `body_seconds`, is 408.
- Bodies in memory: uploads reserve their declared length (chunked ones what has arrived) out of
  `max_body_bytes`, and at most `max_uploads` are read at once; past either, 503 with Retry-After, at
  once and before the body is read, rather than memory growing with the number of slow clients.
"""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.h11_impl import H11Protocol

from signlens.serve.security import refuse
from signlens.serve.settings import Settings
from signlens.serve.uploads import ApiError

HEADER_SECONDS = 10.0
GRACEFUL_SECONDS = 20.0  # SIGTERM: requests in flight get this long to finish


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take too long (slowloris)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()

    def handle_websocket_upgrade(self, event) -> None:
        self._cancel_header_timer()  # the WebSocket protocol owns the connection from here on
        super().handle_websocket_upgrade(event)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._headers_overdue)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        import h11

        # IDLE: no complete request line and headers since the timer was armed.
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)


def uvicorn_options(settings: Settings) -> dict:
    """The uvicorn settings every server of this app runs with (the CLI's and the tests')."""
    return {
        "http": HeaderTimeoutProtocol,
        "ws_max_size": settings.max_frame_bytes + 4096,  # bigger WebSocket messages close the connection
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "h11_max_incomplete_event_size": 16 * 1024,  # request line and headers
        "access_log": False,  # paths carry ?token= on a first visit; nothing about requests is logged
        "log_level": "warning",
    }


class Uploads:
    """The request bodies being held: bytes reserved and bodies still arriving."""

    def __init__(self, max_bytes: int, max_reading: int):
        self.max_bytes, self.max_reading = max_bytes, max_reading
        self.bytes = 0
        self.reading = 0


class BodyLimitMiddleware:
    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings
        self.uploads = Uploads(settings.max_body_bytes, settings.max_uploads)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        reserved = min(int(declared), self.settings.max_request_bytes) if declared.isdigit() else 0
        uploads = self.uploads
        if uploads.reading >= uploads.max_reading or uploads.bytes + reserved > uploads.max_bytes:
            message = "the server is reading as many uploads as it holds at once; try again shortly"
            return await refuse(send, 503, message, [(b"retry-after", b"1")])
        uploads.bytes += reserved
        uploads.reading += 1
        state = {"reading": True, "held": reserved}

        def done_reading():
            if state["reading"]:
                state["reading"] = False
                uploads.reading -= 1

        start = time.monotonic()
        settings = self.settings

        async def bounded_receive():
            if not state["reading"]:
                return await receive()
            left = min(settings.body_idle_seconds, start + settings.body_seconds - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, left))
            except TimeoutError:
                done_reading()
                raise ApiError(
                    408,
                    f"the request body did not arrive in time (a pause over {settings.body_idle_seconds:g} "
                    f"s, or over {settings.body_seconds:g} s in all)",
                    {"Connection": "close"},
                ) from None
            if not declared and message["type"] == "http.request":  # chunked: counted as it arrives
                size = len(message.get("body", b""))
                if uploads.bytes + size > uploads.max_bytes:
                    done_reading()
                    raise ApiError(
                        503,
                        "the server holds as many uploads as it can; try again shortly",
                        {"Retry-After": "1", "Connection": "close"},
                    )
                uploads.bytes += size
                state["held"] += size
            if message["type"] != "http.request" or not message.get("more_body", False):
                done_reading()
            return message

        try:
            return await self.app(scope, bounded_receive, send)
        finally:
            done_reading()
            uploads.bytes -= state["held"]


class SearchBudget:
    """How long one photo's hand search may look: `search_seconds` at most, and less for a small
    upload (`search_base_seconds` plus one second per `search_bytes_per_second` bytes sent), so that a
    tiny file claiming a big flat picture buys a glance, not every view of the search. Real photos
    carry enough bytes for the whole search; the answer says when it was cut short."""

    def __init__(self, settings: Settings, size: int):
        self.seconds = min(
            settings.search_seconds, settings.search_base_seconds + size / settings.search_bytes_per_second
        )

    def noted(self, result, answer: dict) -> dict:
        """`answer` (result's JSON), saying so when the search ran out of this budget."""
        if result.search_stopped:
            answer["search"] = (
                f"stopped after {self.seconds:.2f} s (the time this upload's size buys) "
                "before every view was searched"
            )
        return answer
