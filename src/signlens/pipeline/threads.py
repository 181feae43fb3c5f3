"""Photos read on several threads, each with its own PhotoReader (MediaPipe's graphs are not
thread-safe), answered in order: how `Recognizer.recognize_all` keeps every core busy."""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from signlens.pipeline.reading import PhotoReader


def read_in_threads(first: PhotoReader, items: Iterable, one: Callable, workers: int) -> Iterator:
    """one(item, reader) for each of `items`, in order, on `workers` threads: `first` and workers - 1
    readers made like it (closed at the end). MediaPipe releases the interpreter lock while it runs, so
    the threads run in parallel; at most 2 x workers items are in flight at once."""
    readers: queue.SimpleQueue = queue.SimpleQueue()
    made = [PhotoReader(first.settings) for _ in range(workers - 1)]
    for reader in (first, *made):
        readers.put(reader)

    def pooled(item):
        reader = readers.get()
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
