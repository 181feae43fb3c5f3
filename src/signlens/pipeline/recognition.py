"""A recognition: the one answer `predict`, `live`, the REST API and the WebSocket stream give, with its
one JSON form (`to_dict`) and its one drawing (`draw`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from signlens.pipeline.hands import Hand

PROBABILITY_DECIMALS = 4  # confidence and top: finer than any threshold or calibration can mean
POINT_DECIMALS = 1  # landmark pixels: a tenth of a pixel is finer than MediaPipe's own precision

# Colours in RGB: green an answer, orange the best class below the threshold ("?"), red no hand.
SURE, UNSURE, NO_HAND = (0, 200, 0), (255, 170, 0), (255, 0, 0)
SKELETON = (255, 255, 255)


@dataclass
class Recognition:
    """What a recogniser read in one photo or frame.

    `label` is the letter, or None: no hand found, or the best class below the confidence threshold
    (`best` still names it). `confidence` is the calibrated probability of `best` (0 with no hand);
    `top` the most likely classes, best first, as (class, probability). `hand` is the hand it read
    (box, 21 landmarks, handedness), or None. `timings`: seconds per stage ("detect", "classify"; "search",
    the part of "detect" spent searching where the tracker found no hand) where they were measured
    (video frames). `search_stopped`: the hand search ran out of the time the call
    gave it (`recognize(..., search_seconds=)`) with views unseen, so "no hand" means none seen so far."""

    label: str | None
    confidence: float
    top: list[tuple[str, float]]
    hand: Hand | None
    best: str | None
    timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    search_stopped: bool = False

    @property
    def handedness(self) -> str | None:
        return None if self.hand is None else self.hand.handedness

    def to_dict(self, landmarks: bool = False) -> dict:
        """The JSON answer: label, confidence, top, hand (box x0, y0, x1, y1 in pixels, or None),
        handedness; with `landmarks`, also the 21 points [x, y, z] in pixels (None without a hand)."""
        answer = {
            "label": self.label,
            "confidence": round(float(self.confidence), PROBABILITY_DECIMALS),
            "top": [[name, round(float(p), PROBABILITY_DECIMALS)] for name, p in self.top],
            "hand": None if self.hand is None else [int(v) for v in self.hand.bbox],
            "handedness": self.handedness,
        }
        if landmarks:
            answer["landmarks"] = None if self.hand is None else self.landmark_list()
        return answer

    def landmark_list(self) -> list[list[float]]:
        points = np.asarray(self.hand.image_points, dtype=np.float64)
        return [[round(float(v), POINT_DECIMALS) + 0.0 for v in point] for point in points]  # no -0.0

    def caption(self) -> str:
        """ "B 0.93", with " ?" when below the threshold; "no hand" when there is none."""
        if self.best is None:
            return "no hand"
        return f"{self.best} {self.confidence:.2f}" + ("" if self.label else " ?")

    def draw(self, image: np.ndarray, bgr: bool = False) -> np.ndarray:
        """A copy of `image` (the photo or frame this came from; RGB, or OpenCV's BGR with `bgr`) with
        the hand's box and skeleton and the caption (green: an answer; orange with '?': below the
        threshold; red: no hand). An image classifier's answer, which has no hand, goes top left."""
        import cv2

        from signlens.pipeline.mediapipe_hands import hands_solution

        connections = hands_solution().HAND_CONNECTIONS  # as the page draws

        def colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
            return rgb[::-1] if bgr else rgb

        out = np.ascontiguousarray(image).copy()
        tone = colour(SURE if self.label else UNSURE if self.best else NO_HAND)
        size = max(out.shape[:2])
        if self.hand is None:
            scale = max(0.5, size / 900)
            origin = (5, max(20, int(25 * scale)))
            cv2.putText(out, self.caption(), origin, cv2.FONT_HERSHEY_SIMPLEX, scale, tone, 2)
            return out
        thickness = max(2, round(size / 300))
        x0, y0, x1, y1 = (int(v) for v in self.hand.bbox)
        cv2.rectangle(out, (x0, y0), (x1, y1), tone, thickness)
        points = [(int(round(x)), int(round(y))) for x, y in self.hand.image_points[:, :2]]
        for a, b in sorted(connections):
            cv2.line(out, points[a], points[b], colour(SKELETON), max(1, thickness // 2), cv2.LINE_AA)
        for point in points:
            cv2.circle(out, point, thickness, tone, -1, cv2.LINE_AA)
        scale = max(0.7, size / 900)
        cv2.putText(
            out, self.caption(), (x0, max(25, y0 - 8)), cv2.FONT_HERSHEY_SIMPLEX, scale, tone, thickness
        )
        return out
