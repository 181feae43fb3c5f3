"""The hand crop a pixel model reads: a square around the hand box that landmarks give, turned into a
right hand, at a fixed size. One function for training and for `predict`, so both see the same pixels.

Why pixels beside landmarks: the fist letters (A, S, T, M, N, E) differ by where the thumb lies, which
MediaPipe's 21 points often blur, while the crop still shows it. Left hands are flipped left-right (the
rule `data.landmarks.to_canonical` uses for the points), so one model reads both hands.
"""

from __future__ import annotations

import numpy as np

CROP_SIZE = 64
CROP_MARGIN = 0.2  # of the box's longer side, on every side: the thumb and knuckles near the box's edge
# With points, everything farther than this (of the crop's side) from the landmarks' hull is blanked: the
# fingers' edges lie about half a finger's width outside the joints the hull runs through.
MASK_REACH = 0.08


def hand_crop(
    rgb: np.ndarray,
    bbox,
    handedness: str,
    size: int = CROP_SIZE,
    margin: float = CROP_MARGIN,
    points: np.ndarray | None = None,
) -> np.ndarray:
    """uint8 (size, size, 3): the square around `bbox` (x0, y0, x1, y1 in pixels) with `margin`, where
    parts outside the photo repeat its edge (a hand cut by the frame stays a hand on its background),
    flipped left-right for a left hand. With the hand's image `points` ((21, 2+) in photo pixels), what
    lies beyond MASK_REACH of their hull is black: the room behind the hand says nothing of the letter, and
    a model that sees it learns the rooms of its training signers."""
    import cv2

    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in bbox)
    side = max(x1 - x0, y1 - y0, 2.0) * (1 + 2 * margin)
    left, top = int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2))
    right, bottom = left + int(round(side)), top + int(round(side))
    window = rgb[max(0, top) : min(height, bottom), max(0, left) : min(width, right), :3]
    if window.size == 0:  # a box wholly outside the photo: nothing of the hand to show
        return np.zeros((size, size, 3), np.uint8)
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if any(pads):
        window = cv2.copyMakeBorder(np.ascontiguousarray(window), *pads, cv2.BORDER_REPLICATE)
    # INTER_AREA when shrinking averages the pixels each output pixel covers (no aliasing of fine lines).
    shrink = window.shape[0] > size
    crop = cv2.resize(window, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if points is not None:
        xy = (np.asarray(points, np.float32)[:, :2] - (left, top)) * (size / (right - left))
        mask = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(xy).astype(np.int32)), 1)
        reach = max(1, int(round(MASK_REACH * size)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
        crop = crop * mask[..., None]
    if str(handedness).lower() == "left":
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)
