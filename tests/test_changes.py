"""Everyday changes (data.changes) and the changed copies the recogniser's landmark members train on:
the stress set's fixed strengths, the build's varied ones, and that a copy is training material only
(never scored, never a miss, never in the fold of its own signer)."""

from __future__ import annotations

import numpy as np
import pytest

from signlens.data.changes import FURTHER_CHANGES, changed, photo_rng
from signlens.data.landmarks import save_landmark_file
from signlens.data.photo_sets import LETTERS


def hand_photo():
    """A white 100 px square (the hand, its box) on a black 200 px photo."""
    rgb = np.zeros((200, 200, 3), np.uint8)
    rgb[50:150, 50:150] = 255
    return rgb, (50, 50, 150, 150)


def visible(image) -> float:
    return float((image[..., 0] > 127).mean())


def test_the_stress_sets_cut_leaves_three_quarters_of_the_hand_and_the_builds_varies_around_it():
    rgb, box = hand_photo()
    rng = np.random.default_rng(0)
    fixed = [visible(changed(rgb, "cut", box, rng)) for _ in range(8)]
    assert fixed == pytest.approx([0.75] * 8, abs=0.01)
    varied = [visible(changed(rgb, "cut", box, rng, vary=True)) for _ in range(40)]
    assert min(varied) > 0.55 and max(varied) < 0.9 and np.std(varied) > 0.03
    assert changed(rgb, "fill", box, rng).shape == (416, 416, 3)
    assert changed(rgb, "fill", None, rng) is None  # a tight crop already fills its frame
    gray = changed(rgb, "gray", None, rng)
    assert gray.shape == rgb.shape and (gray[..., 0] == gray[..., 2]).all()
    with pytest.raises(ValueError, match="unknown change 'smudge'"):
        changed(rgb, "smudge", None, rng)


def test_turned_dark_and_jpeg_at_fixed_strengths_draw_nothing_from_the_generator():
    rgb, box = hand_photo()
    rng = np.random.default_rng(0)
    turned, dark, jpeg = (changed(rgb, c, box, rng) for c in FURTHER_CHANGES)
    assert rng.random() == np.random.default_rng(0).random()  # the stress set's other picks unchanged
    # 25 degrees about the square's centre: its corners leave the box, its centre stays white.
    assert (
        turned[100, 100, 0] == 255
        and turned[52, 52, 0] == 0
        and visible(turned) == pytest.approx(0.25, abs=0.01)
    )
    # A quarter of the light in linear terms: white 255 -> 255 * 0.25 ** (1 / 2.2), about 136.
    assert dark.shape == rgb.shape and dark.max() == pytest.approx(136, abs=1) and dark.min() == 0
    assert jpeg.shape == rgb.shape and 0 < np.abs(jpeg.astype(int) - rgb).mean() < 10
    varied = [changed(rgb, "dark", box, rng, vary=True).max() for _ in range(10)]
    assert np.std(varied) > 5


def test_a_photos_changed_copy_is_the_same_in_every_run_and_differs_between_photos():
    rgb, box = hand_photo()

    def copy(source):
        return changed(rgb, "cut", box, photo_rng(source, "cut"), vary=True)

    assert np.array_equal(copy("user_3/A1.jpg"), copy("user_3/A1.jpg"))
    assert any(not np.array_equal(copy("user_3/A1.jpg"), copy(f"user_3/B{k}.jpg")) for k in range(4))


def landmark_file(path, signers, copies: str | None = None, per_letter: int = 3, seed: int = 0):
    """Synthetic readings of photos `user_N/<LETTER><k>.jpg`, one prototype hand per letter, both views;
    with `copies`, as a file of changed copies (`source#change`) with one copy where no hand was found."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(1).normal(0, 0.05, (len(LETTERS), 21, 3)).astype(np.float32)
    rows = {k: [] for k in ("world_points", "image_points", "labels", "sources", "groups", "views")}
    for signer in signers:
        for label, letter in enumerate(LETTERS):
            for k in range(per_letter):
                source = f"{signer}/{letter}{k}.jpg" + (f"#{copies}" if copies else "")
                for view in ("photo", "mirrored"):
                    points = prototypes[label] + rng.normal(0, 0.004, (21, 3)).astype(np.float32)
                    rows["world_points"].append(points)
                    rows["image_points"].append(points + 0.5)
                    rows["labels"].append(label)
                    rows["sources"].append(source)
                    rows["groups"].append(f"{signer}_{letter}")
                    rows["views"].append(view)
    n = len(rows["labels"])
    arrays = {k: np.asarray(v) for k, v in rows.items()}
    arrays.update(
        class_names=np.asarray(LETTERS), handedness=np.asarray(["Right"] * n),
        scores=np.ones(n, np.float32),
        failure_sources=np.asarray([f"{signers[0]}/A9.jpg" + (f"#{copies}" if copies else "")]),
        failure_labels=np.asarray([0]),
    )  # fmt: skip
    return save_landmark_file(path, arrays, {"data": "synthetic", **({"change": copies} if copies else {})})


def test_changed_copies_train_the_other_signers_folds_and_are_never_scored(tmp_path, monkeypatch):
    from signlens.study.recognizer import loso

    signers = ["user_3", "user_4", "user_5"]
    files = [landmark_file(tmp_path / "sms-readings.npz", signers)]
    files.append(landmark_file(tmp_path / "sms-readings-cut.npz", signers, copies="cut", seed=1))
    readings = loso.load_readings(files, "world")
    assert readings.changed.sum() == len(readings.labels) // 2
    assert all(("#" in s) == c for s, c in zip(readings.sources, readings.changed, strict=True))
    assert readings.missed == {"user_3": [("sms:user_3/A9.jpg", 0)]}  # the copy without a hand is no miss

    trained = {}
    real_train = loso.train_member

    def recording(member, readings, index, out, threads, claim=False):
        trained[out.name] = index
        return real_train(member, readings, index, out, threads, claim)

    monkeypatch.setattr(loso, "train_member", recording)
    monkeypatch.setitem(loso.VARIANTS, "tiny", {"epochs": 3})
    folds, misses = loso.run_loso(
        readings, ["recognizer:tiny"], tmp_path / "loso", threads=1, log=lambda *a, **k: None
    )
    assert misses == {"user_3": 1}
    for fold, index in zip(folds, trained.values(), strict=True):
        assert len(fold["labels"]) == len(LETTERS) * 3  # the signer's photos as taken, once each
        assert not any("#" in s for s in fold["sources"])
        training = {readings.sources[i] for i in index}
        assert not any(s.startswith(f"sms:{fold['signer']}/") for s in training)  # not even its copies
        assert sum("#cut" in s for s in training) == len(training) // 2  # the others' copies train it
    record = loso.calibration_record(folds, misses, ["recognizer:tiny"])
    assert record["photos"] == 3 * len(LETTERS) * 3 + 1


def test_tracked_readings_are_the_video_recognisers_reading_of_the_photo_held_still(tmp_path):
    """The build's tracked copies (extract's TRACKED) are what `recognize_frame` reads when the photo is a
    camera frame held for HELD_FRAMES frames: the same tracker, the same points."""
    import shutil
    from pathlib import Path

    from signlens.data.landmarks import load_landmark_file
    from signlens.errors import SignlensError
    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.recognizer import Recognizer
    from signlens.study.recognizer.extract import (
        CAMERA_SIDE,
        HELD_FRAMES,
        TRACKED,
        camera_frame,
        extract_landmarks,
    )

    fixtures = Path(__file__).parent / "fixtures" / "hands"
    for letter in ("B", "L", "W"):
        (tmp_path / "photos" / letter).mkdir(parents=True)
        shutil.copy(fixtures / f"{letter}.jpg", tmp_path / "photos" / letter)
    with pytest.raises(SignlensError, match="photo view only"):
        extract_landmarks(
            str(tmp_path / "photos"), tmp_path / "no.npz", views=("photo", "mirrored"), change=TRACKED
        )
    extract_landmarks(str(tmp_path / "photos"), tmp_path / "tracked.npz", change=TRACKED)
    data = load_landmark_file(tmp_path / "tracked.npz")
    assert sorted(map(str, data["sources"])) == [f"{c}/{c}.jpg#tracked" for c in ("B", "L", "W")]
    assert set(map(str, data["views"])) == {"photo"}

    with Recognizer(running_mode="video") as recognizer:
        for row, source in enumerate(map(str, data["sources"])):
            rgb = read_rgb(tmp_path / "photos" / source.split("#")[0])
            frame, factor = camera_frame(rgb)
            assert max(frame.shape[:2]) == CAMERA_SIDE
            t = 10.0 * row
            recognizer.recognize_frame(np.zeros_like(frame), t)
            for k in range(HELD_FRAMES):
                result = recognizer.recognize_frame(frame, t + (k + 1) / 15)
            tracked = result.hand.image_points / factor
            assert np.abs(tracked[:, :2] - data["image_points"][row][:, :2]).max() < 0.5
            assert np.abs(result.hand.world_points - data["world_points"][row]).max() < 1e-4


def test_the_build_refuses_an_unknown_change_before_reading_any_photo(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_recognizer.py"
    run = subprocess.run(
        [sys.executable, str(script), "--changes", "cut,sepia", "--work", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "--changes: unknown change sepia; choose from" in run.stderr and "tracked" in run.stderr
    assert not (tmp_path / "work").exists()
