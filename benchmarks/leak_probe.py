"""Leak probe: how far does remembering the training photos go on each kind of split?

A 1-nearest-neighbour classifier on raw pixels learns nothing about hands; it answers with the label of
the most similar training photo. On the ayuraj photos it is scored on the very folds `signlens cv`
draws (same seed): stratified 5-fold, take-grouped 5-fold, and leave-one-signer-out. Where it scores
high, the split rewards memory, and a trained model's score there says little about new signers.

    SIGNLENS_DATA=../shared/data python benchmarks/leak_probe.py [--img-size 32] [--in-chans 1]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from signlens.data import load_data
from signlens.engine.metrics import confusion_matrix, handshape_accuracy
from signlens.evaluation.cv import make_folds, sample_groups

SPLITS = ("none", "take", "signer")


def nearest_neighbour_labels(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Label of the closest training image by Euclidean distance, per test image."""
    # |a - b|^2 = |a|^2 - 2ab + |b|^2; the test image's own norm does not change which b is nearest.
    distance = (train**2).sum(1)[None, :] - 2.0 * test @ train.T
    return train_labels[distance.argmin(1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--img-size", type=int, default=32)
    parser.add_argument("--in-chans", type=int, default=1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="fold seed (signlens cv's split_seed)")
    args = parser.parse_args()
    if "SIGNLENS_DATA" not in os.environ:
        sys.exit("set SIGNLENS_DATA (e.g. ../shared/data)")
    samples = load_data("asl-dataset", args.img_size, args.in_chans).train
    pixels = samples.images.reshape(len(samples), -1).astype(np.float32) / 255.0
    pixels -= pixels.mean(1, keepdims=True)  # brightness offsets say nothing about the sign
    labels, names = np.asarray(samples.labels), list(samples.class_names)
    print(
        f"1-NN on {args.img_size} px, {args.in_chans} channel(s), {len(labels)} photos, {len(names)} classes"
    )
    print("| split | accuracy (mean +- std over folds) | handshape accuracy |")
    print("| --- | ---: | ---: |")
    for group_by in SPLITS:
        groups = sample_groups(samples, group_by, None)
        accuracy, handshape = [], []
        for test in make_folds(labels, groups, args.folds, args.seed):
            train = np.setdiff1d(np.arange(len(labels)), test)
            predicted = nearest_neighbour_labels(pixels[train], labels[train], pixels[test])
            confusion = confusion_matrix(labels[test], predicted, len(names))
            accuracy.append(np.trace(confusion) / len(test))
            handshape.append(handshape_accuracy(confusion, names))
        name = {"none": "stratified", "take": "grouped by take", "signer": "leave-one-signer-out"}[group_by]
        print(
            f"| {name} | {100 * np.mean(accuracy):.2f} +- {100 * np.std(accuracy, ddof=1):.2f}% | "
            f"{100 * np.mean(handshape):.2f} +- {100 * np.std(handshape, ddof=1):.2f}% |"
        )


if __name__ == "__main__":
    main()
