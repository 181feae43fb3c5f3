"""The answer rule, defined once: a photo's readings -> calibrated probabilities and whether it answers.

`Recognizer` applies it to one photo at a time; the build (study.recognizer) replays it on every held-out
photo at once to choose the rule and score it. Both call `answer` below, so the figures the build records
are the answers the runtime gives.

The rule, per photo:
1. The first reading's answer, calibrated by `temperature`; below `second_below` the hand is read a
   second time (from the mirrored photo) and the two readings' log-probabilities are averaged.
2. Where that landmark answer is below the fusion's `below`, the pixel member's opinion of the hand
   crop is blended in as log-probabilities, `(1 - weight) * landmarks + weight * pixels`, and
   calibrated by the fusion's own temperature.
3. A letter is given where the calibrated confidence reaches the threshold and MediaPipe is sure enough
   of the hand's handedness (an ear once read as a hand scored low there).

Readings not made (no second reading, no crop) are NaN rows, or None for all rows. `answer` also says
which photos would use the readings it was not given, so the runtime makes a reading only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from signlens.inference.protocol import softmax
from signlens.pipeline.thresholds import MIN_HAND_SCORE, PHOTO_THRESHOLD, SECOND_BELOW


@dataclass(frozen=True)
class Fusion:
    """How the pixel member's opinion joins the landmarks' (chosen by the build on held-out signers)."""

    weight: float  # of the pixel member's log-probabilities
    below: float  # asked only where the landmark answer's confidence is below this
    temperature: float  # of fused answers

    @classmethod
    def from_record(cls, fusion: dict | None) -> Fusion | None:
        """The fusion rule of a calibration record (its "fusion" entry), None where it has none."""
        if not fusion:
            return None
        return cls(fusion["weight"], fusion["below"], fusion["temperature"])


@dataclass(frozen=True)
class AnswerRule:
    temperature: float  # of the landmark answers
    second_below: float = SECOND_BELOW  # read the hand twice below this first-reading confidence
    threshold: float = PHOTO_THRESHOLD  # the least calibrated confidence that gives a letter
    min_hand_score: float = MIN_HAND_SCORE  # the least handedness score that gives a letter
    fusion: Fusion | None = None  # None: no pixel member

    @classmethod
    def from_record(cls, record: dict, threshold: str = "photo_threshold") -> AnswerRule:
        """The rule a calibration record chose (`threshold`: which of its defaults gives a letter)."""
        defaults = record["defaults"]
        return cls(
            record["temperature"],
            defaults["second_below"],
            defaults[threshold],
            defaults["min_hand_score"],
            Fusion.from_record(record.get("fusion")),
        )

    def with_threshold(self, threshold: float) -> AnswerRule:
        return replace(self, threshold=threshold)


@dataclass(frozen=True)
class Answers:
    """The rule's answers to N photos (rows)."""

    logits: np.ndarray  # (N, C) the landmark log-probabilities answered: the first reading, or both averaged
    probs: np.ndarray  # (N, C) calibrated probabilities, the pixel member's opinion fused in where it was
    asks_second: np.ndarray  # (N,) the first reading is unsure enough to read the hand twice
    twice: np.ndarray  # (N,) read twice: asked, and a second reading was given
    asks_pixels: np.ndarray  # (N,) the landmark answer is unsure enough to ask the pixel member
    fused: np.ndarray  # (N,) the pixel member's opinion fused in: asked, and given
    answered: np.ndarray  # (N,) a letter is given (confident enough, and a sure hand)


def answer(
    first: np.ndarray,
    second: np.ndarray | None,
    pixels: np.ndarray | None,
    hand_scores: np.ndarray | None,
    rule: AnswerRule,
) -> Answers:
    """The answer rule on N photos: `first` (N, C) the first reading's landmark log-probabilities,
    `second` (N, C) the second reading's (NaN rows: not read), `pixels` (N, C) the pixel member's logits
    of the hand crop (NaN rows: no crop), `hand_scores` (N,) MediaPipe's handedness scores (None: no
    hand was read, as for an image classifier)."""
    none = np.zeros(len(first), bool)
    asks_second = softmax(first / rule.temperature).max(1) < rule.second_below
    twice = none if second is None else asks_second & ~np.isnan(second).any(1)
    logits = np.where(twice[:, None], (first + np.nan_to_num(second)) / 2, first) if twice.any() else first
    probs = softmax(logits / rule.temperature)
    fusion = rule.fusion
    asks_pixels = none if fusion is None else probs.max(1) < fusion.below
    fused = none if pixels is None else asks_pixels & ~np.isnan(pixels).any(1)
    if fused.any():
        mixed = softmax(blend(logits, np.nan_to_num(pixels), fusion.weight) / fusion.temperature)
        probs = np.where(fused[:, None], mixed, probs)
    return Answers(
        logits, probs, asks_second, twice, asks_pixels, fused,
        answered(probs, hand_scores, rule.threshold, rule.min_hand_score),
    )  # fmt: skip


def answered(probs: np.ndarray, hand_scores, threshold: float, min_hand_score: float) -> np.ndarray:
    """Which rows give a letter at `threshold`. Compared in float64, as the confidence a caller reads
    (a Python float) is: a float32 comparison rounds the threshold first."""
    confident = probs.max(1).astype(np.float64) >= threshold
    return confident & sure_hands(hand_scores, min_hand_score, len(probs))


def sure_hands(hand_scores, min_hand_score: float, rows: int) -> np.ndarray:
    """Which rows' hands MediaPipe is sure enough of to give a letter (all, where no hand was read)."""
    if hand_scores is None:
        return np.ones(rows, bool)
    return np.asarray(hand_scores, np.float64) >= min_hand_score


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def blend(landmarks: np.ndarray, pixels: np.ndarray, weight: float) -> np.ndarray:
    """The fused log-probabilities: the landmarks' and the pixel member's, weighted."""
    return (1 - weight) * landmarks + weight * log_softmax(pixels)
