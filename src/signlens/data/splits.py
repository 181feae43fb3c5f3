"""Stratified (optionally grouped) holdout splits."""

from __future__ import annotations

import numpy as np

from signlens.errors import SignlensError


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int, groups: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout) with about `fraction` of each class held out.

    With `groups`, whole groups move together (near-duplicate crops of one take never straddle the
    split); groups are drawn per class, so each class still loses about `fraction` of its images.
    """
    rng = np.random.default_rng(seed)
    holdout: list[int] = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if groups is None:
            count = int(round(fraction * len(members)))
            if len(members) > 1:
                count = min(max(count, 1), len(members) - 1)
            holdout.extend(rng.permutation(members)[:count].tolist())
            continue
        names = sorted({groups[i] for i in members})
        count = min(max(int(round(fraction * len(names))), 1), max(len(names) - 1, 0))
        chosen = set(rng.permutation(names)[:count].tolist())
        holdout.extend(i for i in members if groups[i] in chosen)
    mask = np.zeros(len(labels), dtype=bool)
    mask[holdout] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def split_bundle(bundle, val_fraction: float, test_fraction: float, split_seed: int):
    """(train, val, test) ImageSets. The official test set is used as is; data without one gets a
    held-out test split (grouped by take where known) drawn before the validation split."""
    if bundle.train is None:
        raise SignlensError(f"data '{bundle.name}' has no training split (it is an evaluation-only file)")
    train, test = bundle.train, bundle.test
    if test is None:
        keep, held = stratified_split(train.labels, test_fraction, split_seed, train.groups)
        train, test = train.subset(keep), train.subset(held)
    keep, held = stratified_split(train.labels, val_fraction, split_seed + 1, train.groups)
    train, val = train.subset(keep), train.subset(held)
    require_samples(bundle.name, train, val, test)
    return train, val, test


def require_samples(name: str, train, val, test) -> None:
    """Training needs two samples (batch norm cannot normalise one), selection and scoring one each; a
    data set too small for that is refused with its counts rather than failing deep in the trainer."""
    if len(train) < 2 or len(val) < 1 or (test is not None and len(test) < 1):
        raise SignlensError(
            f"data '{name}' is too small to split: {len(train)} training, {len(val)} validation and "
            f"{0 if test is None else len(test)} test samples (training needs 2, the others 1 each); "
            "add images (from more than one take per class)"
        )
