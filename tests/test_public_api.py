"""The public Python API, `signlens.Recognizer`: the README's example as written, per-call options that
never leak into the next call, VIDEO mode, describe(), close() and `with`, and one clear SignlensError
for every bad input."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import signlens
from conftest import fixture_photo, run_cli
from signlens.errors import SignlensError

README = Path(__file__).resolve().parents[1] / "README.md"


def photo(letter: str) -> Path:
    """A real hand photo from tests/fixtures (runs from a bare clone)."""
    return fixture_photo(letter)


@pytest.fixture(scope="module")
def recognizer():
    with signlens.Recognizer() as r:
        yield r


@pytest.fixture(scope="module")
def rgb():
    from signlens.pipeline.hands import read_rgb

    return read_rgb(photo("B"))


def readme_python_example() -> str:
    match = re.search(r"^## Python\n\n```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    assert match, "README.md has a '## Python' section opening with a python code block"
    return match.group(1)


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    code = readme_python_example()
    assert '"photo.jpg"' in code and len(code.strip().splitlines()) <= 6
    shutil.copy(photo("B"), tmp_path / "photo.jpg")  # the file the example names, a real photo of B
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    label, confidence = capsys.readouterr().out.split()
    assert label == "B" and 0.5 <= float(confidence) <= 1


def test_import_signlens_loads_nothing_heavy_until_a_name_is_used():
    probe = (
        "import sys, signlens\n"
        "heavy = ('torch', 'mediapipe', 'cv2', 'signlens.pipeline', 'signlens.inference')\n"
        "print(sorted({m.split('.')[0] if not m.startswith('signlens') else m for m in sys.modules\n"
        "              if m.startswith(heavy)}))\n"
        "print(signlens.Recognizer.__module__, signlens.RunningMode.VIDEO.value, signlens.SignlensError.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "signlens.pipeline.recognizer video SignlensError"]
    assert {"Recognizer", "RecognizerOptions", "RunningMode", "Recognition"} <= set(dir(signlens))
    with pytest.raises(AttributeError, match="no attribute 'Recogniser'"):
        signlens.Recogniser  # noqa: B018


def test_per_call_threshold_and_top_k_do_not_leak_into_the_next_call(recognizer, rgb):
    default = recognizer.threshold
    before = recognizer.recognize(rgb)
    strict = recognizer.recognize(rgb, threshold=1.0, top_k=5)
    lenient = recognizer.recognize(rgb, threshold=0.0, top_k=1)
    after = recognizer.recognize(rgb)
    assert before.label == "B" and len(before.top) == 3
    assert strict.label is None and strict.best == "B" and len(strict.top) == 5  # unsure, top kept
    assert lenient.label == "B" and len(lenient.top) == 1
    assert after.to_dict(landmarks=True) == before.to_dict(landmarks=True)
    assert recognizer.threshold == default and recognizer.top_k == 3
    with pytest.raises(AttributeError):
        recognizer.threshold = 0.1  # the shared object has no per-caller state to set


def test_to_dict_is_what_predict_prints_and_draw_annotates_a_copy(recognizer, rgb, monkeypatch, capsys):
    result = recognizer.recognize(str(photo("B")))
    code, out, err = run_cli(["predict", "--json", photo("B")], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out) == {"path": str(photo("B")), **result.to_dict()}
    answer = result.to_dict(landmarks=True)
    points = np.array(answer["landmarks"])
    assert points.shape == (21, 3) and np.allclose(points, result.hand.image_points, atol=0.05 + 1e-6)
    assert answer["confidence"] == round(result.confidence, 4) == answer["top"][0][1]
    json.dumps(answer)  # plain JSON types throughout
    untouched = rgb.copy()
    drawn = result.draw(rgb)
    assert drawn.shape == rgb.shape and np.array_equal(rgb, untouched) and (drawn != rgb).any()
    x0, y0, x1, y1 = result.hand.bbox
    assert (
        drawn[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2] != rgb[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2]
    ).any()  # skeleton
    top_edge = (y0, (x0 + x1) // 2)  # on the box: green for an answer, orange for an unsure one
    assert tuple(drawn[top_edge]) == (0, 200, 0)
    unsure = recognizer.recognize(rgb, threshold=1.0)
    assert tuple(unsure.draw(rgb)[top_edge]) == (255, 170, 0)
    assert tuple(unsure.draw(np.ascontiguousarray(rgb[..., ::-1]), bgr=True)[top_edge]) == (0, 170, 255)


def test_video_mode_tracks_frames_in_time_order():
    from signlens.pipeline.bundle import bundled_recognizer_path, recorded_calibration
    from signlens.pipeline.hands import read_rgb

    frames = [read_rgb(photo("L"))] * 3
    live = recorded_calibration(bundled_recognizer_path())["defaults"]["live_threshold"]
    options = signlens.RecognizerOptions(running_mode=signlens.RunningMode.VIDEO, top_k=2)
    with signlens.Recognizer.create_from_options(options) as video:
        assert video.running_mode is signlens.RunningMode.VIDEO and video.threshold == live
        results = [video.recognize_frame(rgb, t) for t, rgb in zip((0.0, 0.1, 0.2), frames, strict=True)]
        assert [r.label for r in results] == ["L", "L", "L"] and all(len(r.top) == 2 for r in results)
        assert all(set(r.timings) == {"detect", "search", "classify"} for r in results)
        assert video.recognize_frame(frames[0], 0.3, threshold=1.0).label is None
        with pytest.raises(SignlensError, match="time order"):
            video.recognize_frame(frames[0], 0.1)
        with pytest.raises(SignlensError, match=r"video mode: use recognize_frame"):
            video.recognize(frames[0])
        assert video.describe()["input"]["views"] == ["photo"]  # one reading a frame, no mirrored re-read


def test_image_mode_refuses_frames(recognizer):
    with pytest.raises(SignlensError, match=r"image mode: use recognize\(image\)"):
        recognizer.recognize_frame(np.zeros((64, 64, 3), np.uint8), 0.0)


def test_describe_says_what_the_model_is(recognizer):
    from signlens.pipeline.bundle import bundled_recognizer_path, recorded_calibration

    info = recognizer.describe()
    record = recorded_calibration(bundled_recognizer_path())
    assert info["name"] == "bundled recogniser" and info["kind"] == "landmarks"
    assert (
        info["classes"] == recognizer.class_names
        and len(info["classes"]) == 24
        and "J" not in info["classes"]
    )
    assert info["threshold"] == record["defaults"]["photo_threshold"] == recognizer.threshold
    assert info["calibration"]["temperature"] == record["temperature"]
    if "fusion" in record:  # a build with the crop CNN describes it and its rule
        assert info["pixel_member"]["weight"] == record["fusion"]["weight"]
    else:
        assert info["pixel_member"] is None
    assert info["sha256"] == hashlib.sha256(bundled_recognizer_path().read_bytes()).hexdigest()
    assert info["signlens_version"] == signlens.__version__ and info["input"]["views"] == [
        "photo",
        "mirrored",
    ]
    json.dumps(info)


def test_a_search_time_limit_per_call_stops_the_search_and_says_so(recognizer):
    rng = np.random.default_rng(0)
    wall = np.repeat(rng.integers(80, 120, (900, 1200, 1), dtype=np.uint8), 3, axis=2)  # gray: every view
    cut = recognizer.recognize(wall, search_seconds=1e-6)  # the first view only
    whole = recognizer.recognize(wall)
    assert cut.search_stopped and cut.label is None and cut.hand is None
    assert not whole.search_stopped and whole.hand is None
    with pytest.raises(SignlensError, match="search_seconds must be a positive number"):
        recognizer.recognize(wall, search_seconds=0)


def test_close_and_the_context_manager():
    blank = np.full((120, 160, 3), 128, np.uint8)
    with signlens.Recognizer(top_k=2) as r:
        assert r.recognize(blank).to_dict() == {
            "label": None,
            "confidence": 0.0,
            "top": [],
            "hand": None,
            "handedness": None,
        }
    with pytest.raises(SignlensError, match="closed"):
        r.recognize(blank)
    r.close()  # a second close is harmless


def test_bad_input_is_one_signlens_error_naming_it(recognizer, tmp_path):
    bad_options = [
        ({"threshold": 1.5}, "threshold must be a number from 0 to 1"),
        ({"top_k": 0}, "top_k must be a whole number"),
        ({"running_mode": "audio"}, "running_mode must be one of 'image', 'video'"),
        ({"model_complexity": 2}, "model_complexity must be 0 or 1"),
        ({"weights": tmp_path / "missing.pt"}, "missing.pt"),
    ]
    for options, message in bad_options:
        with pytest.raises(SignlensError, match=re.escape(message)):
            signlens.Recognizer(**options)
    with pytest.raises(dataclasses.FrozenInstanceError):
        signlens.RecognizerOptions().threshold = 0.2
    (tmp_path / "notes.jpg").write_text("not an image")
    bad_images = [
        (np.zeros((32, 32), np.float64), "RGB uint8 of shape (height, width, 3); got float64 (32, 32)"),
        ([[0, 0, 0]], "got list"),
        (tmp_path / "nowhere.jpg", "not found"),
        (tmp_path / "notes.jpg", "notes.jpg"),
        (b"GIF89a broken", "cannot read image"),
    ]
    for image, message in bad_images:
        with pytest.raises(SignlensError, match=re.escape(message)):
            recognizer.recognize(image)
    blank = np.zeros((64, 64, 3), np.uint8)
    for call, message in (({"threshold": float("nan")}, "threshold"), ({"top_k": 2.5}, "top_k")):
        with pytest.raises(SignlensError, match=message):
            recognizer.recognize(blank, **call)
