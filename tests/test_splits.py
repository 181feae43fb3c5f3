"""signlens draws its own splits (so published figures keep their draws); scikit-learn is the field's
reference, and these properties hold them to it on label and group layouts that hypothesis draws.

The examples are derandomised and bounded: the same draws on every run (CI included), a few seconds."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, StratifiedShuffleSplit

from signlens.data import stratified_split
from signlens.evaluation.cv import make_folds, validation_split

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def layouts(draw) -> tuple[np.ndarray, int]:
    """Shuffled labels of 2-7 classes with 4-59 samples each, and the seed that shuffled them."""
    counts = draw(st.lists(st.integers(4, 59), min_size=2, max_size=7))
    seed = draw(SEEDS)
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts)), seed


def takes(labels: np.ndarray, seed: int) -> list[str]:
    """Class-pure groups of a few samples each, as takes of one sign are."""
    rng = np.random.default_rng(seed)
    return [f"{y}-{int(rng.integers(0, 6))}" for y in labels]


def assert_partition(parts: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n  # disjoint and covering


def assert_same_draws(first: list[np.ndarray], again: list[np.ndarray]) -> None:
    assert len(first) == len(again) and all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


@PROPERTY
@given(layouts(), st.floats(0.05, 0.3))
def test_holdout_holds_out_each_classs_share_as_stratified_shuffle_split_does(layout, fraction):
    labels, seed = layout
    keep, held = stratified_split(labels, fraction, seed)
    assert_partition([keep, held], len(labels))
    assert_same_draws([keep, held], list(stratified_split(labels, fraction, seed)))
    classes = np.unique(labels)
    # scikit-learn refuses a test part smaller than the number of classes (signlens holds out one each).
    reference = len(labels) * fraction >= len(classes)
    if reference:
        split = StratifiedShuffleSplit(1, test_size=fraction, random_state=seed)
        _, ref_held = next(split.split(np.zeros(len(labels)), labels))
    for cls in classes:
        size, ours = int((labels == cls).sum()), int((labels[held] == cls).sum())
        assert abs(ours - fraction * size) <= 1, (cls, ours, size)  # the class's share, to one sample
        if reference:
            theirs = int((labels[ref_held] == cls).sum())
            assert abs(ours - theirs) <= 1, (cls, ours, theirs)  # as scikit-learn draws it
        assert 1 <= ours < size  # every class is tested, and none loses all its training samples


@PROPERTY
@given(layouts(), st.floats(0.05, 0.3))
def test_grouped_holdout_keeps_takes_whole_and_holds_out_some_of_each_class(layout, fraction):
    labels, seed = layout
    groups = takes(labels, seed)
    keep, held = stratified_split(labels, fraction, seed, groups)
    assert_partition([keep, held], len(labels))
    assert_same_draws([keep, held], list(stratified_split(labels, fraction, seed, groups)))
    assert not {groups[i] for i in keep} & {groups[i] for i in held}  # no take on both sides
    for cls in np.unique(labels):
        names = {g for g, y in zip(groups, labels, strict=True) if y == cls}
        chosen = {groups[i] for i in held if labels[i] == cls}
        if len(names) > 1:
            assert 1 <= len(chosen) < len(names)  # each class holds out some, never all, of its takes
            assert abs(len(chosen) - fraction * len(names)) <= 1  # its share of takes, to one


@PROPERTY
@given(layouts(), st.integers(2, 5))
def test_folds_hold_each_class_evenly_as_stratified_k_fold_does(layout, k):
    labels, seed = layout
    folds = make_folds(labels, None, k, seed)
    assert len(folds) == k
    assert_partition(folds, len(labels))
    assert_same_draws(folds, make_folds(labels, None, k, seed))
    reference = [
        test for _, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels)
    ]
    classes = labels.max() + 1
    ours = np.array([np.bincount(labels[f], minlength=classes) for f in folds])
    theirs = np.array([np.bincount(labels[f], minlength=classes) for f in reference])
    # Per class, every fold holds n/k of it to within one: the same counts scikit-learn gives.
    assert (ours.max(0) - ours.min(0) <= 1).all(), ours
    assert (np.sort(ours, axis=0) == np.sort(theirs, axis=0)).all(), (ours, theirs)
    # The remainders rotate: no fold takes one sample more of every class.
    sizes = ours.sum(1)
    assert sizes.max() - sizes.min() <= 1, sizes


@PROPERTY
@given(layouts(), st.integers(3, 6))
def test_signer_folds_are_leave_one_group_out_and_validation_takes_whole_signers(layout, k):
    labels, seed = layout
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, k, size=len(labels))
    ids[:k] = np.arange(k)  # every signer signs something; some far more than others
    signers = [f"hand{i}" for i in ids]
    # Signers sign several letters (groups holding one class each are takes: folds balanced per class).
    assume(any(len(set(labels[ids == i])) > 1 for i in range(k)))
    folds = make_folds(labels, signers, k, seed)
    reference = LeaveOneGroupOut().split(labels, labels, signers)
    assert sorted(map(tuple, folds)) == sorted(tuple(test) for _, test in reference)
    # The validation part of a fold's training signers is whole signers too, never all of them.
    train = np.setdiff1d(np.arange(len(labels)), folds[0])
    part = [signers[i] for i in train]
    keep, val = validation_split(labels[train], part, 0.15, seed)
    assert_partition([keep, val], len(train))
    assert_same_draws([keep, val], list(validation_split(labels[train], part, 0.15, seed)))
    assert not {part[i] for i in keep} & {part[i] for i in val}
    assert len(keep) > 0
