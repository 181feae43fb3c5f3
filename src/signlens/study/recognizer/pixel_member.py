"""The pixel member's build side: each photo's hand crop for training (cached beside its readings), and the
fusion rule chosen on held-out signers' answers through predict's own rule (pipeline.answer)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from signlens.data.crops import CROP_MARGIN, CROP_SIZE, hand_crop
from signlens.data.photo_sets import PHOTO_SETS
from signlens.data.sources import NAMED_SETS, data_root
from signlens.inference.protocol import softmax
from signlens.io import atomic_write
from signlens.pipeline.answer import blend
from signlens.pipeline.hands import read_rgb
from signlens.pipeline.pixels import MASKED

WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6)
BELOW = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)  # 0: never fuse; 1.01: always


def photo_folder(spec: str) -> Path:
    """Where a landmark file's photos lie, from the set it records (a named photo set or a folder)."""
    if spec in PHOTO_SETS:
        return data_root() / PHOTO_SETS[spec]
    return data_root() / NAMED_SETS[spec] if spec in NAMED_SETS else Path(spec)


def crops_of(
    readings_file: Path, size: int = CROP_SIZE, margin: float = CROP_MARGIN, masked: bool = MASKED
) -> dict[str, np.ndarray]:
    """{source: crop} for the first reading of every photo in a landmark file (study.recognizer.extract), cached
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
