"""How a photo is read: the one code path that `predict`, the recogniser's build script and its
benchmarks share, so every figure they report is about the command users run.

1. Find the hand: views of the photo in order of cost, stopping at the first that shows one. The photo
   as it is; shrunk into a padded canvas (a hand filling or cut by the frame is too big for the palm
   detector); the photo and the canvas for the lite palm detector (which finds large and blurred hands
   the full one misses); the canvas turned 25 degrees either way (the detector's anchors favour upright
   palms); last, in large photos, five zoomed tiles (a hand far from the camera). A gray photo is searched
   coloured along a skin ramp (black to dark brown, white to light skin): the palm detector, trained on
   colour, misses most gray hands, and finds more of them along the ramp than tinted by fixed channel
   gains, since the ramp's dark end keeps hands on black apart from their background (docs/benchmarks.md).
   No view lowers the detector's confidence: that finds hands in bare walls. In a coloured gray photo the lite
   detector also takes faces for palms, so there it must be surer (GRAY_LITE_CONFIDENCE).
2. Read it again, on request, from its surroundings mirrored left-right: MediaPipe takes the mirror image
   for the other hand and estimates its landmarks afresh, so the two readings err differently. The second
   reading only re-reads a hand already found, so it cannot invent one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass

import numpy as np

from signlens.pipeline.hands import Hand, HandDetector, hand_box, mirrored, moved

SEARCH = ("photo", "padded", "lite", "lite-padded", "turned-left", "turned-right", "tiles")
# A gray photo is searched coloured from a ramp's dark end (its black) to its light end (its white), a
# skin tone; where the first ramp shows no hand, along a deeper, warmer one, which finds many of the bright
# hands on black the first misses (a third ramp added little: docs/benchmarks.md).
GRAY_RAMPS = (((60, 35, 25), (255, 215, 185)), ((30, 12, 5), (250, 185, 140)))
PAD = 0.5  # the padded canvas: a border of half the photo's longer side on every side
TURN = 25.0  # degrees, for the turned views
# In a coloured gray photo the lite detector takes faces for palms; this sure, it takes none of the stress
# set's gray room regions and still finds some of the hands only its views find (docs/benchmarks.md).
GRAY_LITE_CONFIDENCE = 0.8
TILES_FROM = 800  # px on the longer side: in smaller photos the tiles found faces and shoulders, not hands
READING_VERSION = 5  # bump when the code below changes what a reading gives (caches key on it)


@dataclass(frozen=True)
class ReadSettings:
    """Everything that decides which landmarks a photo gives."""

    min_confidence: float = 0.5
    model_complexity: int = 1
    search: tuple[str, ...] = SEARCH
    gray_lite_confidence: float = GRAY_LITE_CONFIDENCE
    gray_ramps: tuple = GRAY_RAMPS

    def key(self) -> str:
        """A short name for these settings and this code, for caches of readings."""
        text = json.dumps({**asdict(self), "version": READING_VERSION}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def to_json(self) -> dict:
        ramps = [[list(dark), list(light)] for dark, light in self.gray_ramps]
        return {**asdict(self), "search": list(self.search), "gray_ramps": ramps, "version": READING_VERSION}


class PhotoReader:
    """Finds one hand in a photo and reads its landmarks, once or twice (see the module doc)."""

    def __init__(self, settings: ReadSettings | None = None):
        self.settings = settings or ReadSettings()
        unknown = sorted(set(self.settings.search) - set(SEARCH))
        if unknown:
            raise ValueError(f"unknown search view(s) {unknown}; choose from {', '.join(SEARCH)}")
        self.detector = HandDetector(
            static_image_mode=True,
            pad=0.0,  # the padded view is a step of the search, not a retry inside detect
            min_detection_confidence=self.settings.min_confidence,
            model_complexity=self.settings.model_complexity,
        )
        self._lite: HandDetector | None = None  # built on first need: most photos never need it
        self._gray_lite: HandDetector | None = None
        self._gray = False  # whether the photo being searched is gray
        self._ramp = self.settings.gray_ramps[0]  # the ramp that showed the last gray hand found
        self.last_view: str | None = None  # the view that found the last hand (for reports)
        # A time.monotonic() past which find() looks at no further view (the first is always looked
        # at); None: no limit. `stopped` says whether the last search ended so.
        self.deadline: float | None = None
        self.stopped = False

    @property
    def lite(self) -> HandDetector:
        if self._gray:
            if self._gray_lite is None:
                self._gray_lite = _lite_detector(self.settings.gray_lite_confidence)
            return self._gray_lite
        if self._lite is None:
            self._lite = _lite_detector(self.settings.min_confidence)
        return self._lite

    def find(self, rgb: np.ndarray, views: tuple[str, ...] | None = None) -> Hand | None:
        """The hand in the first view of the search (or of `views`, in their order) that shows one, in
        the photo's pixels."""
        self.last_view, self.stopped = None, False
        self._gray = is_gray(rgb)
        first = True
        for k, ramp in enumerate(self.settings.gray_ramps if self._gray else (None,)):
            view_rgb = coloured(rgb, ramp) if ramp else rgb
            for view in views or self.settings.search:
                if not first and self.deadline is not None and time.monotonic() > self.deadline:
                    self.stopped = True  # out of time: the views left are not looked at
                    return None
                first = False
                hand = self._look(view, view_rgb)
                if hand is not None:
                    self.last_view = f"{view}-ramp{k + 1}" if k else view
                    self._ramp = ramp or self._ramp
                    return hand
        return None

    def _look(self, view: str, rgb: np.ndarray) -> Hand | None:
        if view == "photo":
            return self.detector.detect(rgb, zoom=False)
        if view == "lite":
            return self.lite.detect(rgb, zoom=False)
        if view == "tiles":  # zoomed views only where a hand can be small for the detector's 192 px
            return self.detector._search_tiles(rgb) if max(rgb.shape[:2]) >= TILES_FROM else None
        detector = self.lite if view == "lite-padded" else self.detector
        angle = {"turned-left": TURN, "turned-right": -TURN}.get(view, 0.0)
        return _in_canvas(detector, rgb, angle)

    def reread(self, rgb: np.ndarray, hand: Hand) -> Hand | None:
        """Landmarks of `hand` read again from its surroundings mirrored left-right, in photo pixels."""
        rgb = coloured(rgb, self._ramp) if is_gray(rgb) else rgb  # coloured as when it was found
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = hand.bbox
        margin = 0.5 * max(x1 - x0, y1 - y0)
        x0, y0 = int(max(0, x0 - margin)), int(max(0, y0 - margin))
        x1, y1 = int(min(width, x1 + margin)), int(min(height, y1 + margin))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1][:, ::-1])
        # The crop frames the hand, but it may fill it: the padded canvas as the one fallback.
        found = self.detector.detect(crop, zoom=False) or _in_canvas(self.detector, crop, 0.0)
        if found is None:
            return None
        return moved(mirrored(found, x1 - x0), 1.0, x0, y0, width, height)

    def close(self) -> None:
        self.detector.close()
        for lite in (self._lite, self._gray_lite):
            if lite is not None:
                lite.close()


def _lite_detector(confidence: float) -> HandDetector:
    return HandDetector(
        static_image_mode=True, pad=0.0, min_detection_confidence=confidence, model_complexity=0
    )


def is_gray(rgb: np.ndarray) -> bool:
    """A gray photo (saved as colour or not): its channels agree everywhere, up to JPEG's noise."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        return True
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 40000)))  # about 40,000 pixels suffice
    # Each pixel's largest distance from its channels' mean, channel by channel: the same float64
    # values, bit for bit, as reducing over the 3-long channel axis, which numpy does far more slowly.
    r, g, b = (rgb[::step, ::step, c].astype(np.float64) for c in range(3))
    mean = (r + g + b) / 3
    spread = np.maximum(np.maximum(np.abs(r - mean), np.abs(g - mean)), np.abs(b - mean))
    return bool(np.percentile(spread, 99) <= 6)


def coloured(rgb: np.ndarray, ramp=GRAY_RAMPS[0]) -> np.ndarray:
    """A gray photo along a skin ramp (dark end, light end)."""
    dark, light = (np.asarray(end, np.float32) for end in ramp)
    gray = rgb[..., :1] if rgb.ndim == 3 else rgb[..., None]
    return (dark + gray.astype(np.float32) * ((light - dark) / 255)).astype(np.uint8)


def _in_canvas(detector: HandDetector, rgb: np.ndarray, angle: float) -> Hand | None:
    """The photo shrunk into a padded square canvas (turned by `angle` degrees), searched at the palm
    detector's own scale; the hand found, in the photo's pixels."""
    import cv2

    height, width = rgb.shape[:2]
    side = int(round(max(height, width) * (1 + 2 * PAD)))
    scale = min(1.0, 640 / side)  # the detector sees 192 px: a bigger canvas costs time, not recall
    centre = np.array([width / 2, height / 2])
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    size = max(1, int(round(side * scale)))
    matrix[:, 2] += size / 2 - centre  # the photo's centre to the canvas's centre
    canvas = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA, borderValue=(0, 0, 0))
    hand = detector._run(np.ascontiguousarray(canvas), border=0)
    if hand is None:
        return None
    back = cv2.invertAffineTransform(matrix)
    xy = hand.image_points[:, :2] @ back[:, :2].T + back[:, 2]
    points = hand.image_points.copy()
    points[:, :2] = xy
    points[:, 2] /= scale
    world = hand.world_points.copy()
    if angle:  # the world points turned with the canvas: turn them back (about the camera's axis)
        t = np.deg2rad(angle)
        c, s = np.cos(t), np.sin(t)
        x, y = world[:, 0].copy(), world[:, 1].copy()
        world[:, 0], world[:, 1] = c * x - s * y, s * x + c * y
    return Hand(points.astype(np.float32), world.astype(np.float32), hand.handedness, hand.score,
                hand_box(points, width, height))  # fmt: skip
