"""Leave-one-signer-out comparison of hand-landmark recognisers on the ayuraj photos, end to end.

Every photo of the held-out signer counts: a photo where MediaPipe found no hand is an error, like a
wrong letter. Model selection inside a fold uses a validation split of the other signers (grouped by
take), never the held-out signer.

    SIGNLENS_DATA=../shared/data python benchmarks/recognizer_loso.py --landmarks runs/asl_landmarks.npz
(the landmark file comes from `signlens landmarks extract --data asl-dataset --out FILE`).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from signlens.data import load_data, stratified_split
from signlens.data.landmarks import load_landmark_file
from signlens.engine import Trainer, build_config
from signlens.engine.landmark_predictor import LandmarkClassifier

VARIANTS = {
    "world": {},
    "world+rotation-free": {"landmarks": {"rotation_free": True}},
    "image": {"landmarks": {"points": "image"}},
    "both": {"landmarks": {"points": "both"}},
    "world+mirror-aug+tta": {"landmarks": {"mirror": 0.5}},
    # The seed's landmark-mask image (fingers in their own channels, plus depth) under a small CNN.
    "mask-cnn": {"model": "fast-cnn", "landmarks": {"form": "mask", "mirror": 0.5}},
}
BASE = {
    "epochs": 40,
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 1e-3,
    "label_smoothing": 0.1,
    "threads": 2,
}


def signer_of(source: str) -> str:
    match = re.search(r"hand\d+", Path(source).name)
    return match.group(0) if match else "unknown"


def run_variant(file: Path, name: str, overrides: dict, classes: str, work: Path) -> dict:
    overrides = {**BASE, **overrides, "classes": classes}
    config = build_config(
        f"landmarks:{file}", model=overrides.pop("model", "landmark-mlp"), overrides=overrides
    )
    bundle = load_data(config.data, landmark_points=config.landmarks.points, classes=classes)
    samples = bundle.train
    raw = load_landmark_file(file)
    names = [str(c) for c in raw["class_names"]]
    missed = [
        signer_of(s)
        for s, y in zip(raw["failure_sources"], raw["failure_labels"], strict=True)
        if names[y] in samples.class_names
    ]
    signers = np.array([signer_of(s) for s in samples.sources])
    folds, start = [], time.perf_counter()
    for signer in sorted(set(signers)):
        test_idx = np.flatnonzero(signers == signer)
        rest = np.flatnonzero(signers != signer)
        rest_set = samples.subset(rest)
        keep, val = stratified_split(rest_set.labels, 0.15, 0, rest_set.groups)
        splits = (rest_set.subset(keep), rest_set.subset(val), samples.subset(test_idx))
        trainer = Trainer(config, work / f"{name}-{signer}", progress=False, splits=splits)
        trainer.fit()
        classifier = LandmarkClassifier.from_checkpoint(work / f"{name}-{signer}" / "best.pt")
        probs = classifier.predict_proba(splits[2].images, mirror_tta=config.landmarks.mirror > 0)
        correct = int((probs.argmax(1) == splits[2].labels).sum())
        total = len(test_idx) + missed.count(signer)
        folds.append({"signer": signer, "correct": correct, "detected": len(test_idx), "photos": total})
    accuracy = np.array([f["correct"] / f["photos"] for f in folds])
    return {
        "variant": name,
        "folds": folds,
        "mean": accuracy.mean(),
        "std": accuracy.std(),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=Path, required=True)
    parser.add_argument("--classes", default="letters")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="signlens-loso-"))
    print(f"leave-one-signer-out, classes={args.classes}, end to end (misses count as errors)")
    for name in args.variants.split(","):
        result = run_variant(args.landmarks, name, VARIANTS[name], args.classes, work)
        per_fold = "  ".join(f"{f['signer']} {100 * f['correct'] / f['photos']:.1f}" for f in result["folds"])
        print(
            f"{name:<24} {100 * result['mean']:.2f} +- {100 * result['std']:.2f}   [{per_fold}]  {result['seconds']:.0f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
