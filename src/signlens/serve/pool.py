"""A fixed pool of photo recognisers behind a bounded queue.

MediaPipe graphs are not thread-safe, so each recogniser serves one request at a time on its own
thread. Requests wait for a free one in a queue of bounded length and time; past either bound the
caller gets `Overloaded` (the API answers 503 with Retry-After) instead of ever-growing latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from signlens.pipeline.recognizer import Recognizer, bundled_recognizer_path
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
        self._free: asyncio.Queue[Recognizer] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = 0
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="recognizer")
        self._lock = threading.Lock()
        self._service_seconds = 1.0  # running mean of one recognition, for Retry-After

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def ready(self) -> bool:
        return self._free is not None

    def load(self) -> None:
        """Load every recogniser (blocking; run on a thread at start-up)."""
        start = time.perf_counter()
        try:
            weights = self.settings.weights
            recognizers = [Recognizer.load(weights) for _ in range(self.size)]
            self.info = model_info(recognizers[0], weights)
        except Exception as exc:  # shown by /v1/health and on stderr; the server stays up to say so
            self.error = f"the model failed to load: {exc}"
            raise
        self.recognizers = recognizers
        self.default_threshold = recognizers[0].threshold
        self.load_seconds = time.perf_counter() - start

    async def start(self) -> None:
        """Load on a thread, then open the queue; requests before that get NotReady."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.load)
        free: asyncio.Queue[Recognizer] = asyncio.Queue()
        for recognizer in self.recognizers:
            free.put_nowait(recognizer)
        self._loop, self._free = loop, free

    async def run(self, fn: Callable[[Recognizer], T]) -> T:
        """fn(recognizer) on a free recogniser's thread, after a bounded wait for one."""
        if self._free is None:
            raise NotReady(self.error or "the model is still loading; try again shortly")
        if self._waiting >= self.settings.max_waiting:
            raise Overloaded(
                f"the server is busy ({self._waiting} requests waiting); try again shortly",
                self.retry_after(),
            )
        self._waiting += 1
        try:
            recognizer = await asyncio.wait_for(self._free.get(), self.settings.max_wait_seconds)
        except asyncio.TimeoutError:  # noqa: UP041 (Python 3.10 raises its own class)
            raise Overloaded(
                f"no recogniser became free within {self.settings.max_wait_seconds:g} s; try again shortly",
                self.retry_after(),
            ) from None
        finally:
            self._waiting -= 1
        try:
            start = time.perf_counter()
            result = await self._loop.run_in_executor(self._executor, fn, recognizer)
            self._service_seconds = 0.9 * self._service_seconds + 0.1 * (time.perf_counter() - start)
            return result
        finally:
            self._free.put_nowait(recognizer)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained, at least 1."""
        return max(1, round(self._waiting * self._service_seconds / self.size))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for recognizer in self.recognizers:
            recognizer.close()
        self.recognizers = []


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_info(recognizer: Recognizer, weights: str | None) -> dict:
    """What /v1/model reports: classes, the input it reads, calibration, versions and the checksum."""
    import signlens

    path = Path(weights) if weights else bundled_recognizer_path()
    classifier = recognizer.classifier
    config = classifier.config
    return {
        "name": "bundled recogniser" if weights is None else path.name,
        "kind": getattr(classifier, "kind", "landmarks"),
        "classes": list(classifier.class_names),
        "input": {
            "image": "one photo or camera frame (JPEG, PNG, BMP, WebP, GIF or TIFF, sniffed from the bytes)",
            "landmarks": "21 MediaPipe hand landmarks",
            "points": getattr(config, "points", None),
            "views": list(recognizer.views),
        },
        "calibration": {"method": "temperature", "temperature": float(classifier.temperature)},
        "threshold": recognizer.threshold,
        "members": len(getattr(classifier, "members", [])) or 1,
        "signlens_version": getattr(signlens, "__version__", "unknown"),
        "sha256": sha256(path),
    }
