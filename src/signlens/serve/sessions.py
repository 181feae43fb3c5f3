"""How live sessions end other than by the client: after a while without a frame (an idle client would
otherwise keep one of the few slots for good), and when the server shuts down (the page is told why).

SIGTERM (or Ctrl+C) first closes every live session with a reason, then hands over to uvicorn's own
shutdown, which stops accepting connections and lets requests in flight finish within its graceful
timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time


class Ending(Exception):
    """A live session closed by the server: the WebSocket close code and the reason the page shows."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


class Shutdown:
    """Set once the server is stopping; live sessions wait on it beside their next message."""

    REASON = "the server is shutting down; reconnect in a moment"

    def __init__(self):
        self.event = asyncio.Event()

    @property
    def started(self) -> bool:
        return self.event.is_set()

    def install(self, streams, drain_seconds: float = 2.0) -> None:
        """On SIGTERM or SIGINT, close live sessions (for at most `drain_seconds`) before uvicorn's own
        handler runs. Signals reach the main thread only: a server run in another thread (tests)
        keeps uvicorn's behaviour."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task] = set()  # held, so that a running drain is not collected

        async def drain(previous, signum, frame):
            self.event.set()
            deadline = loop.time() + drain_seconds
            while streams.active and loop.time() < deadline:
                await asyncio.sleep(0.05)
            previous(signum, frame)

        def start_drain(previous, signum, frame):
            task = loop.create_task(drain(previous, signum, frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if not callable(previous):  # not uvicorn's: leave it alone
                continue

            def on_signal(signum, frame, previous=previous):
                if self.started:  # a second signal: on to uvicorn at once (a second Ctrl+C forces)
                    previous(signum, frame)
                    return
                loop.call_soon_threadsafe(start_drain, previous, signum, frame)

            signal.signal(signum, on_signal)


async def next_message(ws, idle_until: float, idle_seconds: float, shutdown: Shutdown) -> dict:
    """The session's next WebSocket message, or Ending when the server is stopping or no frame came
    by `idle_until` (time.monotonic())."""
    if shutdown.started:
        raise Ending(1001, Shutdown.REASON)
    receive = asyncio.ensure_future(ws.receive())
    stopping = asyncio.ensure_future(shutdown.event.wait())
    try:
        await asyncio.wait(
            {receive, stopping},
            timeout=max(0.0, idle_until - time.monotonic()),
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        stopping.cancel()
        if not receive.done():
            receive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receive
    if receive.done() and not receive.cancelled():
        return receive.result()
    if shutdown.started:
        raise Ending(1001, Shutdown.REASON)
    raise Ending(1000, f"no camera frame for {idle_seconds:g} s; the live session is closed")


async def end(ws, ending: Ending) -> None:
    """Tell the page why, then close; a client already gone is no error."""
    with contextlib.suppress(Exception):
        await ws.send_json({"type": "closing", "message": ending.reason})
        await ws.close(code=ending.code, reason=ending.reason[:120])
