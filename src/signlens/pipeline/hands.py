"""Hand detection and 21-point landmarks with MediaPipe Hands (the legacy `solutions.hands` API of
mediapipe 0.10.21, which ships its models and runs offline).

Photos use static-image mode; video uses tracking mode, which re-detects only when tracking is lost.
Tightly cropped photos (a hand filling the frame, as in the ayuraj set) defeat the palm detector far
more often than framed ones, so a miss is retried once with a border around the image.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from signlens.errors import SignlensError
from signlens.io import native_stderr_silenced
from signlens.pipeline.mediapipe_hands import hands_solution

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging is noise for users
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
MIN_SIDE = 8  # pixels: a photo (or zoomed view) narrower than this holds no hand the detector can see


@dataclass
class Hand:
    image_points: np.ndarray  # (21, 3): x, y in pixels of the given image; z in the same scale as x
    world_points: np.ndarray  # (21, 3): metric 3-D, centred on the hand
    handedness: str  # "Left" or "Right", MediaPipe's label (it assumes a mirrored, selfie-view image)
    score: float  # handedness confidence
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, clipped to the image


class HandDetector:
    def __init__(
        self,
        static_image_mode: bool = True,
        pad: float = 0.5,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_complexity: int = 1,
        max_side: int = 1280,
        tiles: bool = True,
        synchronous: bool | None = None,
    ):
        """`synchronous` (default: in static-image mode) runs MediaPipe's graph on the calling thread
        (see _synchronous_hands); otherwise on the graph's own thread pool, MediaPipe's default."""
        # MediaPipe aborts the whole process (SIGABRT) on values it rejects, so check them here first.
        if model_complexity not in (0, 1):
            raise SignlensError(f"model complexity must be 0 or 1, got {model_complexity}")
        for name, value in (
            ("detection confidence", min_detection_confidence),
            ("tracking confidence", min_tracking_confidence),
        ):
            if not 0.0 <= value <= 1.0:  # NaN fails too
                raise SignlensError(f"minimum {name} must lie in 0..1, got {value}")
        if not 0.0 <= pad <= 10.0:
            raise SignlensError(f"pad must lie in 0..10 (a fraction of the image size), got {pad}")
        try:
            mp_hands = hands_solution()
        except ImportError as exc:  # pragma: no cover - mediapipe is a pinned dependency
            raise RuntimeError(f"mediapipe is required for hand detection: {exc}") from exc
        self.pad = pad if static_image_mode else 0.0  # padding would break tracking's frame-to-frame state
        self.max_side = max_side  # phone photos are shrunk first: the palm detector sees 192 px anyway
        self.tiles = static_image_mode and tiles  # zoomed retries for small hands (photos only)
        synchronous = static_image_mode if synchronous is None else synchronous
        with native_stderr_silenced():
            self._hands = (_synchronous_hands(mp_hands) if synchronous else mp_hands.Hands)(
                static_image_mode=static_image_mode,
                max_num_hands=1,
                model_complexity=model_complexity,
                min_detection_confidence=min_detection_confidence,
                min_tracking_confidence=min_tracking_confidence,
            )
            # The graph opens its models in worker threads that log as they go; one blank frame
            # waits for them, so their log lines land in /dev/null rather than later on stderr.
            self._hands.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def close(self) -> None:
        with native_stderr_silenced():
            self._hands.close()

    def __enter__(self) -> HandDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray, zoom: bool = True) -> Hand | None:
        """rgb: uint8 (H, W, 3). Returns the most confident hand, or None when there is none.
        `zoom=False` skips the zoomed views (for a view already cropped to a hand)."""
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE:
            return None  # a 1x1 or 1x10000 photo: no hand, rather than a failure in resizing
        factor = min(1.0, self.max_side / max(height, width))
        small = rgb if factor == 1.0 else _resize(rgb, factor)
        small = np.ascontiguousarray(small)
        hand = self._run(small, border=0)
        if hand is None and self.pad > 0:
            hand = self._run(small, border=int(round(self.pad * max(small.shape[:2]))))
        if hand is not None:
            return hand if factor == 1.0 else moved(hand, 1 / factor, 0, 0, width, height)
        return self._search_tiles(rgb) if self.tiles and zoom else None

    def _search_tiles(self, rgb: np.ndarray) -> Hand | None:
        """A hand far from the camera is too small for the palm detector, which sees the whole photo at
        192 px; look again in five overlapping zoomed views (centre, then the quadrants)."""
        height, width = rgb.shape[:2]
        th, tw = int(height * TILE), int(width * TILE)
        origins = [
            ((height - th) // 2, (width - tw) // 2),
            (0, 0),
            (0, width - tw),
            (height - th, 0),
            (height - th, width - tw),
        ]
        if min(th, tw) < MIN_SIDE:
            return None
        for y, x in origins:
            tile = rgb[y : y + th, x : x + tw]
            factor = min(1.0, self.max_side / max(th, tw))
            view = np.ascontiguousarray(tile if factor == 1.0 else _resize(tile, factor))
            hand = self._run(view, border=0)
            if hand is not None:
                return moved(hand, 1 / factor, x, y, width, height)
        return None

    def _run(self, rgb: np.ndarray, border: int) -> Hand | None:
        height, width = rgb.shape[:2]
        image = np.pad(rgb, ((border, border), (border, border), (0, 0))) if border else rgb
        if min(image.shape[:2]) < MIN_SIDE:
            return None
        with native_stderr_silenced():
            result = self._hands.process(image)
        if not result.multi_hand_landmarks:
            return None
        padded_h, padded_w = image.shape[:2]
        marks = result.multi_hand_landmarks[0].landmark
        points = np.array([[m.x * padded_w - border, m.y * padded_h - border, m.z * padded_w] for m in marks])
        world = result.multi_hand_world_landmarks[0].landmark
        world_points = np.array([[m.x, m.y, m.z] for m in world])
        label = result.multi_handedness[0].classification[0]
        return Hand(
            points.astype(np.float32),
            world_points.astype(np.float32),
            label.label,
            float(label.score),
            hand_box(points, width, height),
        )


TILE = 0.6  # each zoomed view covers 60% of the photo's width and height


@functools.cache
def _synchronous_hands(mp_hands):
    """MediaPipe's Hands with its graph run on the thread that calls `process`, not on a pool of its
    own: a photo's graph is one chain (palm, then landmarks), so the pool added two threads per
    detector and hand-overs between threads, not parallelism: two readers on two cores kept four graph
    threads and two Python threads busy. On the calling thread the landmarks are the same, bit for bit,
    for less CPU a photo (docs/benchmarks.md). The graph still releases the interpreter lock while it
    runs, so readers on several threads still run in parallel."""

    class SynchronousHands(mp_hands.Hands):
        def _initialize_graph_interface(self, *args, **kwargs):  # mediapipe==0.10.21's hook (pinned)
            config = super()._initialize_graph_interface(*args, **kwargs)
            default = next((e for e in config.executor if not e.name), None) or config.executor.add()
            default.Clear()  # the default executor (empty name): MediaPipe's application-thread one
            default.type = "ApplicationThreadExecutor"
            return config

    return SynchronousHands


def moved(hand: Hand, scale: float, x: int, y: int, width: int, height: int) -> Hand:
    """A hand found in a resized or cropped view, in the original photo's pixels."""
    points = hand.image_points * scale
    points[:, 0] += x
    points[:, 1] += y
    return Hand(points, hand.world_points, hand.handedness, hand.score, hand_box(points, width, height))


def mirrored(hand: Hand, width: int) -> Hand:
    """A hand found in a left-right mirrored view `width` pixels wide, in the unmirrored view: x flipped,
    and so the other hand. Its canonical points are the same either way (canonicalisation mirrors by
    handedness)."""
    points = hand.image_points.copy()
    points[:, 0] = width - points[:, 0]
    world = hand.world_points.copy()
    world[:, 0] *= -1
    other = {"Left": "Right", "Right": "Left"}.get(hand.handedness, hand.handedness)
    x0, y0, x1, y1 = hand.bbox
    return Hand(points, world, other, hand.score, (width - x1, y0, width - x0, y1))


def _resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def hand_box(points: np.ndarray, width: int, height: int, margin: float = 0.15) -> tuple[int, int, int, int]:
    """Square-ish box around the landmarks with a margin, clipped to the image."""
    x0, y0 = points[:, 0].min(), points[:, 1].min()
    x1, y1 = points[:, 0].max(), points[:, 1].max()
    pad = margin * max(x1 - x0, y1 - y0)
    return (
        int(max(0, np.floor(x0 - pad))),
        int(max(0, np.floor(y0 - pad))),
        int(min(width, np.ceil(x1 + pad))),
        int(min(height, np.ceil(y1 + pad))),
    )


def read_rgb(path) -> np.ndarray:
    """Decode any image file to uint8 RGB through the one decoder (limits, EXIF orientation)."""
    from signlens.data.images import decode_image

    return decode_image(path, "RGB")
