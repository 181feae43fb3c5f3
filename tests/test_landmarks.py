"""Landmark features, augmentation, smoothing, spelling and calibration: pure functions, generated data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from signlens.data.configs import LandmarkConfig
from signlens.data.landmarks import (
    BONES,
    LandmarkAugment,
    LandmarkFeatures,
    feature_dim,
    landmark_features,
    palm_frame,
    skeleton_mask,
)
from signlens.errors import SignlensError
from signlens.evaluation.calibration import expected_calibration_error, fit_temperature
from signlens.pipeline.smoothing import MajorityVote, Speller


def random_hand(seed: int = 0) -> torch.Tensor:
    """A plausible open hand: fingers fanning up from a palm, with some depth."""
    g = torch.Generator().manual_seed(seed)
    points = torch.zeros(21, 3)
    bases = [(-0.5, -0.3), (-0.3, -1.0), (0.0, -1.05), (0.25, -1.0), (0.45, -0.9)]
    for f, (bx, by) in enumerate(bases):
        for j in range(4):
            points[1 + f * 4 + j] = torch.tensor([bx * (1 + 0.25 * j), by - 0.35 * j * (f > 0), 0.05 * j])
    return points + 0.02 * torch.randn(21, 3, generator=g)


def rotation_z(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_features_ignore_position_and_scale():
    hand = random_hand()[None]
    spec = LandmarkFeatures()
    moved = hand * 3.7 + torch.tensor([10.0, -4.0, 2.0])
    torch.testing.assert_close(
        landmark_features(moved, spec), landmark_features(hand, spec), atol=1e-4, rtol=1e-4
    )
    assert landmark_features(hand, spec).shape == (1, feature_dim(spec))


def test_skeleton_mask_is_position_and_scale_free_and_draws_each_finger_apart():
    hand = random_hand(2)[None]
    mask = skeleton_mask(hand, 32)
    assert mask.shape == (1, 6, 32, 32) and 0.9 < mask[:, :5].amax() <= 1.0
    moved = hand * 2.5 + torch.tensor([3.0, -1.0, 0.5])
    torch.testing.assert_close(skeleton_mask(moved, 32), mask, atol=1e-4, rtol=1e-4)
    # Bending the index finger (points 6-8) within its own span redraws channel 1 and the depth only.
    bent = hand.clone()
    bent[0, 7:9, 1] += 0.3
    changed = (skeleton_mask(bent, 32) - mask).abs().amax(dim=(0, 2, 3))
    assert changed[1] > 0.5 and changed[5] > 0
    assert torch.all(changed[[0, 2, 3, 4]] < 1e-6)
    # The mirrored hand is the mirrored drawing, so mirror augmentation and TTA mean what they say.
    mirrored = hand * torch.tensor([-1.0, 1.0, 1.0])
    torch.testing.assert_close(skeleton_mask(mirrored, 32), mask.flip(-1), atol=1e-4, rtol=1e-4)
    spec = LandmarkFeatures.of(LandmarkConfig(form="mask", mask_size=24))
    assert landmark_features(hand, spec).shape == (1, spec.mask_channels, 24, 24)
    with pytest.raises(SignlensError, match="vector or mask"):
        LandmarkFeatures.of(LandmarkConfig(form="png"))


def test_rotation_free_shape_features_ignore_rotation_but_orientation_is_kept():
    hand = random_hand(1)[None]
    turned = hand @ rotation_z(0.8).T
    free = LandmarkFeatures(rotation_free=True)
    a, b = landmark_features(hand, free), landmark_features(turned, free)
    coords, frame = slice(0, 63), slice(63, 72)
    torch.testing.assert_close(a[:, coords], b[:, coords], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(a[:, 72:], b[:, 72:], atol=1e-4, rtol=1e-4)  # angles and distances
    assert not torch.allclose(a[:, frame], b[:, frame], atol=1e-2)  # H vs U: orientation still counts
    plain = LandmarkFeatures(rotation_free=False)
    assert not torch.allclose(
        landmark_features(hand, plain)[:, coords], landmark_features(turned, plain)[:, coords], atol=1e-2
    )


def test_palm_frame_is_orthonormal():
    frame = palm_frame(torch.stack([random_hand(s) for s in range(4)]))
    eye = torch.eye(3).expand(4, 3, 3)
    torch.testing.assert_close(frame @ frame.transpose(1, 2), eye, atol=1e-5, rtol=1e-5)


def test_augmentation_changes_points_within_bounds_and_mirror_flips_chirality():
    hands = torch.stack([random_hand(s) for s in range(64)])
    out = LandmarkAugment(rotation=15, scale=0.1, finger_jitter=0.05, noise=0.0)(
        hands, torch.Generator().manual_seed(0)
    )
    assert out.shape == hands.shape and not torch.allclose(out, hands - hands[:, :1])
    # Rotation and per-finger shifts leave each finger's bone lengths alone (up to the global scale).
    bone = (out[:, 8] - out[:, 7]).norm(dim=-1) / (out[:, 9] - out[:, 0]).norm(dim=-1)
    ref = (hands[:, 8] - hands[:, 7]).norm(dim=-1) / (hands[:, 9] - hands[:, 0]).norm(dim=-1)
    torch.testing.assert_close(bone, ref, atol=0.15, rtol=0.1)
    mirrored = LandmarkAugment(rotation=0, scale=0, finger_jitter=0, noise=0, mirror=1.0)(hands)
    torch.testing.assert_close(mirrored[..., 0], -(hands - hands[:, :1])[..., 0])


def test_bone_scaling_changes_lengths_within_bounds_and_keeps_directions():
    hands = torch.stack([random_hand(s) for s in range(32)])
    still = dict(rotation=0, scale=0, finger_jitter=0, noise=0)
    out = LandmarkAugment(**still, bone_scale=0.1)(hands, torch.Generator().manual_seed(0))
    parents, children = (list(side) for side in zip(*BONES, strict=True))

    def bones(points):
        return points[:, children] - points[:, parents]

    ratio = bones(out).norm(dim=-1) / bones(hands).norm(dim=-1)
    assert ratio.min() >= 0.9 - 1e-4 and ratio.max() <= 1.1 + 1e-4 and ratio.std() > 0.03
    cosine = torch.nn.functional.cosine_similarity(bones(out), bones(hands), dim=-1)
    torch.testing.assert_close(cosine, torch.ones_like(cosine))
    assert torch.all(out[:, 0] == 0)
    torch.testing.assert_close(LandmarkAugment(**still)(hands), hands - hands[:, :1])
    assert LandmarkAugment.of(LandmarkConfig(bone_scale=0.2)).bone_scale == 0.2


def test_landmark_config_builds_what_it_says():
    config = LandmarkConfig(points="image", rotation_free=True, augment=False)
    assert LandmarkFeatures.of(config) == LandmarkFeatures("image", True)
    assert LandmarkAugment.of(config) is None
    assert LandmarkAugment.of(LandmarkConfig(mirror=0.5)).mirror == 0.5


def test_majority_vote_needs_a_clear_majority_of_its_seconds():
    vote = MajorityVote(window_seconds=0.5, min_share=0.6)  # at 8 frames/s: the last 4 frames
    labels = ["A", "B", "B", "A", "A", "A", None, None, None]
    expected = ["A", None, "B", None, None, "A", "A", None, None]  # 3 of the 4 (or of fewer, at first)
    assert [vote.update(x, i / 8) for i, x in enumerate(labels)] == expected
    vote.reset()
    slow = [vote.update(x, i / 4) for i, x in enumerate(["A", "B", "B", "A"])]  # 4 frames/s: 2 frames
    assert slow == ["A", None, "B", None]


def test_speller_holds_repeats_and_pauses():
    speller = Speller(hold_seconds=0.3, pause_seconds=0.5)
    t = 0.0

    def feed(label, seconds, hand=True):
        nonlocal t
        written = []
        for _ in range(int(round(seconds / 0.1))):
            written.append(speller.update(label, hand, t))
            t += 0.1
        return [w for w in written if w]

    assert feed("H", 0.2) == []  # not held long enough
    assert feed("H", 0.5) == ["H"]  # written once, however long it is held
    assert feed("I", 0.6) == ["I"]
    assert feed("I", 1.0) == []  # holding the same letter does not repeat it
    assert feed(None, 0.2) == []  # the hand changed (unsure) ...
    assert feed("I", 0.5) == ["I"]  # ... so the same letter may now be written again
    assert feed(None, 0.7, hand=False) == [] and speller.text == "HII "  # a pause ends the word
    assert feed("A", 0.5) == ["A"] and speller.text == "HII A"


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 10))
    labels = np.array([rng.choice(10, p=np.exp(row) / np.exp(row).sum()) for row in true_logits])
    overconfident = true_logits * 3.0  # a model three times too sure of itself
    temperature = fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(3.0, rel=0.1)

    def softmax(x):
        e = np.exp(x - x.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    before = expected_calibration_error(softmax(overconfident), labels)
    after = expected_calibration_error(softmax(overconfident / temperature), labels)
    assert after < before / 3 and after < 0.03


def synthetic_landmark_file(path, per_class: int = 40):
    """Three handshapes (fingers bent by class-specific amounts), both chiralities, two signers."""
    from signlens.data.landmarks import save_landmark_file

    rng = np.random.default_rng(0)
    world, labels, hands, sources, groups = [], [], [], [], []
    for label in range(3):
        for i in range(per_class):
            p = random_hand(label * 1000 + i).numpy()
            bend = [0.0, 0.9, -0.9][label]
            for f in range(1 + label, 5):  # bend some fingers towards the palm
                p[1 + f * 4 + 1 : 1 + f * 4 + 4, 1] += bend * np.arange(1, 4) * 0.3
            p = p + rng.normal(0, 0.02, p.shape)
            handed = "Left" if i % 2 else "Right"
            if handed == "Left":
                p[:, 0] *= -1
            world.append(p * 0.08)
            labels.append(label)
            hands.append(handed)
            signer = f"hand{1 + i % 2}"
            sources.append(f"{'abc'[label]}/{signer}_{'abc'[label]}_bot_seg_{i}_cropped.jpeg")
            groups.append(f"{signer}_{'abc'[label]}_bot{i % 4}")
    world = np.array(world, dtype=np.float32)
    arrays = {
        "image_points": world * 1000,
        "world_points": world,
        "labels": np.array(labels),
        "class_names": np.array(["A", "B", "C"]),
        "handedness": np.array(hands),
        "sources": np.array(sources),
        "groups": np.array(groups),
        "failure_sources": np.array(["a/hand1_a_bot_seg_99_cropped.jpeg"]),
        "failure_labels": np.array([0]),
    }
    save_landmark_file(path, arrays, {"data": "synthetic"})
    return path


def test_landmark_model_trains_and_evaluates_through_the_cli(tmp_path, monkeypatch, capsys):
    import json
    import sys

    from signlens.cli.main import main

    file = synthetic_landmark_file(tmp_path / "lm.npz")

    def run(args):
        monkeypatch.setattr(sys, "argv", ["signlens", *map(str, args)])
        with pytest.raises(SystemExit) as info:
            main()
        return info.value.code, capsys.readouterr().out

    out = tmp_path / "run"
    code, _ = run(["train", "--data", f"landmarks:{file}", "--recipe", "recognizer", "--classes", "all",
                   "--epochs", 30, "--batch-size", 16, "--out", out, "--quiet", "--threads", 1])  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9 and set(metrics["test"]["per_class"]) == {"A", "B", "C"}
    code, stdout = run(["val", "--weights", out / "best.pt", "--split", "all", "--json"])
    assert code == 0 and json.loads(stdout)["num_samples"] == 120

    from signlens.data.landmarks import canonical_points, load_landmark_file
    from signlens.inference import Classifier, LandmarkClassifier, load_classifier

    model = LandmarkClassifier.from_checkpoint(out / "best.pt")
    loaded = load_classifier(out / "best.pt")  # the one loader gives the same model, same interface
    assert isinstance(loaded, Classifier) and loaded.kind == "landmarks" and loaded.img_size is None
    data = load_landmark_file(file)
    np.testing.assert_allclose(
        loaded.predict_proba(canonical_points(data, "world")[:8]),
        model.predict_proba(canonical_points(data, "world")[:8]),
        rtol=1e-6,
    )
    probs = model.predict_proba(canonical_points(data, "world"))
    assert probs.shape == (120, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == data["labels"]).mean() >= 0.9


def test_mask_cnn_and_mlp_form_an_ensemble_checkpoint(tmp_path):
    from signlens.data.landmarks import canonical_points, load_landmark_file
    from signlens.engine import Trainer, build_config
    from signlens.engine.checkpoint import save_checkpoint
    from signlens.engine.ensemble import ensemble_checkpoint
    from signlens.inference import LandmarkClassifier

    file = synthetic_landmark_file(tmp_path / "lm.npz")
    runs = []
    for recipe in ("recognizer", "recognizer-mask"):
        overrides = {"classes": "all", "epochs": 15, "batch_size": 16, "threads": 1}
        config = build_config(f"landmarks:{file}", recipe=recipe, overrides=overrides)
        trainer = Trainer(config, tmp_path / recipe, progress=False)
        trainer.fit()
        runs.append(tmp_path / recipe / "best.pt")
    mask_model = LandmarkClassifier.from_checkpoint(runs[1])
    assert mask_model.config.form == "mask" and mask_model.members[0][0][0].in_channels == 6

    payload = ensemble_checkpoint(runs)
    payload["calibration"] = {"temperature": 0.8}
    save_checkpoint(tmp_path / "ensemble.pt", payload)
    ensemble = LandmarkClassifier.from_checkpoint(tmp_path / "ensemble.pt")
    assert len(ensemble.members) == 2 and ensemble.temperature == 0.8
    data = load_landmark_file(file)
    points = canonical_points(data, "world")
    # Averaged log-probabilities of the members (each with its own mirrored TTA), then the temperature.
    members = [LandmarkClassifier.from_checkpoint(r) for r in runs]
    log_probs = [np.log(m.predict_proba(points)) for m in members]
    expected = np.exp((log_probs[0] + log_probs[1]) / 2 / 0.8)
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(ensemble.predict_proba(points), expected, rtol=1e-4, atol=1e-5)
    assert (expected.argmax(1) == data["labels"]).mean() >= 0.9
    image_run = tmp_path / "image.pt"  # a landmark model relabelled as an image model never loads
    save_checkpoint(image_run, {**payload, "preprocess": {**payload["preprocess"], "kind": "image"}})
    with pytest.raises(SignlensError, match="'preprocess.img_size' must be a positive integer"):
        ensemble_checkpoint([runs[0], image_run])


def test_views_of_one_photo_are_averaged_into_one_answer():
    from signlens.evaluation.views import per_photo

    logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [1.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    merged, truth, sources = per_photo(logits, labels, ["a.jpg", "a.jpg", "b.jpg", "c.jpg"])
    np.testing.assert_allclose(merged, [[1.0, 0.5], [0.0, 3.0], [1.0, 1.0]])
    assert list(truth) == [0, 1, 1] and sources == ["a.jpg", "b.jpg", "c.jpg"]


def test_photo_coverage_counts_mirrored_only_photos_as_misses():
    from signlens.data.landmarks import photo_coverage

    data = {
        "sources": np.array(["a/1.jpg", "a/1.jpg", "a/2.jpg", "b/3.jpg"]),
        "views": np.array(["photo", "mirrored", "mirrored", "photo"]),
        "labels": np.array([0, 0, 0, 1]),
        "class_names": np.array(["A", "B"]),
        "failure_sources": np.array(["a/4.jpg", "b/5.jpg"]),
        "failure_labels": np.array([0, 1]),
    }
    in_photo, missed = photo_coverage(data, ["A", "B"])
    assert in_photo == {"a/1.jpg", "b/3.jpg"} and missed == ["a/2.jpg", "a/4.jpg", "b/5.jpg"]
    assert photo_coverage(data, ["B"])[1] == ["b/5.jpg"]  # only the selected classes' misses


def test_a_last_batch_of_one_sample_joins_the_batch_before(tmp_path):
    from signlens.engine import Trainer, build_config
    from signlens.engine.runstate import batch_starts

    assert batch_starts(129, 64) == [0, 64] and batch_starts(130, 64) == [0, 64, 128]
    assert batch_starts(1, 64) == [0] and batch_starts(128, 64) == [0, 64]
    file = synthetic_landmark_file(tmp_path / "lm.npz")
    config = build_config(
        f"landmarks:{file}", recipe="recognizer", overrides={"classes": "all", "epochs": 1, "threads": 1}
    )
    trainer = Trainer(config, tmp_path / "run", progress=False)
    n = len(trainer.train.y)
    trainer.config.batch_size = n - 1  # n = (n - 1) + 1: batch norm would fail on a batch of one
    trainer.steps_per_epoch = len(batch_starts(n, n - 1))
    trainer.rebuild_optimizer(trainer.config)
    assert trainer.steps_per_epoch == 1 and trainer.fit()["epochs_run"] == 1
