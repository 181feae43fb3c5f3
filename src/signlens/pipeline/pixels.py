"""The recogniser's pixel member: a small CNN over the hand crop (data.crops), a second opinion fused with
the landmark ensemble where the landmarks are unsure.

Landmarks carry a handshape across signers, rooms and skin tones, but MediaPipe's 21 points often blur
where the thumb lies, the one thing the fist letters (A, S, T, M, N, E) differ by; the crop still shows
it. The two are fused as log-probabilities, `(1 - weight) * landmarks + weight * pixels`, only for photos
whose landmark answer is below `below`, so the crop costs time only where it can change the answer.
The weight, `below` and the fused answers' temperature are chosen on held-out signers by the build
(pipeline.loso.calibration_record), through predict's own rule (`fuse` below).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signlens.data.crops import CROP_MARGIN, CROP_SIZE, hand_crop
from signlens.data.photo_sets import PHOTO_SETS
from signlens.data.sources import NAMED_SETS, data_root
from signlens.errors import SignlensError
from signlens.inference.protocol import softmax
from signlens.io import atomic_write
from signlens.pipeline.hands import Hand, read_rgb

PIXEL_RECIPE = "hand-crop"
# Crops blanked beyond the landmarks' hull (data.crops): the member reads the hand, not the room behind it.
MASKED = True
WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6)
BELOW = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)  # 0: never fuse; 1.01: always


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def blend(landmarks: np.ndarray, pixels: np.ndarray, weight: float) -> np.ndarray:
    """The fused log-probabilities: the landmarks' and the pixel member's, weighted."""
    return (1 - weight) * landmarks + weight * log_softmax(pixels)


def fuse(landmarks, pixels, weight: float, below: float, temperature: float, fused_temperature: float):
    """Predict's rule on rows of (landmark log-probabilities, pixel logits): the calibrated probabilities
    and which rows were fused. Rows whose pixel logits are NaN (no crop) keep the landmark answer."""
    plain = softmax(landmarks / temperature)
    fused_rows = (plain.max(1) < below) & ~np.isnan(pixels).any(1)
    mixed = blend(landmarks, np.nan_to_num(pixels), weight)
    probs = np.where(fused_rows[:, None], softmax(mixed / fused_temperature), plain)
    return probs, fused_rows


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
        from signlens.engine.checkpoint import validate_payload
        from signlens.inference.images import TorchClassifier

        validate_payload(payload, f"{source} (pixel member)")
        try:
            return cls(
                TorchClassifier.from_checkpoint(source, payload),
                float(fusion["weight"]), float(fusion["below"]), float(fusion["temperature"]),
                int(fusion.get("size", CROP_SIZE)), float(fusion.get("margin", CROP_MARGIN)),
                bool(fusion.get("masked", False)),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SignlensError(f"{source}: the pixel member's fusion record is incomplete ({exc})") from None

    def wanted(self, confidence: float) -> bool:
        return confidence < self.below

    def logits(self, rgb: np.ndarray, hand: Hand) -> np.ndarray:
        points = hand.image_points if self.masked else None
        crop = hand_crop(rgb, hand.bbox, hand.handedness, self.size, self.margin, points)
        return self.classifier.logits(crop[None])

    def calibrated(self, landmarks: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        return softmax(blend(landmarks, pixels, self.weight) / self.temperature)


def photo_folder(spec: str) -> Path:
    """Where a landmark file's photos lie, from the set it records (a named photo set or a folder)."""
    if spec in PHOTO_SETS:
        return data_root() / PHOTO_SETS[spec]
    return data_root() / NAMED_SETS[spec] if spec in NAMED_SETS else Path(spec)


def crops_of(
    readings_file: Path, size: int = CROP_SIZE, margin: float = CROP_MARGIN, masked: bool = MASKED
) -> dict[str, np.ndarray]:
    """{source: crop} for the first reading of every photo in a landmark file (pipeline.extract), cached
    beside it while the file's digest and the crop settings match."""
    data = np.load(readings_file, allow_pickle=False)
    meta = json.loads(str(data["meta"]))
    key = {"digest": meta["digest"], "size": size, "margin": margin, "masked": masked}
    cache = readings_file.with_name(f"{readings_file.stem}-crops{size}{'-masked' if masked else ''}.npz")
    if cache.is_file():
        cached = np.load(cache, allow_pickle=False)
        if json.loads(str(cached["key"])) == key:
            return dict(zip(cached["sources"].tolist(), cached["crops"], strict=True))
    folder = photo_folder(meta["data"])
    rows = np.flatnonzero(data["views"] == "photo")
    sources = [str(data["sources"][i]) for i in rows]
    crops = np.stack([
        hand_crop(
            read_rgb(folder / data["sources"][i]), data["bboxes"][i], data["handedness"][i], size, margin,
            data["image_points"][i] if masked else None,
        )
        for i in rows
    ]) if len(rows) else np.zeros((0, size, size, 3), np.uint8)  # fmt: skip

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, crops=crops, sources=np.array(sources), key=json.dumps(key))

    atomic_write(cache, write)
    return dict(zip(sources, crops, strict=True))


def choose_fusion(landmarks, pixels, labels, signers, temperature: float, photos: int) -> dict:
    """The fusion rule from held-out signers' answers (rows: photos with a hand; `photos` counts misses
    too): the weight and `below` with the most right answers, fusing least within 0.1 point of the best;
    the fused answers' temperature; and an honest figure for the choice itself, each signer scored with
    the weight and `below` chosen on the other signers' answers."""
    from signlens.evaluation.calibration import fit_temperature

    plain = softmax(landmarks / temperature).max(1)
    have = ~np.isnan(pixels).any(1)
    mixed = {w: blend(landmarks, np.nan_to_num(pixels), w) for w in WEIGHTS}
    right = {
        (w, b): np.where((plain < b) & have, mixed[w].argmax(1), landmarks.argmax(1)) == labels
        for w in WEIGHTS
        for b in BELOW
    }
    fused_share = {b: float(((plain < b) & have).mean()) for b in BELOW}

    def pick(mask: np.ndarray) -> tuple[float, float]:
        score = {k: int(v[mask].sum()) for k, v in right.items()}
        best = max(score.values())
        near = [k for k in score if score[k] >= best - 0.001 * mask.sum()]
        return min(near, key=lambda k: (fused_share[k[1]], k[0]))

    weight, below = pick(np.ones(len(labels), bool))
    nested = sum(int(right[pick(signers != s)][signers == s].sum()) for s in sorted(set(signers)))
    rows = (plain < below) & have
    # Fitted on the rows predict fuses; on every row's fused answer when too few are fused to fit on.
    fit = rows if rows.sum() >= 100 else have
    fused_temperature = fit_temperature(mixed[weight][fit], labels[fit]) if fit.any() else 1.0
    return {
        "weight": weight,
        "below": below,
        "temperature": float(fused_temperature),
        "size": CROP_SIZE,
        "margin": CROP_MARGIN,
        "masked": MASKED,
        "fused": float(rows.mean()),
        "right_nested": nested / photos,  # weight and below chosen without the scored signer
        "right_landmarks_only": int((landmarks.argmax(1) == labels).sum()) / photos,
        "right_pixels_only": int((np.nan_to_num(pixels).argmax(1) == labels).sum()) / photos,
        "grid": {f"{w:.2f}@{b:.2f}": int(v.sum()) / photos for (w, b), v in right.items()},
    }
