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
from signlens.engine.landmark_predictor import LandmarkClassifier
from signlens.errors import SignlensError
from signlens.pipeline.hands import Hand, HandDetector
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
        classifier: LandmarkClassifier,
        detector: HandDetector,
        threshold: float = PHOTO_THRESHOLD,
        mirror_tta: bool | None = None,
        top_k: int = 3,
    ):
        self.classifier, self.detector = classifier, detector
        # None: each model averages with the mirrored hand only if it saw mirrored hands in training.
        self.mirror_tta = mirror_tta
        self.threshold, self.top_k = threshold, top_k

    @classmethod
    def load(cls, weights: str | Path | None = None, video: bool = False, **options) -> Recognizer:
        from signlens.engine.predictor import load_classifier

        classifier = load_classifier(weights or bundled_recognizer_path())
        if not isinstance(classifier, LandmarkClassifier):
            raise SignlensError(f"{weights} is an image classifier; the recogniser needs a landmark model")
        detector = HandDetector(
            static_image_mode=not video, model_complexity=options.pop("model_complexity", 1)
        )
        return cls(classifier, detector, **options)

    def canonical(self, hand: Hand) -> np.ndarray:
        return to_canonical(
            hand.world_points[None], hand.image_points[None], [hand.handedness], self.classifier.config.points
        )

    def classify(self, hand: Hand | None) -> Recognition:
        if hand is None:
            return Recognition(None, 0.0, [], None, None)
        probs = self.classifier.predict_proba(self.canonical(hand), mirror_tta=self.mirror_tta)[0]
        order = np.argsort(-probs)[: self.top_k]
        top = [(self.classifier.class_names[i], float(probs[i])) for i in order]
        best, confidence = top[0]
        return Recognition(best if confidence >= self.threshold else None, confidence, top, hand, best)

    def recognize(self, rgb: np.ndarray) -> Recognition:
        return self.classify(self.detector.detect(rgb))

    def close(self) -> None:
        self.detector.close()
