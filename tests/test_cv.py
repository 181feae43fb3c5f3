"""Cross-validation folds, grouping, the cv verb end to end, and the leakage audit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from signlens.data import ImageSet, load_data
from signlens.errors import SignlensError
from signlens.evaluation.audit import audit_splits
from signlens.evaluation.cv import make_folds, sample_groups, validation_split


def test_stratified_folds_partition_the_data_and_balance_classes():
    labels = np.repeat(np.arange(4), [10, 10, 11, 7])
    folds = make_folds(labels, None, 5, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))
    per_class = np.array([np.bincount(labels[f], minlength=4) for f in folds])
    assert (per_class.max(0) - per_class.min(0) <= 1).all()
    assert max(map(len, folds)) - min(map(len, folds)) <= 1


def test_grouped_folds_keep_each_group_on_one_side():
    rng = np.random.default_rng(0)
    # Takes (one class each) of uneven sizes, and signers that cover every class.
    labels = np.repeat(np.arange(6), 20)
    takes = [f"hand{i % 4}_{y}_{'abcde'[i % 5]}" for i, y in enumerate(labels)]
    signers = [f"hand{i}" for i in rng.integers(0, 5, len(labels))]
    for groups, k in ((takes, 3), (signers, 5)):
        folds = make_folds(labels, groups, k, seed=1)
        owner = {}
        for number, fold in enumerate(folds):
            for i in fold:
                assert owner.setdefault(groups[i], number) == number
        assert sorted(np.concatenate(folds).tolist()) == list(range(len(labels)))
    signer_folds = make_folds(labels, signers, 5, seed=1)
    assert sorted(len({signers[i] for i in f}) for f in signer_folds) == [1] * 5  # leave-one-signer-out
    take_folds = make_folds(labels, takes, 3, seed=1)
    assert all(len(np.unique(labels[f])) == 6 for f in take_folds)  # every class in every fold
    with pytest.raises(SignlensError, match="6 folds need at least 6 groups"):
        make_folds(labels, signers, 6, seed=0)


def test_validation_inside_a_fold_is_grouped_like_the_folds():
    labels = np.tile(np.arange(3), 60)
    signers = [f"hand{i}" for i in np.repeat([1, 2, 3, 4], [90, 40, 30, 20])]
    train, val = validation_split(labels, signers, 0.1, seed=0)
    assert not {signers[i] for i in train} & {signers[i] for i in val}
    assert {signers[i] for i in val} == {"hand4"}  # no signer fits 10%: the smallest whole one
    takes = [f"t{i // 4}" for i in range(len(labels))]
    labels_by_take = np.repeat(np.arange(3), 60)
    train, val = validation_split(labels_by_take, takes, 0.2, seed=0)
    assert not {takes[i] for i in train} & {takes[i] for i in val}
    assert set(labels_by_take[val]) == {0, 1, 2}


def test_groups_come_from_file_names(tiny_folder):
    data = load_data(str(tiny_folder), 32, 1).train
    assert sorted(set(sample_groups(data, "signer", None))) == ["hand1", "hand2", "hand3"]
    assert sample_groups(data, "take", None) == data.groups
    views = sample_groups(data, "signer", r"_(top|bot)_seg")
    assert sorted(set(views)) == ["bot", "top"]
    assert sample_groups(data, "none", None) is None
    with pytest.raises(
        SignlensError, match="a/hand1_a_bot_seg_1_cropped.jpeg does not match pattern 'person"
    ):
        sample_groups(data, "signer", r"person\d")


def test_cv_verb_writes_folds_and_summary(tiny_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "cv"
    code, stdout, _ = run_cli(
        ["cv", "--data", tiny_folder, "--model", "fast-cnn", "--folds", 3, "--group-by", "signer",
         "--epochs", 2, "--img-size", 32, "--in-chans", 1, "--lr", 3e-3, "--threads", 1, "--out", out, "-q"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0 and "group by signer" in stdout
    result = json.loads((out / "cv.json").read_text())
    assert len(result["folds"]) == 3 and set(result["mean"]) >= {"accuracy", "macro_f1"}
    assert "handshape_accuracy" not in result["mean"] and result["same_handshape"] == []  # classes a, b, c
    accuracies = [f["accuracy"] for f in result["folds"]]
    assert result["mean"]["accuracy"] == pytest.approx(np.mean(accuracies))
    assert result["std"]["accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    assert sorted(h for f in result["folds"] for h in f["held_out_groups"]) == ["hand1", "hand2", "hand3"]
    assert sum(f["num_test"] for f in result["folds"]) == result["pooled"]["num_samples"] == 72
    for fold in result["folds"]:  # each fold trains on the two other signers, validating on one of them
        assert fold["num_train"] + fold["num_val"] + fold["num_test"] == 72
        assert {"metrics.json", "best.pt", "config.yaml"} <= {
            p.name for p in (out / f"fold{fold['fold']}").iterdir()
        }
    rows = (out / "predictions.csv").read_text().splitlines()[1:]
    for row in rows:
        number, source = row.split(",")[:2]
        assert source.split("/")[1].startswith(result["folds"][int(number) - 1]["held_out_groups"][0])
    assert (out / "confusion_matrix.png").stat().st_size > 0 and "mean +- std" in (out / "cv.md").read_text()
    code, _, err = run_cli(
        ["cv", "--data", tiny_folder, "--model", "fast-cnn", "--out", out], monkeypatch, capsys
    )
    assert code == 2 and "already holds files" in err


def test_audit_finds_near_duplicates_across_splits(tmp_path, tiny_csv_dir, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (3, 28, 28, 1)).astype(np.uint8)
    brighter = np.clip(base[:1].astype(int) + 20, 0, 255).astype(np.uint8)  # same photo, +20 brightness

    def images(array, labels):
        return ImageSet(array, np.array(labels), ["a", "b", "c"], [f"img{i}" for i in range(len(labels))])

    splits = {"train": images(base[:2], [0, 1]), "val": images(base[2:], [2]), "test": images(brighter, [0])}
    report, examples = audit_splits(splits, threshold=16)
    assert report["train-test"]["pairs"] == 1 and report["train-test"]["pairs_with_the_same_label"] == 1
    assert report["train-test"]["test_images_with_a_near_duplicate_in_train"] == 1
    assert report["train-val"]["pairs"] == 0 and report["val-test"]["pairs"] == 0
    assert examples == [("train", 0, "test", 0, examples[0][4])]

    code, stdout, _ = run_cli(["audit", "--data", tiny_csv_dir, "--out", tmp_path / "a"], monkeypatch, capsys)
    assert code == 0 and "train-test" in stdout
    result = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert result["sizes"] == {"train": 216, "val": 24, "test": 80} and result["split"] == "official test"

    # Named Sign MNIST audits the split its recipe trains on (val_fraction 0.05), not a default one.
    monkeypatch.setenv("SIGNLENS_DATA", str(tmp_path / "root"))
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "sign-mnist").symlink_to(tiny_csv_dir)
    code, _, _ = run_cli(["audit", "--data", "sign-mnist", "--out", tmp_path / "b"], monkeypatch, capsys)
    result = json.loads((tmp_path / "b" / "audit.json").read_text())
    assert code == 0 and result["config"]["recipe"] == "sign-mnist-fast"
    assert result["sizes"] == {"train": 228, "val": 12, "test": 80}  # 5% of 60 per class held out


def test_near_duplicate_groups_join_variants_of_one_photo_and_never_across_labels():
    from signlens.data.duplicates import near_duplicate_groups

    rng = np.random.default_rng(1)
    photos = rng.integers(0, 255, (3, 28, 28, 1)).astype(np.int64)
    # Each photo in three variants (brighter, lower contrast), as Sign MNIST expanded its sources;
    # photo 2 is photo 0 again under another label, which must not join photo 0's group.
    variants = [np.clip(p * c + b, 0, 255) for p in photos for c, b in ((1, 0), (1, 25), (0.8, 10))]
    images = np.stack(variants).astype(np.uint8)
    images[6:] = images[:3]
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    groups = near_duplicate_groups(images, labels)
    assert len(set(groups[:3])) == len(set(groups[3:6])) == len(set(groups[6:])) == 1
    assert len(set(groups)) == 3
    data = ImageSet(images, labels, ["a", "b", "c"], [f"row{i}" for i in range(9)])
    assert sample_groups(data, "duplicates", None) == groups
    landmarks = ImageSet(np.zeros((9, 21, 3), np.float32), labels, ["a", "b", "c"], data.sources)
    with pytest.raises(SignlensError, match="needs image data"):
        sample_groups(landmarks, "duplicates", None)


def test_evaluation_adds_handshape_accuracy_only_where_a_pair_is_present():
    from signlens.evaluation import evaluate_images

    class Fixed:  # answers 0 -> O, O -> O, b -> 0: one same-handshape swap, one real error
        def __init__(self, class_names):
            self.class_names = class_names

        def logits(self, images):
            return np.eye(3)[[1, 1, 0]]

    images = np.zeros((3, 8, 8, 1), np.uint8)
    pairs = ImageSet(images, np.array([0, 1, 2]), ["0", "O", "b"], ["a", "b", "c"])
    metrics, _ = evaluate_images(Fixed(["0", "O", "b"]), pairs)
    assert metrics["accuracy"] == pytest.approx(1 / 3) and metrics["handshape_accuracy"] == pytest.approx(
        2 / 3
    )
    plain = ImageSet(images, np.array([0, 1, 2]), ["a", "o", "b"], ["a", "b", "c"])
    assert "handshape_accuracy" not in evaluate_images(Fixed(["a", "o", "b"]), plain)[0]


def test_cv_reports_handshape_accuracy_that_matches_its_predictions(
    tiny_folder, tmp_path, monkeypatch, capsys
):
    (tiny_folder / "a").rename(tiny_folder / "0")  # classes 0, b, o: one same-handshape pair
    (tiny_folder / "c").rename(tiny_folder / "o")
    out = tmp_path / "cv"
    code, stdout, _ = run_cli(
        ["cv", "--data", tiny_folder, "--model", "fast-cnn", "--folds", 3, "--group-by", "signer",
         "--epochs", 1, "--img-size", 32, "--in-chans", 1, "--threads", 1, "--out", out, "-q"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0
    result = json.loads((out / "cv.json").read_text())
    assert result["same_handshape"][0] == ["0", "o"]
    rows = [line.split(",") for line in (out / "predictions.csv").read_text().splitlines()[1:]]
    for fold in result["folds"]:
        mine = [(label, guess) for number, _, label, guess in rows if int(number) == fold["fold"]]
        right = sum(label == guess or {label, guess} == {"0", "o"} for label, guess in mine)
        assert fold["handshape_accuracy"] == pytest.approx(right / len(mine))
        assert fold["handshape_accuracy"] >= fold["accuracy"]
    handshape = [f["handshape_accuracy"] for f in result["folds"]]
    assert result["mean"]["handshape_accuracy"] == pytest.approx(np.mean(handshape))
    assert "one ASL handshape each" in (out / "cv.md").read_text()
