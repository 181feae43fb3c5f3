"""Photos read on several threads, each with its own PhotoReader (MediaPipe's graphs are not
thread-safe), answered in order: how `Recognizer.recognize_all` keeps every core busy."""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from signlens.pipeline.reading import PhotoReader


def read_in_threads(first: PhotoReader, items: Iterable, one: Callable, workers: int) -> Iterator:
    """one(item, reader) for each of `items`, in order, on `workers` threads: `first` and up to
    workers - 1 readers made like it when needed (closed at the end). MediaPipe releases the interpreter
    lock while it runs, so the threads run in parallel; at most 2 x workers items are in flight at once."""
    readers: queue.SimpleQueue = queue.SimpleQueue()
    readers.put(first)
    made: list[PhotoReader] = []

    def pooled(item):
        # A reader is made only when an item finds every reader busy (never for a single photo, whose
        # answer would wait on a MediaPipe graph it never uses); the pool's `workers` threads bound
        # how many exist.
        try:
            reader = readers.get_nowait()
        except queue.Empty:
            reader = PhotoReader(first.settings)
            made.append(reader)
        try:
            return one(item, reader)
        finally:
            readers.put(reader)

    pending: deque = deque()
    try:
        with ThreadPoolExecutor(workers) as pool:
            for item in items:
                pending.append(pool.submit(pooled, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        for reader in made:
            reader.close()
