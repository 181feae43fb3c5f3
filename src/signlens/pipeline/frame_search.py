"""A video frame searched as a photo is, where MediaPipe's tracker finds no hand in it.

The tracker looks at each frame as it is, once; a hand that only a photo's search shows (one that fills
the frame, a dim or gray picture, a turned palm: pipeline.reading) is then lost in every frame, though
the same picture read as a photo gives its letter. So where the tracker finds nothing, the frame is
searched with the photo reader's views (the palm detector afresh, then the padded, lite and turned
views), on a budget: at most one search per `every` seconds of video, each stopped after `seconds`.
The view that found the hand is looked at first in the frames after it (one detector pass a frame), so
a hand only that view shows is read in every frame, as the tracker would, until the view loses it.
"""

from __future__ import annotations

import math
import time

import numpy as np

from signlens.pipeline.hands import Hand
from signlens.pipeline.reading import PhotoReader, ReadSettings

SEARCH_EVERY = 0.5  # seconds of video between searches while no hand is found
SEARCH_SECONDS = 0.15  # one search's budget: past it no further view is looked at


class FrameSearch:
    """The fallback for one video's frames, in time order (its state is the view that last worked)."""

    def __init__(
        self, model_complexity: int = 1, every: float = SEARCH_EVERY, seconds: float = SEARCH_SECONDS
    ):
        self.every, self.seconds = every, seconds
        self._settings = ReadSettings(model_complexity=model_complexity)
        self._reader: PhotoReader | None = None  # built on the first miss: most videos never need it
        self.view: str | None = None  # the search view that found the hand in the last frame searched
        self._next = -math.inf  # the video time from which the next full search may run
        self.searches = 0  # full searches run so far (the budget's count)

    def find(self, rgb: np.ndarray, timestamp: float) -> Hand | None:
        """The hand in a frame the tracker found none in, or None (also when the budget says wait)."""
        if self._reader is None:
            self._reader = PhotoReader(self._settings)
        reader = self._reader
        if self.view is not None:
            hand = reader.find(rgb, views=(self.view,))
            if hand is not None:
                return hand
            self.view = None
        if timestamp < self._next:
            return None
        self._next = timestamp + self.every
        self.searches += 1
        reader.deadline = time.monotonic() + self.seconds
        try:
            hand = reader.find(rgb)
        finally:
            reader.deadline = None
        self.view = None if hand is None else reader.last_view.split("-ramp")[0]
        return hand

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
