"""The recogniser's pixel member: a small CNN over the hand crop (data.crops), a second opinion fused with
the landmark ensemble where the landmarks are unsure.

Landmarks carry a handshape across signers, rooms and skin tones, but MediaPipe's 21 points often blur
where the thumb lies, the one thing the fist letters (A, S, T, M, N, E) differ by; the crop still shows
it. The two are fused as log-probabilities, `(1 - weight) * landmarks + weight * pixels`, only for photos
whose landmark answer is below `below`, so the crop costs time only where it can change the answer.
The weight, `below` and the fused answers' temperature are chosen on held-out signers by the build
(study.recognizer.pixel_member.choose_fusion), through the one answer rule (pipeline.answer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signlens.data.crops import CROP_MARGIN, CROP_SIZE, hand_crop
from signlens.errors import SignlensError
from signlens.pipeline.answer import Fusion
from signlens.pipeline.hands import Hand

PIXEL_RECIPE = "hand-crop"
# Crops blanked beyond the landmarks' hull (data.crops): the member reads the hand, not the room behind it.
MASKED = True


@dataclass
class PixelOpinion:
    """The pixel member as `Recognizer` uses it (from the recogniser checkpoint's "pixel" entry)."""

    classifier: object  # an image Classifier over CROP_SIZE crops
    weight: float
    below: float
    temperature: float  # of fused answers
    size: int = CROP_SIZE
    margin: float = CROP_MARGIN
    masked: bool = False

    @classmethod
    def from_payload(cls, payload: dict, fusion: dict, source: str) -> PixelOpinion:
        """The member as the checkpoint stores it, run by torch (a checkpoint given with --weights)."""
        from signlens.engine.checkpoint import validate_payload
        from signlens.inference.images import TorchClassifier

        validate_payload(payload, f"{source} (pixel member)")
        return cls.with_fusion(TorchClassifier.from_checkpoint(source, payload), fusion, source)

    @classmethod
    def with_fusion(cls, classifier, fusion: dict, source: str) -> PixelOpinion:
        """The member `classifier` (torch, or its ONNX graph in the runtime bundle) with the calibration
        record's fusion rule."""
        try:
            return cls(
                classifier,
                float(fusion["weight"]), float(fusion["below"]), float(fusion["temperature"]),
                int(fusion.get("size", CROP_SIZE)), float(fusion.get("margin", CROP_MARGIN)),
                bool(fusion.get("masked", False)),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SignlensError(f"{source}: the pixel member's fusion record is incomplete ({exc})") from None

    @property
    def fusion(self) -> Fusion:
        """Its fusion rule, as the answer rule (pipeline.answer) takes it."""
        return Fusion(self.weight, self.below, self.temperature)

    def logits(self, rgb: np.ndarray, hand: Hand) -> np.ndarray:
        points = hand.image_points if self.masked else None
        crop = hand_crop(rgb, hand.bbox, hand.handedness, self.size, self.margin, points)
        return self.classifier.logits(crop[None])
