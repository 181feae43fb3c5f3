"""Hand detection, landmark extraction, photo recognition and live video on real shared photos."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import SHARED, run_cli
from signlens.data.landmarks import load_landmark_file

ASL = SHARED / "asl_dataset"
needs_photos = pytest.mark.skipif(not ASL.is_dir(), reason="shared asl_dataset not present")
pytestmark = needs_photos

# One clear photo per letter from signer hand1 (seg_1 of the 'bot' view), for quick end-to-end checks.
LETTERS = "bcdlvwy"


def photo(letter: str, hand: str = "hand1", view: str = "bot", seg: int = 1):
    return ASL / letter / f"{hand}_{letter}_{view}_seg_{seg}_cropped.jpeg"


@pytest.fixture(scope="module")
def detector():
    from signlens.pipeline.hands import HandDetector

    with HandDetector(static_image_mode=True) as d:
        yield d


def test_detects_a_hand_with_21_points_inside_its_box(detector):
    from signlens.pipeline.hands import read_rgb

    rgb = read_rgb(photo("b"))
    hand = detector.detect(rgb)
    assert hand is not None and hand.image_points.shape == (21, 3) and hand.world_points.shape == (21, 3)
    x0, y0, x1, y1 = hand.bbox
    assert 0 <= x0 < x1 <= rgb.shape[1] and 0 <= y0 < y1 <= rgb.shape[0]
    inside = (hand.image_points[:, 0] >= x0) & (hand.image_points[:, 0] <= x1)
    assert inside.all() and hand.handedness in ("Left", "Right")


def test_no_hand_in_an_empty_scene(detector):
    rng = np.random.default_rng(0)
    wall = np.clip(rng.normal(140, 20, size=(480, 640, 3)), 0, 255).astype(np.uint8)
    assert detector.detect(wall) is None
    assert detector.detect(np.zeros((300, 300, 3), np.uint8)) is None


def test_padding_recovers_tight_crops():
    from signlens.pipeline.hands import HandDetector, read_rgb

    files = [photo(c, view=v) for c in "aeimnost" for v in ("bot", "left")]
    images = [read_rgb(f) for f in files if f.exists()]
    with HandDetector(pad=0.0) as bare, HandDetector(pad=0.5) as padded:
        found_bare = sum(bare.detect(im) is not None for im in images)
        found_padded = sum(padded.detect(im) is not None for im in images)
    assert found_padded >= found_bare and found_padded >= 0.9 * len(images)


def test_landmarks_extract_lists_failures(tmp_path, monkeypatch, capsys):
    root = tmp_path / "photos"
    for letter in "bl":
        (root / letter).mkdir(parents=True)
        for seg in (1, 2):
            shutil.copy(photo(letter, seg=seg), root / letter)
    (root / "l" / "hand9_l_bot_seg_1_cropped.png").write_bytes(
        __import__("cv2").imencode(".png", np.zeros((200, 200, 3), np.uint8))[1].tobytes()
    )
    out = tmp_path / "lm.npz"
    code, stdout, _ = run_cli(["landmarks", "extract", "--data", root, "--out", out], monkeypatch, capsys)
    assert code == 0 and "4/5 images with a hand" in " ".join(stdout.split())
    data = load_landmark_file(out)
    assert data["image_points"].shape == (4, 21, 3) and list(data["class_names"]) == ["B", "L"]
    assert list(data["failure_sources"]) == ["l/hand9_l_bot_seg_1_cropped.png"]
    assert set(data["groups"]) == {"hand1_b_bot", "hand1_l_bot"}


def test_predict_reads_letters_from_photos_and_never_labels_an_empty_one(tmp_path, monkeypatch, capsys):
    import cv2

    blank = tmp_path / "wall.jpg"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 128, np.uint8))
    files = [photo(c) for c in LETTERS]
    code, stdout, _ = run_cli(
        ["predict", *files, blank, "--json", "--annotate", tmp_path / "drawn"], monkeypatch, capsys
    )
    assert code == 0
    results = [json.loads(line) for line in stdout.strip().splitlines()]
    assert len(results) == len(LETTERS) + 1
    for result, letter in zip(results, LETTERS.upper(), strict=False):
        assert {"path", "label", "confidence", "top", "hand"} <= set(result)
        assert letter in [name for name, _ in result["top"]] and len(result["hand"]) == 4
        assert 0 <= result["confidence"] <= 1 and result["confidence"] == result["top"][0][1]
    assert (
        sum(r["top"][0][0] == c for r, c in zip(results, LETTERS.upper(), strict=False)) >= len(LETTERS) - 1
    )
    empty = results[-1]
    assert empty["label"] is None and empty["hand"] is None and empty["top"] == []
    assert (tmp_path / "drawn" / "hand1_b_bot_seg_1_cropped.jpg").stat().st_size > 0


def test_live_spells_a_word_from_a_generated_video(tmp_path, monkeypatch, capsys):
    """A video made now from shared photos: C, A... as held signs separated by empty frames."""
    import cv2

    from signlens.pipeline.hands import read_rgb

    word, fps = "BLW", 10
    video = tmp_path / "signs.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    canvas = np.zeros((480, 640, 3), np.uint8)
    for letter in word.lower():
        frame = canvas.copy()
        hand = cv2.resize(read_rgb(photo(letter))[..., ::-1], (300, 300))
        frame[90:390, 170:470] = hand
        for _ in range(15):  # 1.5 s held
            writer.write(frame)
        for _ in range(4):  # the hand leaves briefly between letters
            writer.write(canvas)
    for _ in range(12):  # a pause ends the word
        writer.write(canvas)
    writer.release()
    jsonl = tmp_path / "frames.jsonl"
    code, stdout, _ = run_cli(
        ["live", "--source", video, "--jsonl", jsonl, "--save", tmp_path / "out.mp4", "--hold", "0.4"],
        monkeypatch,
        capsys,
    )
    assert code == 0
    frames = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(frames) == len(word) * 19 + 12
    assert {"frame", "time", "raw", "smoothed", "confidence", "hand", "text"} <= set(frames[0])
    assert frames[-1]["text"].strip() == word
    assert all(f["hand"] is None and f["raw"] is None for f in frames[-12:])
    assert (tmp_path / "out.mp4").stat().st_size > 1000


def test_a_small_hand_in_a_large_photo_is_found_by_the_zoomed_views():
    """A hand 9% of the photo's width: the palm detector misses it in the whole view, a tile finds it."""
    import cv2

    from signlens.pipeline.hands import HandDetector, read_rgb

    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(60, 200, (3000, 4000, 3), dtype=np.uint8), (0, 0), 15)
    hand = cv2.resize(read_rgb(photo("b", hand="hand2")), (350, 350))
    mask = hand.max(axis=2, keepdims=True) > 25  # the shared photos are segmented on black
    scene[1200:1550, 2500:2850] = np.where(mask, hand, scene[1200:1550, 2500:2850])
    with HandDetector(tiles=False) as whole, HandDetector() as zooming:
        assert whole.detect(scene) is None
        found = zooming.detect(scene)
    assert found is not None
    x0, y0, x1, y1 = found.bbox
    assert 2450 <= x0 < x1 <= 2900 and 1150 <= y0 < y1 <= 1600  # in the original photo's pixels


def test_landmarks_extract_reads_the_mirrored_photo_as_a_second_estimate(tmp_path, monkeypatch, capsys):
    from signlens.data.landmarks import canonical_points

    root = tmp_path / "photos"
    for letter in "bv":
        (root / letter).mkdir(parents=True)
        shutil.copy(photo(letter), root / letter)
    out = tmp_path / "lm.npz"
    code, stdout, _ = run_cli(
        ["landmarks", "extract", "--data", root, "--out", out, "--views", "photo,mirrored"],
        monkeypatch,
        capsys,
    )
    assert code == 0 and "2/2 images with a hand" in " ".join(stdout.split())
    data = load_landmark_file(out)
    assert list(data["views"]) == ["photo", "mirrored", "photo", "mirrored"]
    assert list(data["sources"]) == ["b/" + photo("b").name] * 2 + ["v/" + photo("v").name] * 2
    assert data["meta"]["detected_per_view"] == {"photo": 2, "mirrored": 2}
    # MediaPipe calls the mirrored hand the other hand, so after canonical mirroring both views describe
    # the same handshape, far closer to each other than to the other letter's.
    points = canonical_points(data, "world")
    same = np.abs(points[0] - points[1]).mean()
    other = np.abs(points[0] - points[2]).mean()
    assert set(data["handedness"][:2]) == {"Left", "Right"} and same < other / 2

    code, _, stderr = run_cli(
        ["landmarks", "extract", "--data", root, "--out", out, "--views", "sideways"], monkeypatch, capsys
    )
    assert code == 2 and "sideways" in stderr


def test_the_mirrored_estimate_lands_on_the_same_hand_in_photo_pixels():
    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.recognizer import Recognizer

    recognizer = Recognizer.load(views=("photo", "mirrored"))
    try:
        rgb = read_rgb(photo("w"))
        first = recognizer.detector.detect(rgb)
        second = recognizer.mirrored_estimate(rgb, first)
        assert second is not None and second.handedness == first.handedness
        size = max(first.bbox[2] - first.bbox[0], first.bbox[3] - first.bbox[1])
        offsets = np.linalg.norm(second.image_points[:, :2] - first.image_points[:, :2], axis=1)
        assert np.median(offsets) < 0.05 * size
        np.testing.assert_allclose(recognizer.canonical(second), recognizer.canonical(first), atol=0.02)
        both = recognizer.recognize(rgb)
        assert both.hand.bbox == first.bbox and both.label == "W"
    finally:
        recognizer.close()
