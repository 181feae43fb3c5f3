"""Build the bundled recogniser (src/signlens/assets/recognizer.pt) from the shared ayuraj photos.

1. Extract MediaPipe hand landmarks from every photo (or reuse --landmarks FILE).
2. Leave-one-signer-out CV of each member recipe (the landmark-mlp and the skeleton-mask CNN): the
   honest accuracy on unseen signers, end to end (photos where no hand is found count as errors), for
   each member and for their ensemble, and the ensemble's out-of-fold logits.
3. Fit the calibration temperature on those out-of-fold logits, so confidences hold for new signers.
4. Train every member on all five signers and write the ensemble, with its calibration, into the package.

    SIGNLENS_DATA=../shared/data .venv/bin/python scripts/build_recognizer.py [--out PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from signlens.data import load_data, stratified_split
from signlens.data.landmarks import load_landmark_file, photo_coverage
from signlens.engine import Trainer, build_config
from signlens.engine.checkpoint import save_checkpoint
from signlens.engine.config import RECOGNIZER_ENSEMBLE
from signlens.engine.ensemble import ensemble_checkpoint
from signlens.evaluation.calibration import expected_calibration_error, fit_temperature
from signlens.evaluation.cv import SIGNER_PATTERN, run_cv, sample_groups
from signlens.evaluation.views import per_photo
from signlens.inference import LandmarkClassifier
from signlens.io import write_json
from signlens.pipeline.extract import VIEWS, extract_landmarks

PACKAGE_MODEL = Path(__file__).resolve().parents[1] / "src" / "signlens" / "assets" / "recognizer.pt"


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def member_config(spec: str, member: str, classes: str, threads: int):
    """A member is RECIPE or RECIPE@SEED (the same recipe with another seed is another member)."""
    recipe, _, seed = member.partition("@")
    overrides = {"classes": classes, "threads": threads, **({"seed": int(seed)} if seed else {})}
    return build_config(spec, recipe=recipe, overrides=overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="asl-dataset")
    parser.add_argument(
        "--landmarks", type=Path, default=None, help="reuse a landmark file instead of extracting"
    )
    parser.add_argument("--classes", default="letters")
    parser.add_argument("--work", type=Path, default=Path("runs/recognizer"))
    parser.add_argument("--out", type=Path, default=PACKAGE_MODEL)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--recipes",
        default=",".join(RECOGNIZER_ENSEMBLE),
        help="members, RECIPE[@SEED] each (one: no ensemble)",
    )
    args = parser.parse_args()

    landmarks = args.landmarks or args.work / "landmarks.npz"
    if args.landmarks is None:
        report = extract_landmarks(args.data, landmarks, views=VIEWS)
        print(f"landmarks: {report['num_detected']}/{report['num_images']} photos with a hand")
    spec = f"landmarks:{landmarks}"
    recipes = args.recipes.split(",")
    configs = [member_config(spec, r, args.classes, args.threads) for r in recipes]

    # Leave-one-signer-out: each fold holds out one hand's photos (the same folds for every member).
    cvs = [
        run_cv(c, args.work / "loso" / r, folds=5, group_by="signer")
        for r, c in zip(recipes, configs, strict=True)
    ]
    samples = load_data(spec, landmark_points=configs[0].landmarks.points, classes=args.classes).train
    signers = np.array(sample_groups(samples, "signer", SIGNER_PATTERN))
    raw = load_landmark_file(landmarks)
    views = sorted({str(v) for v in raw.get("views", ["photo"])}, key=VIEWS.index)  # plain str: weights_only
    in_photo, missed = photo_coverage(raw, samples.class_names)
    missed = [Path(m).name for m in missed]
    logits, labels, folds = [], [], []
    member_correct = {r: 0 for r in recipes}
    for records in zip(*(cv["folds"] for cv in cvs), strict=True):
        (signer,) = records[0]["held_out_groups"]
        assert all(r["held_out_groups"] == [signer] for r in records), "members' folds differ"
        index = np.array([i for i in np.flatnonzero(signers == signer) if samples.sources[i] in in_photo])
        sources = [samples.sources[i] for i in index]
        runs = [Path(r["run_dir"]) / "best.pt" for r in records]
        for recipe, run in zip(recipes, runs, strict=True):
            alone = LandmarkClassifier.from_checkpoint(run).logits(samples.images[index])
            alone, truth, _ = per_photo(alone, samples.labels[index], sources)
            member_correct[recipe] += int((alone.argmax(1) == truth).sum())
        # The ensemble, views and test-time augmentation the recogniser applies, so the temperature
        # fits what ships: one row per photo, its views' log-probabilities averaged.
        fold_logits = LandmarkClassifier.from_checkpoint(ensemble_checkpoint(runs)).logits(
            samples.images[index]
        )
        fold_logits, truth, _ = per_photo(fold_logits, samples.labels[index], sources)
        logits.append(fold_logits)
        labels.append(truth)
        misses = sum(signer in m.lower() for m in missed)
        correct = int((fold_logits.argmax(1) == truth).sum())
        folds.append(
            {"signer": signer, "correct": correct, "photos": len(fold_logits) + misses, "no_hand": misses}
        )
    logits, labels = np.concatenate(logits), np.concatenate(labels)
    temperature = fit_temperature(logits, labels)
    before, after = softmax(logits), softmax(logits / temperature)
    end_to_end = np.array([f["correct"] / f["photos"] for f in folds])
    confident = after.max(1) >= 0.7
    calibration = {
        "temperature": temperature,
        "fitted_on": "out-of-fold logits, leave-one-signer-out on the ayuraj photos",
        "ece_before": expected_calibration_error(before, labels),
        "ece_after": expected_calibration_error(after, labels),
        "loso_end_to_end_mean": float(end_to_end.mean()),
        "loso_end_to_end_std": float(end_to_end.std(ddof=1)),
        "loso_folds": folds,
        "members": recipes,
        "loso_pooled_accuracy_per_member": {
            r: n / sum(f["photos"] for f in folds) for r, n in member_correct.items()
        },
        "coverage_at_0.7": float(confident.mean()),
        "accuracy_when_confident": float((after.argmax(1) == labels)[confident].mean()),
        # Detected photos answered, and right when answered, at each confidence threshold.
        "thresholds": {
            f"{t:.1f}": {
                "answered": float((after.max(1) >= t).mean()),
                "right_when_answered": float((after.argmax(1) == labels)[after.max(1) >= t].mean()),
            }
            for t in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8)
        },
    }

    # The shipped members: all five signers, validation by whole takes for the best epoch.
    finals = []
    for recipe, config in zip(recipes, configs, strict=True):
        keep, val = stratified_split(samples.labels, config.val_fraction, config.split_seed, samples.groups)
        final_dir = args.work / "final" / recipe
        trainer = Trainer(
            config, final_dir, progress=False,
            splits=(samples.subset(keep), samples.subset(val), samples.subset(val)),
        )  # fmt: skip
        trainer.fit()
        finals.append(final_dir / "best.pt")
    payload = ensemble_checkpoint(finals)
    payload["calibration"] = calibration
    payload["views"] = calibration["views"] = views
    save_checkpoint(args.out, payload)
    write_json(args.work / "report.json", calibration)
    print(json.dumps({k: v for k, v in calibration.items() if k != "loso_folds"}, indent=2))
    print(
        "per signer (end to end): " + ", ".join(f"{f['signer']} {f['correct']}/{f['photos']}" for f in folds)
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
