"""The recogniser's pixel member: the hand crop it reads, the gray augmentation it trains with, the fusion
rule the build chooses and predict replays, and the bundled recogniser's use of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signlens.data.augment import BatchAugment
from signlens.data.configs import AugmentConfig
from signlens.data.crops import hand_crop
from signlens.pipeline.answer import AnswerRule, Fusion, answer, log_softmax
from signlens.study.recognizer.pixel_member import choose_fusion


def test_the_crop_is_a_square_around_the_box_with_its_margin_and_a_left_hand_turns_right():
    photo = np.zeros((200, 300, 3), np.uint8)
    photo[50:150, 100:140] = (255, 0, 0)  # a tall red "hand", its left half brighter
    photo[50:150, 100:120, 1] = 200
    crop = hand_crop(photo, (100, 50, 140, 150), "Right", size=64, margin=0.2)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    # 100 px box + 20% each side = 140 px square: the hand spans 100/140 of the height, 40/140 of the width.
    red_rows = np.flatnonzero(crop[:, 32, 0] > 128)
    red_cols = np.flatnonzero(crop[32, :, 0] > 128)
    assert abs(len(red_rows) - 64 * 100 / 140) <= 2 and abs(len(red_cols) - 64 * 40 / 140) <= 2
    assert crop[32, 32 - 8, 1] > 150 and crop[32, 32 + 8, 1] < 50  # bright half on the left
    flipped = hand_crop(photo, (100, 50, 140, 150), "Left", size=64, margin=0.2)
    np.testing.assert_array_equal(flipped, crop[:, ::-1])


def test_a_hand_cut_by_the_frame_repeats_the_edge_and_a_gray_photo_gives_three_channels():
    photo = np.full((100, 100, 3), 90, np.uint8)
    photo[:, :10] = 200  # a bright strip at the left edge, where the box leaves the photo
    crop = hand_crop(photo, (-20, 30, 30, 80), "Right", size=32, margin=0.0)
    assert (crop[:, :12] > 180).all()  # the outside repeats the edge, not black
    gray = hand_crop(photo[..., 0], (20, 20, 60, 60), "Right", size=16)
    assert gray.shape == (16, 16, 3) and (gray[..., 0] == gray[..., 2]).all()


def test_with_its_points_the_crop_keeps_the_hand_and_blanks_the_room():
    photo = np.full((200, 200, 3), 230, np.uint8)
    points = np.array([[80, 80], [120, 80], [100, 130]] * 7, np.float32)  # 21 points on a triangle
    plain = hand_crop(photo, (80, 80, 120, 130), "Right", size=64, margin=0.2)
    masked = hand_crop(photo, (80, 80, 120, 130), "Right", size=64, margin=0.2, points=points)
    assert (plain == 230).all()
    assert (masked[32, 32] == 230).all() and (masked[0, 0] == 0).all() and (masked[63, 63] == 0).all()
    kept = (masked[..., 0] > 0).mean()
    # The triangle covers about 1/5 of the crop; the reach around it adds a rim, far from the whole crop.
    assert 0.2 < kept < 0.6, kept


def test_the_gray_augmentation_turns_images_gray_with_its_probability():
    x = torch.rand(64, 3, 8, 8)
    generator = torch.Generator().manual_seed(0)
    none = AugmentConfig(rotation=0, scale=0, translate=0, brightness=0, contrast=0, gray=0.0)
    assert torch.equal(BatchAugment(none)(x.clone(), generator), x)
    half = AugmentConfig(rotation=0, scale=0, translate=0, brightness=0, contrast=0, gray=0.5)
    out = BatchAugment(half)(x.clone(), generator)
    gray = (out[:, 0] == out[:, 1]).all(dim=(1, 2)) & (out[:, 1] == out[:, 2]).all(dim=(1, 2))
    assert 16 <= int(gray.sum()) <= 48  # about half of 64
    luminance = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    torch.testing.assert_close(out[gray][:, 0], luminance[gray])
    torch.testing.assert_close(out[~gray], x[~gray])


def test_the_answer_rule_fuses_the_pixels_where_the_landmarks_are_unsure_and_a_crop_was_read():
    rng = np.random.default_rng(0)
    landmarks = log_softmax(rng.normal(0, 2, (50, 5)).astype(np.float32))
    pixels = rng.normal(0, 3, (50, 5)).astype(np.float32)
    pixels[::10] = np.nan  # no crop of these photos
    rule = AnswerRule(0.7, second_below=0.0, fusion=Fusion(weight=0.3, below=0.8, temperature=0.5))
    answers = answer(landmarks, None, pixels, None, rule)
    plain = torch.softmax(torch.from_numpy(landmarks / 0.7), 1).numpy()
    assert (answers.asks_pixels == (plain.max(1) < 0.8)).all() and 0 < answers.fused.sum() < 50
    assert (answers.fused == answers.asks_pixels & ~np.isnan(pixels).any(1)).all()
    np.testing.assert_allclose(answers.probs[~answers.fused], plain[~answers.fused], rtol=1e-5)
    mixed = 0.7 * torch.from_numpy(landmarks) + 0.3 * torch.log_softmax(torch.from_numpy(pixels), 1)
    fused = torch.softmax(mixed / 0.5, 1).numpy()
    np.testing.assert_allclose(answers.probs[answers.fused], fused[answers.fused], rtol=1e-5)
    assert answer(landmarks, None, None, None, rule).fused.sum() == 0  # no crops read: nothing fused


def test_the_build_fuses_an_informative_pixel_model_and_leaves_a_useless_one_out():
    rng = np.random.default_rng(1)
    n, k = 600, 6
    labels = rng.integers(0, k, n)
    signers = np.array([f"s{i % 4}" for i in range(n)])
    # Landmarks right and sure on 80% of rows; on the rest unsure and split between two letters.
    landmarks = np.full((n, k), -6.0, np.float32)
    unsure = rng.random(n) < 0.2
    landmarks[np.arange(n), labels] = np.where(unsure, -0.75, -0.01)
    wrong = (labels + 1) % k
    landmarks[np.arange(n)[unsure], wrong[unsure]] = -0.65
    telling = np.full((n, k), 0.0, np.float32)
    telling[np.arange(n), labels] = 3.0  # pixels that know the letter
    fusion = choose_fusion(landmarks, telling, labels, signers, temperature=1.0, photos=n)
    assert fusion["right_landmarks_only"] == pytest.approx(1 - unsure.mean())
    assert fusion["right_nested"] == 1.0 and 0 < fusion["fused"] < 0.5 and fusion["below"] < 1.01
    # Where the landmarks are unsure but right, pixels that know nothing can only cost answers (and time).
    landmarks[np.arange(n)[unsure], labels[unsure]] = -0.55
    noise = rng.normal(0, 3, (n, k)).astype(np.float32)
    useless = choose_fusion(landmarks, noise, labels, signers, temperature=1.0, photos=n)
    assert useless["right_landmarks_only"] == 1.0
    assert useless["below"] == 0.0 and useless["fused"] == 0.0  # never fused: it only costs time


FUSION = {"weight": 0.3, "below": 0.99, "temperature": 0.6, "size": 64, "margin": 0.2, "masked": True}


def with_pixel_member(folder, fusion=FUSION):
    """The bundled landmark ensemble with a pixel member (an untrained hand-crop CNN: the rule, not its
    accuracy, is under test) and its fusion rule in the record; the checkpoint's path."""
    from signlens.engine.checkpoint import load_checkpoint, save_checkpoint
    from signlens.models import create_model
    from signlens.pipeline.bundle import bundled_recognizer_path

    payload = load_checkpoint(bundled_recognizer_path())
    args = {"in_chans": 3, "img_size": 64, "widths": [32, 64, 128], "stem_kernel": 5, "hidden": 128}
    torch.manual_seed(0)
    model = create_model("fast-cnn", num_classes=len(payload["class_names"]), **args)
    payload["pixel"] = {
        "model": {"name": "fast-cnn", "args": args},
        "state_dict": model.state_dict(),
        "class_names": list(payload["class_names"]),
        "preprocess": {"img_size": 64, "in_chans": 3, "mean": [0.15] * 3, "std": [0.25] * 3, "kind": "image"},
    }
    payload["calibration"] = {k: v for k, v in payload["calibration"].items() if k != "fusion"}
    if fusion:
        payload["calibration"]["fusion"] = fusion
    return save_checkpoint(folder / "with-pixels.pt", {k: v for k, v in payload.items() if k != "format"})


def test_a_recogniser_asks_its_pixel_member_only_below_its_rule(monkeypatch, tmp_path):
    from conftest import fixture_photo
    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.recognizer import Recognizer

    photos = [fixture_photo(letter) for letter in "AEILVW"]
    with Recognizer() as plain:  # the rule's gate set between these photos' landmark confidences
        confidences = sorted(plain.recognize(read_rgb(path)).confidence for path in photos)
    below = (confidences[2] + confidences[3]) / 2
    recognizer = Recognizer(weights=with_pixel_member(tmp_path, {**FUSION, "below": below}))
    try:
        assert recognizer.pixel is not None
        asked = []
        original = recognizer.pixel.logits
        monkeypatch.setattr(
            recognizer.pixel, "logits", lambda rgb, hand: asked.append(1) or original(rgb, hand)
        )
        for path in photos:
            before = len(asked)
            result = recognizer.recognize(read_rgb(path))
            recognizer.pixel, saved = None, recognizer.pixel
            landmarks_only = recognizer.recognize(read_rgb(path))
            recognizer.pixel = saved
            assert (len(asked) > before) == (landmarks_only.confidence < saved.below)
            if len(asked) == before:
                assert result.top == landmarks_only.top
        assert len(asked) == sum(c < below for c in confidences) > 0
    finally:
        recognizer.close()


def test_a_pixel_member_without_its_fusion_rule_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    from conftest import fixture_photo, run_cli

    broken = with_pixel_member(tmp_path, fusion=None)
    photo = fixture_photo("A")
    code, stdout, stderr = run_cli(["predict", str(photo), "--weights", str(broken)], monkeypatch, capsys)
    assert code == 2 and stdout == ""
    assert stderr.strip().count("\n") == 0 and "fusion record is incomplete" in stderr, stderr


def test_the_builds_record_scores_the_answers_predict_would_give_with_the_pixels():
    from signlens.study.recognizer.loso import calibration_record

    rng = np.random.default_rng(2)
    folds = []
    for signer in ("a", "b", "c"):
        labels = rng.integers(0, 24, 120)
        first = rng.normal(0, 1, (120, 24)).astype(np.float32)
        first[np.arange(120), labels] += rng.choice([0.5, 4.0], 120)  # sure on some photos, unsure on others
        pixel = rng.normal(0, 1, (120, 24)).astype(np.float32)
        pixel[np.arange(120), labels] += 3.0
        folds.append({
            "signer": signer, "first": log_softmax(first), "second": np.full((120, 24), np.nan, np.float32),
            "labels": labels, "scores": np.ones(120, np.float32), "pixel": log_softmax(pixel),
        })  # fmt: skip
    record = calibration_record(folds, {}, ["recognizer", "hand-crop"])
    fusion = record["fusion"]
    assert fusion["below"] > 0 and record["loso_top1"] > fusion["right_landmarks_only"]
    first = np.concatenate([f["first"] for f in folds])
    pixels = np.concatenate([f["pixel"] for f in folds])
    answers = answer(first, first * np.nan, pixels, None, AnswerRule.from_record(record))
    assert answers.fused.mean() == pytest.approx(fusion["fused"]) and not answers.twice.any()
    labels = np.concatenate([f["labels"] for f in folds])
    assert record["loso_top1"] == pytest.approx((answers.probs.argmax(1) == labels).mean())


def test_the_service_reports_the_pixel_member_and_its_rule(tmp_path):
    from signlens.pipeline.recognizer import Recognizer

    with Recognizer(weights=with_pixel_member(tmp_path)) as recognizer:
        info = recognizer.describe()["pixel_member"]
    assert info["asked_below"] == FUSION["below"] and info["weight"] == FUSION["weight"]
    assert info["crop"] == {"size": 64, "margin": 0.2, "masked": True}
