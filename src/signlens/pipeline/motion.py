"""J and Z, the two letters that move, from the fingertip's path over about a second of video.

J is the I handshape (little finger out, the others folded) with the little fingertip drawing a hook: down,
then curving sideways. Z is the index finger (out, the others folded) drawing a Z: across, diagonally back
and down, across again. The handshape is read from the landmarks' geometry (which finger is stretched),
not from the static classifier, which has no J or Z. The path is measured in palm lengths (wrist to middle
knuckle in the image), so it does not depend on how far the hand is from the camera, and either sideways
direction counts (a left hand, or a mirrored camera, draws the mirror image).

A steady hand never moves its fingertip far, so it never gives a motion letter; a path that is not a hook
or a Z (a wave, a circle, a straight stroke) is no letter either.
"""

from __future__ import annotations

from collections import deque

import numpy as np

WRIST, MIDDLE_MCP = 0, 9
MOTION_SECONDS = 1.2  # the longest J or Z path kept
TIPS = {"index": 8, "middle": 12, "ring": 16, "pinky": 20}
PIPS = {"index": 6, "middle": 10, "ring": 14, "pinky": 18}
MCPS = {"index": 5, "middle": 9, "ring": 13, "pinky": 17}


def stretched(points: np.ndarray) -> dict[str, bool]:
    """Which fingers are out: the tip farther from the wrist than its middle joint by a clear margin."""
    palm = max(float(np.linalg.norm(points[MIDDLE_MCP, :2] - points[WRIST, :2])), 1e-6)
    out = {}
    for finger, tip in TIPS.items():
        tip_d = np.linalg.norm(points[tip, :2] - points[WRIST, :2])
        pip_d = np.linalg.norm(points[PIPS[finger], :2] - points[WRIST, :2])
        out[finger] = bool(tip_d > pip_d + 0.25 * palm)
    return out


def handshape(points: np.ndarray) -> str | None:
    """ "pinky" (J's handshape), "index" (Z's) or None."""
    out = stretched(points)
    if out["pinky"] and not (out["index"] or out["middle"] or out["ring"]):
        return "pinky"
    if out["index"] and not (out["middle"] or out["ring"] or out["pinky"]):
        return "index"
    return None


def simplify(path: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: the path's corners, dropping wiggles smaller than `tolerance`."""
    if len(path) < 3:
        return path
    start, end = path[0], path[-1]
    line = end - start
    norm = np.linalg.norm(line)
    if norm < 1e-9:
        distances = np.linalg.norm(path - start, axis=1)
    else:
        distances = np.abs(line[0] * (path[:, 1] - start[1]) - line[1] * (path[:, 0] - start[0])) / norm
    k = int(np.argmax(distances))
    if distances[k] <= tolerance:
        return np.stack([start, end])
    return np.concatenate([simplify(path[: k + 1], tolerance)[:-1], simplify(path[k:], tolerance)])


def is_z(path: np.ndarray) -> bool:
    """Three strokes: across, back across and down, across the first way again (x up to mirroring; image
    y grows downwards). `path` in palm lengths."""
    extent = np.ptp(path, axis=0)
    if extent[0] < 0.8 or extent[1] < 0.5:
        return False
    corners = simplify(path, 0.2 * max(extent))
    strokes = np.diff(corners, axis=0)
    strokes = strokes[np.linalg.norm(strokes, axis=1) > 0.25 * max(extent)]
    if len(strokes) != 3:
        return False
    first, middle, last = strokes
    side = np.sign(first[0])
    across = lambda s: side * s[0] > 0.6 * np.linalg.norm(s) and abs(s[1]) < 0.6 * abs(s[0])  # noqa: E731
    back_down = side * middle[0] < 0 and middle[1] > 0.3 * np.linalg.norm(middle)
    return bool(across(first) and back_down and across(last) and middle[1] > 0.4 * extent[1])


def is_j(path: np.ndarray) -> bool:
    """Down, then a hook sideways (and up a little): the lowest point before the end, the path after it
    running sideways at least a third as far as it fell. `path` in palm lengths."""
    bottom = int(np.argmax(path[:, 1]))
    fall = path[bottom, 1] - path[: bottom + 1, 1].min()
    if fall < 0.5 or bottom == len(path) - 1:
        return False
    after = path[bottom:]
    sideways = np.ptp(after[:, 0])
    before = path[: bottom + 1]
    straight_down = np.ptp(before[:, 0]) < 0.8 * fall  # the stroke down is mostly vertical
    return bool(sideways > 0.35 * fall and straight_down and path[-1, 1] <= path[bottom, 1])


class MotionLetters:
    """Feed every frame's hand; returns "J" or "Z" at the frame that completes one, else None."""

    def __init__(self, seconds: float = MOTION_SECONDS, min_frames: int = 6):
        self.seconds, self.min_frames = seconds, min_frames
        self.track: deque[tuple[float, str | None, np.ndarray, float]] = deque()

    def reset(self) -> None:
        self.track.clear()

    def update(self, image_points: np.ndarray | None, now: float) -> str | None:
        if image_points is None:
            self.reset()
            return None
        points = np.asarray(image_points, dtype=np.float64)
        palm = max(float(np.linalg.norm(points[MIDDLE_MCP, :2] - points[WRIST, :2])), 1e-6)
        self.track.append((now, handshape(points), points[:, :2].copy(), palm))
        while self.track and now - self.track[0][0] > self.seconds:
            self.track.popleft()
        if len(self.track) < self.min_frames:
            return None
        shapes = [t[1] for t in self.track]
        palm = float(np.median([t[3] for t in self.track]))
        for letter, shape, tip, test in (
            ("J", "pinky", TIPS["pinky"], is_j),
            ("Z", "index", TIPS["index"], is_z),
        ):
            # The handshape must hold over most of the path (J's hand turns as it hooks: allow a third off).
            if shapes.count(shape) < 0.66 * len(shapes):
                continue
            path = np.array([t[2][tip] for t in self.track]) / palm
            if test(path):
                self.reset()  # one path, one letter
                return letter
        return None
