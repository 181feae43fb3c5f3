"""signlens draws its own splits (so published figures keep their draws); scikit-learn is the field's
reference, and these properties hold them to it on many random label and group layouts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, StratifiedShuffleSplit

from signlens.data import stratified_split
from signlens.evaluation.cv import make_folds, validation_split

LAYOUTS = range(25)


def random_labels(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 8))
    counts = rng.integers(4, 60, size=classes)
    return rng.permutation(np.repeat(np.arange(classes), counts))


def assert_partition(parts: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n  # disjoint and covering


@pytest.mark.parametrize("seed", LAYOUTS)
def test_holdout_matches_stratified_shuffle_split_per_class(seed):
    labels = random_labels(seed)
    fraction = [0.05, 0.1, 0.2, 0.3][seed % 4]
    keep, held = stratified_split(labels, fraction, seed)
    assert_partition([keep, held], len(labels))
    ref_keep, ref_held = next(
        StratifiedShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(len(labels)), labels)
    )
    for cls in np.unique(labels):
        ours, theirs = (int((labels[h] == cls).sum()) for h in (held, ref_held))
        assert abs(ours - theirs) <= 1, (cls, ours, theirs)  # the same share of every class
        assert (labels[keep] == cls).sum() > 0  # no class loses all its training samples


@pytest.mark.parametrize("seed", LAYOUTS)
def test_grouped_holdout_keeps_groups_whole(seed):
    labels = random_labels(seed)
    rng = np.random.default_rng(seed)
    # Class-pure groups of 1-6 samples, as takes are: a group never straddles the split.
    groups = [f"{y}-{int(rng.integers(0, 6))}" for y in labels]
    keep, held = stratified_split(labels, 0.2, seed, groups)
    assert_partition([keep, held], len(labels))
    assert not {groups[i] for i in keep} & {groups[i] for i in held}
    for cls in np.unique(labels):
        names = {g for g, y in zip(groups, labels, strict=True) if y == cls}
        chosen = {groups[i] for i in held if labels[i] == cls}
        if len(names) > 1:
            assert 1 <= len(chosen) < len(names)  # each class holds out some, never all, of its groups


@pytest.mark.parametrize("seed", LAYOUTS)
def test_folds_match_stratified_k_fold_per_class(seed):
    labels = random_labels(seed)
    k = 2 + seed % 4
    if np.bincount(labels).min() < k:
        labels = np.concatenate([labels, np.repeat(np.arange(labels.max() + 1), k)])
    folds = make_folds(labels, None, k, seed)
    assert_partition(folds, len(labels))
    reference = [
        test for _, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels)
    ]
    ours = sorted(np.bincount(labels[f], minlength=labels.max() + 1).tolist() for f in folds)
    theirs = sorted(np.bincount(labels[f], minlength=labels.max() + 1).tolist() for f in reference)
    # Per class, every fold holds n/k of it to within one, in signlens and in scikit-learn alike.
    for table in (ours, theirs):
        counts = np.array(table)
        assert (counts.max(0) - counts.min(0) <= 1).all()


@pytest.mark.parametrize("seed", range(10))
def test_signer_folds_are_leave_one_group_out(seed):
    labels = random_labels(seed)
    rng = np.random.default_rng(seed)
    signers = [f"hand{int(s)}" for s in rng.integers(1, 6, size=len(labels))]
    k = len(set(signers))
    folds = make_folds(labels, signers, k, seed)
    reference = LeaveOneGroupOut().split(labels, labels, signers)
    assert sorted(map(tuple, folds)) == sorted(tuple(test) for _, test in reference)
    # The validation part of a fold's training signers is whole signers too.
    train = np.setdiff1d(np.arange(len(labels)), folds[0])
    part = [signers[i] for i in train]
    keep, val = validation_split(labels[train], part, 0.15, seed)
    assert_partition([keep, val], len(train))
    assert not {part[i] for i in keep} & {part[i] for i in val}
