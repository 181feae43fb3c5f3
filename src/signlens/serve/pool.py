"""A fixed pool of photo recognisers behind a bounded queue.

MediaPipe graphs are not thread-safe, so each recogniser serves one request at a time on its own
thread. Requests wait for a free one in a queue of bounded length and time; past either bound the
caller gets `Overloaded` (the API answers 503 with Retry-After) instead of ever-growing latency.
A request may be given a head start: it is served as if it had come that many seconds earlier. The API
gives each photo its search budget (which grows with the bytes sent), so tiny uploads that claim big
pictures wait behind real photos by at most the budgets' difference, never without end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from signlens.inference import single_torch_thread
from signlens.pipeline.recognizer import Recognizer
from signlens.serve.settings import Settings

T = TypeVar("T")


class Overloaded(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class NotReady(Exception):
    pass


class RecognizerPool:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.size = max(1, settings.recognizers)
        self.recognizers: list[Recognizer] = []
        self.error: str | None = None  # why loading failed, shown by /v1/health
        self.info: dict = {}
        self.load_seconds: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set once loaded
        self._idle: list[Recognizer] = []
        self._waiters: deque[asyncio.Future] = deque()
        self._turns: dict[asyncio.Future, float] = {}  # each waiter's place: arrival less head start
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="recognizer")
        self._service_seconds = 1.0  # running mean of one recognition, for Retry-After

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def ready(self) -> bool:
        return self._loop is not None

    def load(self) -> None:
        """Load every recogniser (blocking; run on a thread at start-up)."""
        start = time.perf_counter()
        try:
            weights = self.settings.weights
            single_torch_thread()  # the server's choice (see inference.single_torch_thread)
            recognizers = [Recognizer(weights) for _ in range(self.size)]
            self.info = recognizers[0].describe()
        except Exception as exc:  # shown by /v1/health and on stderr; the server stays up to say so
            self.error = f"the model failed to load: {exc}"
            raise
        self.recognizers = recognizers
        self.load_seconds = time.perf_counter() - start

    async def start(self) -> None:
        """Load on a thread, then open the pool; requests before that get NotReady."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.load)
        self._idle = list(self.recognizers)
        self._loop = loop

    async def run(self, fn: Callable[[Recognizer], T], head_start: float = 0.0) -> T:
        """fn(recognizer) on a free recogniser's thread, after a bounded wait for one (served as if it
        had come `head_start` seconds earlier)."""
        if self._loop is None:
            raise NotReady(self.error or "the model is still loading; try again shortly")
        recognizer = self._idle.pop() if self._idle else await self._wait(head_start)
        job = self._loop.run_in_executor(self._executor, fn, recognizer)
        start = time.perf_counter()

        def done(_):
            # Only once the thread has finished with it, even if the caller was cancelled meanwhile.
            self._service_seconds = 0.9 * self._service_seconds + 0.1 * (time.perf_counter() - start)
            self._release(recognizer)

        job.add_done_callback(done)
        return await asyncio.shield(job)

    async def _wait(self, head_start: float = 0.0) -> Recognizer:
        if len(self._waiters) >= self.settings.max_waiting:
            raise Overloaded(
                f"the server is busy ({len(self._waiters)} requests waiting); try again shortly",
                self.retry_after(),
            )
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        self._turns[waiter] = self._loop.time() - head_start
        seconds = self.settings.max_wait_seconds

        def expire():
            if not waiter.done():
                message = f"no recogniser became free within {seconds:g} s; try again shortly"
                waiter.set_exception(Overloaded(message, self.retry_after()))

        timer = self._loop.call_later(seconds, expire)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled just after being handed a recogniser: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            raise
        finally:
            timer.cancel()
            self._turns.pop(waiter, None)
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _release(self, recognizer: Recognizer) -> None:
        """Hand a free recogniser to the waiter whose turn comes first (arrival less head start) still
        waiting, or back to the idle list. Runs on the event loop's thread only, so no lock is needed."""
        while self._waiters:
            waiter = min(self._waiters, key=lambda w: self._turns.get(w, 0.0))  # at most max_waiting
            self._waiters.remove(waiter)
            if not waiter.done():
                waiter.set_result(recognizer)
                return
        self._idle.append(recognizer)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained, at least 1."""
        return max(1, round(len(self._waiters) * self._service_seconds / self.size))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for recognizer in self.recognizers:
            recognizer.close()
        self.recognizers = []
