"""Everyday changes to a photo of a hand: framed so the hand fills it or so an edge cuts it, gray, blurred,
sheared, mirrored; and beyond those, turned (a tilted camera), dark (a dim room) and heavily compressed.
The stress set (benchmarks/stress_set.py) measures the recogniser on each at fixed
strengths; the recogniser's build reads changed copies of its training photos (`vary`: random strengths),
because a hand cut by the frame's edge gives landmarks the detector had to guess, and a model that never
saw such guesses reads them as another letter.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np

CHANGES = ("as-taken", "fill", "cut", "gray", "blur", "shear", "mirror")
# Beyond the everyday seven; at fixed strengths they draw nothing from the generator, so adding them left
# the stress set's other images as they were.
FURTHER_CHANGES = ("turned", "dark", "jpeg")
NEEDS_BOX = ("fill",)  # a photo without a hand box is a tight crop already: the hand fills it
# Where the frame moves to cut the hand: the four sides (the stress set), and with `vary` the corners too.
_SIDES = [(1, 0), (-1, 0), (0, 1), (0, -1)]
_CORNERS = [(1, 1), (1, -1), (-1, 1), (-1, -1)]


def square_view(rgb: np.ndarray, cx: float, cy: float, side: float, size: int = 416) -> np.ndarray:
    """The square of `side` pixels centred at (cx, cy), edge pixels replicated where it leaves the photo,
    resized to `size`."""
    k = size / side
    matrix = np.float32([[k, 0, size / 2 - cx * k], [0, k, size / 2 - cy * k]])
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def changed(
    rgb: np.ndarray, change: str, box, rng: np.random.Generator, vary: bool = False
) -> np.ndarray | None:
    """`rgb` with one change; None where the change needs a hand box the photo does not have (a photo
    without a box is taken to be a tight crop: its whole frame is the hand). Fixed strengths, or with
    `vary` drawn from `rng` around them."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    if change == "as-taken":
        return rgb
    if change == "fill":
        if side >= 0.9 * min(width, height):
            return None
        return square_view(rgb, cx, cy, side * (rng.uniform(1.0, 1.3) if vary else 1.1))
    if change == "cut":  # a frame the hand's size, moved so part of the hand is outside it
        if vary:
            dx, dy = (_SIDES + _CORNERS)[rng.integers(8)]
            shift = rng.uniform(0.12, 0.35) / (np.sqrt(2) if dx and dy else 1)
        else:
            (dx, dy), shift = _SIDES[rng.integers(4)], 0.25
        return square_view(rgb, cx + dx * shift * side, cy + dy * shift * side, side)
    if change == "gray":
        return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if change == "blur":
        sigma = rng.uniform(0.8, 2.2) if vary else 1.5
        return cv2.GaussianBlur(rgb, (0, 0), sigma * max(width, height) / 320)
    if change == "shear":
        s = (rng.uniform(0.1, 0.3) if vary else 0.2) * (1 if rng.random() < 0.5 else -1)
        matrix = np.float32([[1, s, -s * height / 2], [0, 1, 0]])
        return cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if change == "mirror":
        return np.ascontiguousarray(rgb[:, ::-1])
    if change == "turned":  # about the hand's centre, the corners filled by the edge
        degrees = rng.uniform(15, 35) * (1 if rng.random() < 0.5 else -1) if vary else 25.0
        matrix = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)
        return cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if change == "dark":  # light cut in linear terms (a quarter: two stops), then back to sRGB
        light = rng.uniform(0.15, 0.4) if vary else 0.25
        linear = (rgb.astype(np.float32) / 255) ** 2.2 * light
        return np.clip(linear ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)
    if change == "jpeg":
        quality = int(rng.integers(8, 25)) if vary else 12
        _, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
    raise ValueError(f"unknown change {change!r}; choose from {', '.join(CHANGES + FURTHER_CHANGES)}")


def photo_rng(source: str, change: str, seed: int = 0) -> np.random.Generator:
    """A generator fixed by the photo, the change and the seed: a photo's changed copy is the same
    whatever order the photos are read in."""
    return np.random.default_rng([seed, zlib.crc32(f"{source}|{change}".encode())])
