"""Held-out figures (study.recognizer.holdout): each signer answered by the rule chosen without it, the replay of
predict's rule, the community set's signers and sources, and leave-one-source-out grouping."""

from __future__ import annotations

import numpy as np
import pytest

from signlens.data.photo_sets import (
    LETTERS,
    excluded_because,
    list_photo_set,
    signer_of_source,
    source_of_signer,
)
from signlens.pipeline.answer import AnswerRule
from signlens.study.recognizer.holdout import by_source, nested_loso, replay
from signlens.study.recognizer.loso import Readings, calibration_record

MEMBERS = ["recognizer:both-e20"]
SIGNERS = ["hand1", "hand2", "user_3", "user_4", "mariia", "ahmed"]


def fake_folds(seed: int = 0, noise: float = 1.5) -> list[dict]:
    """Held-out logits of six signers: the true letter lifted by a signer-specific margin."""
    rng = np.random.default_rng(seed)
    folds = []
    for k, signer in enumerate(SIGNERS):
        n = 120
        labels = rng.integers(0, len(LETTERS), n)
        first = rng.normal(0, noise, (n, len(LETTERS))).astype(np.float32)
        first[np.arange(n), labels] += 2.0 + 0.4 * k
        second = first + rng.normal(0, 0.5, first.shape).astype(np.float32)
        second[::3] = np.nan  # no second reading of every third photo
        folds.append({
            "signer": signer, "first": first, "second": second, "labels": labels,
            "sources": [f"{signer}/{i}" for i in range(n)], "scores": np.full(n, 0.9, np.float32),
        })  # fmt: skip
    return folds


def test_replaying_the_records_own_rule_gives_its_figures():
    folds, misses = fake_folds(), {"hand1": 3, "mariia": 2}
    record = calibration_record(folds, misses, MEMBERS)
    rule = AnswerRule.from_record(record)
    right = answered = right_answered = 0
    for fold in folds:
        probs, ans = replay(fold, rule)
        ok = probs.argmax(1) == fold["labels"]
        right, answered, right_answered = (
            right + ok.sum(),
            answered + ans.sum(),
            right_answered + (ok & ans).sum(),
        )
    assert right / record["photos"] == pytest.approx(record["loso_top1"])
    assert answered / record["photos"] == pytest.approx(record["loso_answered"])
    assert right_answered / record["photos"] == pytest.approx(record["loso_right"])


def test_the_build_answers_each_photo_as_the_recogniser_does_one_at_a_time():
    """The build replays the answer rule on every photo at once; `Recognizer` calls the same function on
    one photo, reading the hand twice and asking the pixel member only where the rule asks. Both give the
    same bits, so the figures the build records are the answers predict gives."""
    from signlens.pipeline.answer import AnswerRule, Fusion, answer

    fold = fake_folds(seed=3)[0]
    rng = np.random.default_rng(3)
    fold["pixel"] = rng.normal(0, 2, fold["first"].shape).astype(np.float32)
    fold["pixel"][::5] = np.nan  # no crop of these photos
    fold["scores"] = rng.uniform(0.5, 1.0, len(fold["labels"])).astype(np.float32)
    rule = AnswerRule(0.8, second_below=0.7, threshold=0.6, min_hand_score=0.65, fusion=Fusion(0.4, 0.9, 0.6))
    probs, answered = replay(fold, rule)
    stages = {"twice": 0, "fused": 0}
    for i in range(len(probs)):
        first, score = fold["first"][i : i + 1], fold["scores"][i : i + 1]
        one = answer(first, None, None, score, rule)
        second = fold["second"][i : i + 1] if one.asks_second[0] else None
        if second is not None and not np.isnan(second).any():
            one = answer(first, second, None, score, rule)
            stages["twice"] += 1
        if one.asks_pixels[0] and not np.isnan(fold["pixel"][i]).any():
            one = answer(first, second, fold["pixel"][i : i + 1], score, rule)
            stages["fused"] += 1
        assert np.array_equal(one.probs[0], probs[i]) and one.answered[0] == answered[i], i
    assert stages["twice"] > 5 and stages["fused"] > 5 and 0 < answered.sum() < len(answered)


def test_a_signers_rule_is_chosen_without_its_own_photos():
    folds = fake_folds()
    before = nested_loso(folds, {}, MEMBERS)
    spoiled = fake_folds()
    target = next(f for f in spoiled if f["signer"] == "ahmed")
    target["first"] = np.roll(target["first"], 1, axis=1)  # every answer of this signer now wrong
    target["second"] = np.roll(target["second"], 1, axis=1)
    after = nested_loso(spoiled, {}, MEMBERS)
    row = {r["signer"]: r for r in before["per_signer"]}["ahmed"]
    spoilt = {r["signer"]: r for r in after["per_signer"]}["ahmed"]
    assert spoilt["threshold"] == row["threshold"]  # the same rule: the scored signer had no say
    assert spoilt["right"] < row["right"] // 4
    assert set(before["by_source"]) == {"asl-dataset", "sign-mnist-source", "community-signers"}
    community = before["by_source"]["community-signers"]
    assert community["groups"] == 2 and community["photos"] == 240
    every = before["all"]
    assert every["groups"] == 6 and 0 < every["right_answered"] <= every["right"] <= 1
    assert every["std_over_groups"] > 0 and every["worst_group"] <= every["mean_over_groups"]


def test_readings_grouped_by_source_keep_their_misses():
    n = 6
    readings = Readings(
        np.zeros((n, 21, 3), np.float32), np.zeros(n, np.int64),
        ["a:hand1/x", "a:hand2/x", "s:user_3/A1.jpg", "s:user_4/A1.jpg", "c:ahmed/A/ahmed_A_000.jpg",
         "c:mariia/A/mariia_A_000.jpg"],
        np.array(["photo"] * n), ["g"] * n, np.array(["hand1", "hand2", "user_3", "user_4", "ahmed", "mariia"]),
        {"hand1": [("a:hand1/y", 0)], "ahmed": [("c:ahmed/B/ahmed_B_001.jpg", 1)], "mariia": [("m", 2)]},
    )  # fmt: skip
    grouped = by_source(readings)
    assert (
        list(grouped.signers) == ["asl-dataset"] * 2 + ["sign-mnist-source"] * 2 + ["community-signers"] * 2
    )
    assert {k: len(v) for k, v in grouped.missed.items()} == {"asl-dataset": 1, "community-signers": 2}


def test_signers_and_sources_of_recorded_photo_names():
    assert signer_of_source("community:kingdavid/Q/kingdavid_Q_007.jpg#cut") == "kingdavid"
    assert signer_of_source("sms:user_10/B3.jpg") == "user_10"
    assert signer_of_source("ayuraj:c/hand4_c_left_seg_2_cropped.jpeg") == "hand4"
    assert signer_of_source("somewhere/else.jpg") == "unknown"
    assert [source_of_signer(s) for s in ("hand3", "user_7", "zarakiliz", "community-signers")] == [
        "asl-dataset", "sign-mnist-source", "community-signers", "community-signers"
    ]  # fmt: skip


def test_the_community_set_lists_each_signers_static_letters(tmp_path):
    for signer in ("ann", "bo"):
        for letter in ("A", "B"):
            folder = tmp_path / "community-signers" / signer / letter
            folder.mkdir(parents=True)
            for i in range(2):
                (folder / f"{signer}_{letter}_{i:03d}.jpg").write_bytes(b"x")
    (tmp_path / "community-signers" / "bo" / "J").mkdir()  # a moving letter: not a static class
    (tmp_path / "community-signers" / "bo" / "J" / "bo_J_000.jpg").write_bytes(b"x")
    for name in (
        "kingdavid/X/kingdavid_X_003.jpg",
        "kingdavid/A/kingdavid_A_015.jpg",
        "kingdavid/A/kingdavid_A_014.jpg",
    ):
        (tmp_path / "community-signers" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "community-signers" / name).write_bytes(b"x")
    photos = list_photo_set("community-signers", tmp_path)
    kept = [p.source for p in photos if p.signer == "kingdavid"]
    assert kept == ["kingdavid/A/kingdavid_A_014.jpg"]  # his X is a D, his 015s stock pictures
    assert "D handshape" in excluded_because("kingdavid/X/kingdavid_X_003.jpg")
    photos = [p for p in photos if p.signer != "kingdavid"]
    assert len(photos) == 8 and {p.signer for p in photos} == {"ann", "bo"}
    assert photos[0].source == "ann/A/ann_A_000.jpg" and photos[0].label == "A" and photos[0].box is None
