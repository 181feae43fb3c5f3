"""The recogniser: photo -> hand -> landmarks -> calibrated letter, or an honest "no hand" / "unsure".

The bundled model (`signlens/assets/recognizer.pt`, made by scripts/build_recognizer.py) reads hand
landmarks, not pixels: a handshape's geometry survives other signers, skin tones, lighting and rooms,
where a pixel CNN trained on one studio's photos does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from signlens.data.landmarks import to_canonical
from signlens.errors import SignlensError
from signlens.inference import Classifier, load_classifier
from signlens.pipeline.hands import Hand, HandDetector, mirrored, moved
from signlens.pipeline.thresholds import PHOTO_THRESHOLD


def bundled_recognizer_path() -> Path:
    path = Path(str(resources.files("signlens") / "assets" / "recognizer.pt"))
    if not path.is_file():
        raise SignlensError(
            f"the bundled recogniser is missing ({path}); rebuild it with scripts/build_recognizer.py"
        )
    return path


@dataclass
class Recognition:
    label: str | None  # None: no hand, or below the confidence threshold
    confidence: float  # calibrated probability of the best class (0 when there is no hand)
    top: list[tuple[str, float]]
    hand: Hand | None
    best: str | None  # the best class even when unsure (None when there is no hand)

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "top": [[name, round(p, 4)] for name, p in self.top],
            "hand": None if self.hand is None else self.hand.to_json()["bbox"],
            "handedness": None if self.hand is None else self.hand.handedness,
        }


class Recognizer:
    def __init__(
        self,
        classifier: Classifier,
        detector: HandDetector | None,
        threshold: float = PHOTO_THRESHOLD,
        mirror_tta: bool | None = None,
        top_k: int = 3,
        views: tuple[str, ...] | None = None,
    ):
        self.classifier, self.detector = classifier, detector
        # Photos are read in each view the model was built for (the mirrored photo too: a second,
        # independent landmark estimate of the same hand); video frames only as they are.
        self.views = tuple(views or classifier.views)
        # None: each model averages with the mirrored hand only if it saw mirrored hands in training.
        self.mirror_tta = mirror_tta
        self.threshold, self.top_k = threshold, top_k

    @classmethod
    def load(cls, weights: str | Path | None = None, video: bool = False, **options) -> Recognizer:
        """A landmark model reads the hand it finds; an image classifier (whole photos in training) reads
        the whole photo, with no hand detection."""
        classifier = load_classifier(weights or bundled_recognizer_path())
        complexity = options.pop("model_complexity", 1)
        detector = None
        if classifier.kind == "landmarks":
            detector = HandDetector(static_image_mode=not video, model_complexity=complexity)
        if video:  # a second, mirrored read would reset the tracker's frame-to-frame state
            options["views"] = ("photo",)
        return cls(classifier, detector, **options)

    def canonical(self, hand: Hand) -> np.ndarray:
        return to_canonical(
            hand.world_points[None], hand.image_points[None], [hand.handedness], self.classifier.config.points
        )

    def classify(self, hand: Hand | None) -> Recognition:
        return self.classify_views([] if hand is None else [hand])

    def classify_views(self, hands: list[Hand]) -> Recognition:
        """One answer from one or more landmark estimates of the same hand (log-probabilities averaged)."""
        if not hands:
            return Recognition(None, 0.0, [], None, None)
        points = np.concatenate([self.canonical(hand) for hand in hands])
        return self.answer(self.classifier.logits(points, mirror_tta=self.mirror_tta), hands[0])

    def answer(self, logits: np.ndarray, hand: Hand | None) -> Recognition:
        """Rows of logits (readings of one photo) averaged into one calibrated, thresholded answer."""
        probs = self.classifier.calibrated(logits.mean(0, keepdims=True))[0]
        order = np.argsort(-probs)[: self.top_k]
        top = [(self.classifier.class_names[i], float(probs[i])) for i in order]
        best, confidence = top[0]
        return Recognition(best if confidence >= self.threshold else None, confidence, top, hand, best)

    def recognize(self, rgb: np.ndarray) -> Recognition:
        """A photo: find the hand; with the "mirrored" view, read it a second time from the mirrored
        region around it, and classify both estimates together. No hand in the photo, no letter: the
        mirrored view only ever re-reads a hand already found, so it cannot invent one. An image
        classifier reads the whole photo instead."""
        if self.detector is None:
            return self.answer(self.classifier.logits(rgb[None]), None)
        hand = self.detector.detect(rgb)
        if hand is None:
            return self.classify_views([])
        hands = [hand]
        if "mirrored" in self.views:
            second = self.mirrored_estimate(rgb, hand)
            if second is not None:
                hands.append(second)
        return self.classify_views(hands)

    def mirrored_estimate(self, rgb: np.ndarray, hand: Hand) -> Hand | None:
        """Landmarks of `hand` read again from its surroundings mirrored left-right, in photo pixels."""
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = hand.bbox
        margin = 0.5 * max(x1 - x0, y1 - y0)
        x0, y0 = int(max(0, x0 - margin)), int(max(0, y0 - margin))
        x1, y1 = int(min(width, x1 + margin)), int(min(height, y1 + margin))
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1][:, ::-1])
        found = self.detector.detect(crop, zoom=False)  # the crop already frames the hand
        if found is None:
            return None
        return moved(mirrored(found, x1 - x0), 1.0, x0, y0, width, height)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
