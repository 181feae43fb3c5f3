"""Leave-one-signer-out on ayuraj's 36 classes: a photo CNN, the landmark ensemble, and the two averaged.

The photo model's folds come from `signlens cv --data asl-dataset --group-by signer --out CV_DIR`, the
landmark members' from `benchmarks/recognizer_loso.py --classes all --keep LOSO_DIR`; both hold out
one signer per fold, so for every held-out signer the two models have seen the same four others.
Every photo counts. Fused, a photo's answer averages the two models' log-probabilities with equal
weight (fixed before looking: nothing is tuned on held-out signers); where MediaPipe found no hand the
photo model answers alone.

    SIGNLENS_DATA=../shared/data python benchmarks/fusion_loso.py --cv runs/transfer/fast-signer \
        --landmarks runs/recognizer/landmarks-views.npz --loso runs/loso36 \
        --members world-mirror,world-mirror-seed1,mask-cnn,mask-cnn-seed1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from signlens.data import load_data
from signlens.data.landmarks import load_landmark_file, photo_coverage
from signlens.engine.ensemble import ensemble_checkpoint
from signlens.engine.metrics import confusion_matrix, handshape_accuracy
from signlens.evaluation.views import per_photo
from signlens.inference import LandmarkClassifier, load_classifier


def signer_of(source: str) -> str:
    match = re.search(r"hand\d+", Path(source).name)
    return match.group(0) if match else "unknown"


def held_out_data(file: Path, classes: str):
    """(samples, signer per sample, photos whose own view shows a hand) for the class selection."""
    samples = load_data(f"landmarks:{file}", classes=classes).train
    in_photo, _ = photo_coverage(load_landmark_file(file), samples.class_names)
    return samples, np.array([signer_of(s) for s in samples.sources]), in_photo


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=Path, required=True, help="signlens cv --group-by signer output folder")
    parser.add_argument("--landmarks", type=Path, required=True)
    parser.add_argument("--loso", type=Path, required=True, help="recognizer_loso.py --keep folder")
    parser.add_argument("--members", default="world-mirror,world-mirror-seed1,mask-cnn,mask-cnn-seed1")
    args = parser.parse_args()
    if "SIGNLENS_DATA" not in os.environ:
        sys.exit("set SIGNLENS_DATA (e.g. ../shared/data)")
    cv = json.loads((args.cv / "cv.json").read_text())
    if cv["group_by"] != "signer":
        sys.exit(f"{args.cv} was grouped by {cv['group_by']}, not by signer")
    points, point_signers, in_photo = held_out_data(args.landmarks, "all")
    photos = None
    photo_row = f"photo model ({cv['model']})"
    scores = {photo_row: [], "landmarks": [], "fused": []}
    for fold in cv["folds"]:
        signer = fold["held_out_groups"][0]
        model = load_classifier(Path(fold["run_dir"]) / "best.pt")
        names = [n.lower() for n in model.class_names]
        if photos is None:
            photos = load_data("asl-dataset", model.img_size, model.in_chans).train
        index = [i for i, s in enumerate(photos.sources) if signer_of(s) == signer]
        truth = np.asarray(photos.labels)[index]
        image_logp = log_softmax(model.logits(photos.images[index]))
        # The landmark ensemble, one answer per photo (its views averaged), in the photo model's class order.
        rows = [i for i in np.flatnonzero(point_signers == signer) if points.sources[i] in in_photo]
        runs = [args.loso / f"{member}-{signer}" / "best.pt" for member in args.members.split(",")]
        classifier = LandmarkClassifier.from_checkpoint(ensemble_checkpoint(runs))
        logits, _, sources = per_photo(
            classifier.logits(points.images[rows]), points.labels[rows], [points.sources[i] for i in rows]
        )
        order = [[n.lower() for n in classifier.class_names].index(n) for n in names]
        landmark_logp = dict(zip(sources, log_softmax(logits)[:, order], strict=True))
        found = np.array([photos.sources[i] in landmark_logp for i in index])
        hand_logp = np.stack([landmark_logp.get(photos.sources[i], np.zeros(len(names))) for i in index])
        answers = {
            photo_row: image_logp.argmax(1),
            "landmarks": np.where(found, hand_logp.argmax(1), -1),  # no hand found: wrong
            "fused": np.where(found[:, None], (image_logp + hand_logp) / 2, image_logp).argmax(1),
        }
        line = []
        for name, predicted in answers.items():
            confusion = confusion_matrix(truth[predicted >= 0], predicted[predicted >= 0], len(names))
            right = np.trace(confusion)
            merged = handshape_accuracy(confusion, names) * confusion.sum()
            scores[name].append((right / len(truth), merged / len(truth)))
            line.append(f"{name} {100 * right / len(truth):.1f}")
        print(
            f"{signer}: {len(truth)} photos, {int(found.sum())} with a hand; " + ", ".join(line), flush=True
        )
    print(f"\nleave-one-signer-out, 36 classes, photo model {cv['model']} from {args.cv}; mean +- sample std")
    print("| model | accuracy | handshape accuracy (0/O, 2/V, 6/W merged) |")
    print("| --- | ---: | ---: |")
    for name, values in scores.items():
        accuracy, handshape = np.array(values).T * 100
        print(
            f"| {name} | {accuracy.mean():.2f} +- {accuracy.std(ddof=1):.2f}% | "
            f"{handshape.mean():.2f} +- {handshape.std(ddof=1):.2f}% |"
        )


if __name__ == "__main__":
    main()
