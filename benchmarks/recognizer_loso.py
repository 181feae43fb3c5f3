"""Leave-one-signer-out comparison of hand-landmark recognisers on the ayuraj photos, end to end.

Every photo of the held-out signer counts: a photo where MediaPipe found no hand is an error, like a
wrong letter. Model selection inside a fold uses a validation split of the other signers (grouped by
take), never the held-out signer.

    SIGNLENS_DATA=../shared/data python benchmarks/recognizer_loso.py --landmarks runs/asl_landmarks.npz \
        [--variants world,mask-cnn] [--ensembles world-mirror+mask-cnn] [--keep DIR]
(the landmark file comes from `signlens landmarks extract --data asl-dataset --views photo,mirrored
--out FILE`; with the mirrored view, both readings of a photo train together and are averaged when it
is scored, as `predict` does, and a photo whose own view shows no hand is a miss).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from signlens.data import load_data, stratified_split
from signlens.data.landmarks import load_landmark_file, photo_coverage
from signlens.engine import Trainer, build_config
from signlens.engine.ensemble import ensemble_checkpoint
from signlens.engine.metrics import confusion_matrix, handshape_accuracy
from signlens.evaluation.views import per_photo
from signlens.inference import LandmarkClassifier

VARIANTS = {
    "world": {},
    "world-rotation-free": {"landmarks": {"rotation_free": True}},
    "image": {"landmarks": {"points": "image"}},
    "both": {"landmarks": {"points": "both"}},
    "world-mirror": {"landmarks": {"mirror": 0.5}},
    "world-mirror-seed1": {"seed": 1, "landmarks": {"mirror": 0.5}},
    # The seed's landmark-mask image (fingers in their own channels, plus depth) under a small CNN.
    "mask-cnn": {"model": "fast-cnn", "landmarks": {"form": "mask", "mirror": 0.5}},
    "mask-cnn-seed1": {"model": "fast-cnn", "seed": 1, "landmarks": {"form": "mask", "mirror": 0.5}},
    "mask-cnn-48px": {"model": "fast-cnn", "landmarks": {"form": "mask", "mask_size": 48, "mirror": 0.5}},
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


def held_out_data(file: Path, classes: str):
    """(samples, signer per sample, photos whose own view shows a hand, signer per photo where `predict`
    finds no hand) for the class selection."""
    samples = load_data(f"landmarks:{file}", classes=classes).train
    in_photo, missed = photo_coverage(load_landmark_file(file), samples.class_names)
    return (
        samples,
        np.array([signer_of(s) for s in samples.sources]),
        in_photo,
        [signer_of(s) for s in missed],
    )


def run_variant(file: Path, name: str, overrides: dict, classes: str, work: Path) -> float:
    """Train one model per held-out signer into work/<name>-<signer>/ (reusing finished folds when
    --keep points at an earlier run); returns the seconds spent training."""
    overrides = {**BASE, **overrides, "classes": classes}
    config = build_config(
        f"landmarks:{file}", model=overrides.pop("model", "landmark-mlp"), overrides=overrides
    )
    samples = load_data(config.data, landmark_points=config.landmarks.points, classes=classes).train
    signers = np.array([signer_of(s) for s in samples.sources])
    start = time.perf_counter()
    for signer in sorted(set(signers)):
        done = work / f"{name}-{signer}" / "fold.done"
        if done.exists():  # written only after a fold finishes: a fold killed mid-training is redone
            continue
        rest_set = samples.subset(np.flatnonzero(signers != signer))
        keep, val = stratified_split(rest_set.labels, 0.15, 0, rest_set.groups)
        splits = (
            rest_set.subset(keep),
            rest_set.subset(val),
            samples.subset(np.flatnonzero(signers == signer)),
        )
        trainer = Trainer(config, work / f"{name}-{signer}", progress=False, splits=splits)
        trainer.fit()
        done.touch()  # best.pt is final: --keep may reuse it
    return time.perf_counter() - start


def score(file: Path, members: list[str], classes: str, work: Path) -> dict:
    """End-to-end accuracy per held-out signer of one variant, or of several averaged (an ensemble:
    mean log-probabilities, each member with its own mirrored TTA, as the shipped recogniser does)."""
    samples, signers, in_photo, missed = held_out_data(file, classes)
    folds = []
    for signer in sorted(set(signers)):
        index = [i for i in np.flatnonzero(signers == signer) if samples.sources[i] in in_photo]
        runs = [work / f"{name}-{signer}" / "best.pt" for name in members]
        classifier = LandmarkClassifier.from_checkpoint(ensemble_checkpoint(runs))
        # Views of one photo (the photo and its mirror image) are averaged into one answer, as predict does.
        logits, truth, _ = per_photo(
            classifier.logits(samples.images[index]),
            samples.labels[index],
            [samples.sources[i] for i in index],
        )
        predicted = logits.argmax(1)
        photos = len(truth) + missed.count(signer)
        fold = {"signer": signer, "correct": int((predicted == truth).sum()), "photos": photos}
        # 0/O, 2/V, 6/W share one handshape: with --classes all, also count a swap within a pair as right.
        confusion = confusion_matrix(truth, predicted, len(samples.class_names))
        merged = handshape_accuracy(confusion, samples.class_names)  # over the photos with a hand
        if merged is not None:
            fold["handshape"] = merged * len(truth) / photos
        folds.append(fold)
    accuracy = np.array([f["correct"] / f["photos"] for f in folds])
    result = {"folds": folds, "mean": accuracy.mean(), "std": accuracy.std(ddof=1)}  # sample std, as cv
    if all("handshape" in f for f in folds):
        handshape = np.array([f["handshape"] for f in folds])
        result["handshape"] = (handshape.mean(), handshape.std(ddof=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=Path, required=True)
    parser.add_argument("--classes", default="letters")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--ensembles", default="", help="also score these averages of variants, e.g. mask-cnn+world,..."
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) fold runs here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="signlens-loso-"))
    print(
        f"leave-one-signer-out, classes={args.classes}, end to end (misses count as errors); "
        "sample std over signers"
    )
    rows = [(name, [name]) for name in args.variants.split(",") if name]
    rows += [(spec, spec.split("+")) for spec in args.ensembles.split(",") if spec]
    seconds = {}
    for name, members in rows:
        for member in members:
            if member not in seconds:
                seconds[member] = run_variant(args.landmarks, member, VARIANTS[member], args.classes, work)
        result = score(args.landmarks, members, args.classes, work)
        per_fold = "  ".join(f"{f['signer']} {100 * f['correct'] / f['photos']:.1f}" for f in result["folds"])
        took = f"{seconds[name]:.0f}s" if name in seconds else "ensemble"
        merged = (
            "  handshape {:.2f} +- {:.2f}".format(*(100 * x for x in result["handshape"]))
            if "handshape" in result
            else ""
        )
        print(
            f"{name:<40} {100 * result['mean']:.2f} +- {100 * result['std']:.2f}{merged}   [{per_fold}]  {took}",
            flush=True,
        )


if __name__ == "__main__":
    main()
