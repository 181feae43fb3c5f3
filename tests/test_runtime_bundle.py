"""The runtime bundle (assets/recognizer.onnx, recognizer-pixel.onnx): the ONNX graphs predict, live and
serve run give the bundled checkpoint's answers, on real hands and crops from the fixture photos, and the
runtime imports no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import HAND_LETTERS, fixture_photo
from signlens.errors import SignlensError

ATOL = 1e-4  # largest calibrated-probability difference between the graph and the checkpoint in torch


@pytest.fixture(scope="module")
def hands():
    """(rgb, hand) for each fixture photo's hand, and its second (mirrored) reading, as predict reads."""
    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.reading import PhotoReader

    reader = PhotoReader()
    found = []
    try:
        for letter in HAND_LETTERS:
            rgb = read_rgb(fixture_photo(letter))
            hand = reader.find(rgb)
            assert hand is not None, letter
            found.append((rgb, hand))
            second = reader.reread(rgb, hand)
            if second is not None:
                found.append((rgb, second))
    finally:
        reader.close()
    return found


@pytest.fixture(scope="module")
def torch_parts():
    from signlens.pipeline.bundle import bundled_recognizer_path, load_file

    return load_file(bundled_recognizer_path())


@pytest.fixture(scope="module")
def graph_parts():
    from signlens.pipeline.bundle import bundled_recognizer_path, load_bundle

    return load_bundle(bundled_recognizer_path())


def test_bundle_is_the_graph_on_device_runs_with_the_checkpoints_record(graph_parts, torch_parts):
    graph, classifier = graph_parts.classifier, torch_parts.classifier
    assert graph.backend == "onnx" and classifier.backend == "torch"
    assert graph.class_names == classifier.class_names and graph.temperature == classifier.temperature
    assert graph.views == classifier.views and len(graph.members) == len(classifier.members)
    assert graph.config.points == classifier.config.points
    assert graph_parts.calibration == torch_parts.calibration
    assert graph.input_names[-1] == "is_left"  # the page's inputs: MediaPipe's landmarks as given
    assert (graph_parts.pixel is None) == (torch_parts.pixel is None)


def test_graph_gives_the_checkpoints_probabilities_on_real_hands(hands, graph_parts, torch_parts):
    from signlens.pipeline.hands import mirrored

    graph, classifier = graph_parts.classifier, torch_parts.classifier
    read = [h for _, h in hands] + [mirrored(h, rgb.shape[1]) for rgb, h in hands]  # and the other hand
    world = np.stack([h.world_points for h in read])
    image = np.stack([h.image_points for h in read])
    handedness = [h.handedness for h in read]
    assert {"Left", "Right"} <= set(handedness)
    reference = classifier.calibrated(classifier.hand_logits(world, image, handedness))
    probs = graph.calibrated(graph.hand_logits(world, image, handedness))
    assert len(probs) >= 4 * len(HAND_LETTERS) - 2
    assert np.abs(probs - reference).max() < ATOL
    assert (probs.argmax(1) == reference.argmax(1)).all()


def test_pixel_graph_gives_the_checkpoints_fused_answer_on_real_crops(hands, graph_parts, torch_parts):
    if torch_parts.pixel is None:
        pytest.skip("the bundled recogniser has no pixel member")
    graph, torch_pixel = graph_parts.pixel, torch_parts.pixel
    assert graph.classifier.backend == "onnx" and torch_pixel.classifier.backend == "torch"
    assert (graph.weight, graph.below, graph.temperature, graph.masked) == (
        torch_pixel.weight, torch_pixel.below, torch_pixel.temperature, torch_pixel.masked,
    )  # fmt: skip
    landmarks = torch_parts.classifier.hand_logits(
        np.stack([h.world_points for _, h in hands]), np.stack([h.image_points for _, h in hands]),
        [h.handedness for _, h in hands],
    )  # fmt: skip
    from dataclasses import replace

    from signlens.pipeline.answer import AnswerRule, answer

    rule = AnswerRule(1.0, fusion=replace(graph.fusion, below=1.01))  # fused on every crop
    for (rgb, hand), row in zip(hands, landmarks, strict=True):
        ours, theirs = graph.logits(rgb, hand), torch_pixel.logits(rgb, hand)
        fused = answer(row[None], None, ours, None, rule).probs
        reference = answer(row[None], None, theirs, None, rule).probs
        assert np.abs(fused - reference).max() < ATOL and fused.argmax() == reference.argmax()


def test_recognizer_answers_as_the_checkpoint_did(graph_parts):
    """The whole recogniser, bundle against checkpoint (second reading and pixel member always asked)."""
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.pipeline.recognizer import Recognizer

    with Recognizer() as ours, Recognizer(bundled_recognizer_path()) as theirs:
        assert ours.classifier.backend == "onnx" and theirs.classifier.backend == "torch"
        assert ours.describe() == {**theirs.describe(), "name": "bundled recogniser"}
        for r in (ours, theirs):
            r.second_below = 1.01  # read every hand twice
            if r.pixel is not None:
                r.pixel.below = 1.01  # and fuse the crop into every answer
        for letter in HAND_LETTERS:
            a, b = ours.recognize(fixture_photo(letter)), theirs.recognize(fixture_photo(letter))
            assert a.label == b.label and [n for n, _ in a.top] == [n for n, _ in b.top]
            assert abs(a.confidence - b.confidence) < ATOL


def test_mirror_tta_other_than_the_graphs_loads_the_checkpoint():
    """The graph reads mirrored hands as it was exported; asking otherwise runs the checkpoint in torch."""
    from signlens.pipeline.recognizer import Recognizer

    with Recognizer(mirror_tta=False) as plain:
        assert plain.classifier.backend == "torch" and plain.describe()["name"] == "bundled recogniser"
        assert plain.recognize(fixture_photo("B")).label == "B"


def test_stale_or_missing_bundle_is_refused(tmp_path):
    from signlens.pipeline.bundle import bundled_recognizer_path, load_bundle

    assets = bundled_recognizer_path().parent
    for name in ("recognizer.onnx", "recognizer-pixel.onnx"):
        if (assets / name).is_file():
            shutil.copy(assets / name, tmp_path / name)
    (tmp_path / "recognizer.pt").write_bytes(bundled_recognizer_path().read_bytes() + b"rebuilt")
    with pytest.raises(SignlensError, match="export_runtime.py"):
        load_bundle(tmp_path / "recognizer.pt")
    (tmp_path / "recognizer.onnx").unlink()
    with pytest.raises(SignlensError, match="missing"):
        load_bundle(tmp_path / "recognizer.pt")


def test_export_runtime_writes_a_bundle_that_loads(tmp_path, graph_parts):
    from signlens.export.runtime_bundle import export_runtime
    from signlens.pipeline.bundle import bundled_recognizer_path, load_bundle

    weights = tmp_path / "recognizer.pt"
    shutil.copy(bundled_recognizer_path(), weights)
    (tmp_path / "recognizer-pixel.onnx").write_bytes(
        b"stale"
    )  # replaced, or removed for a landmark-only model
    report = export_runtime(weights, tmp_path)
    assert report["landmarks"]["passed"] and report["landmarks"]["max_abs_prob_diff"] < ATOL
    assert report["landmarks"]["samples"] >= 512 and report["landmarks"]["top1_agreement"] == 1.0
    parts = load_bundle(weights)
    assert parts.classifier.class_names == graph_parts.classifier.class_names
    assert (parts.pixel is None) == (graph_parts.pixel is None) == ("pixel" not in report)
    assert (tmp_path / "recognizer-pixel.onnx").is_file() == (parts.pixel is not None)


def test_a_landmark_only_model_exports_and_answers_without_a_pixel_graph(tmp_path, hands):
    """What the next build ships: landmark members only; a pixel graph left from before is removed."""
    from signlens.engine.checkpoint import load_checkpoint, save_checkpoint
    from signlens.export.runtime_bundle import export_runtime
    from signlens.pipeline.bundle import bundled_recognizer_path, load_bundle, load_file
    from signlens.pipeline.recognizer import Recognizer

    payload = load_checkpoint(bundled_recognizer_path())
    payload.pop("pixel", None)
    payload["calibration"] = {k: v for k, v in payload["calibration"].items() if k != "fusion"}
    weights = tmp_path / "recognizer.pt"
    save_checkpoint(weights, payload)
    (tmp_path / "recognizer-pixel.onnx").write_bytes(b"left from a build with a pixel member")
    report = export_runtime(weights, tmp_path)
    assert "pixel" not in report and not (tmp_path / "recognizer-pixel.onnx").exists()
    parts, reference = load_bundle(weights), load_file(weights)
    assert parts.pixel is None and reference.pixel is None
    ours = Recognizer.from_parts(parts.classifier, None, calibration=parts.calibration)
    theirs = Recognizer.from_parts(reference.classifier, None, calibration=reference.calibration)
    for rgb, hand in hands:  # no detector of their own: the fixture photos' hands, both readings
        a, b = ours.classify(hand, rgb), theirs.classify(hand, rgb)
        assert a.label == b.label and abs(a.confidence - b.confidence) < ATOL
        assert [n for n, _ in a.top] == [n for n, _ in b.top]


def test_a_recognizer_graph_given_as_weights_loads_in_onnxruntime(graph_parts):
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.pipeline.recognizer import Recognizer

    with Recognizer(bundled_recognizer_path().with_name("recognizer.onnx")) as r:
        assert r.classifier.backend == "onnx" and r.recognize(fixture_photo("B")).label == "B"
        assert r.threshold == Recognizer.create().threshold  # its record travels in the graph
    with pytest.raises(SignlensError, match="give its checkpoint"):
        Recognizer(bundled_recognizer_path().with_name("recognizer.onnx"), mirror_tta=True)


NO_TORCH = """
import atexit, sys
atexit.register(lambda: print("torch imported" if "torch" in sys.modules else "no torch", file=sys.stderr))
sys.argv = ["signlens", *sys.argv[1:]]
from signlens.cli.main import main
main()
"""


def test_predict_imports_no_torch():
    photos = [str(fixture_photo(letter)) for letter in "AB"]
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, "predict", *photos, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "no torch"
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["label"] for a in answers] == ["A", "B"]


HANDS_ALONE = """
import sys
from signlens.pipeline.hands import HandDetector, read_rgb
hand = HandDetector().detect(read_rgb(sys.argv[1]))
print(hand.handedness, sorted(m for m in ("matplotlib", "sounddevice", "mediapipe.tasks") if m in sys.modules))
import mediapipe
hands = sys.modules["mediapipe.python.solutions.hands"]
print(mediapipe.__version__, mediapipe.solutions.hands is hands, mediapipe.solutions.drawing_utils.__name__,
      mediapipe.tasks.vision.HandLandmarker.__name__, "matplotlib" in sys.modules)
"""


def test_hand_detection_imports_mediapipes_hand_solution_alone_and_the_rest_on_demand():
    """MediaPipe's package imports every solution's drawing helpers (matplotlib) and its audio tasks; the
    detector imports the hands solution alone, and whoever asks mediapipe for more still gets it."""
    done = subprocess.run(
        [sys.executable, "-c", HANDS_ALONE, str(fixture_photo("A"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    detected, whole = done.stdout.strip().splitlines()
    assert detected.split(" ", 1)[1] == "[]"
    version, same, drawing, landmarker, plotted = whole.split()
    assert version.count(".") == 2 and same == "True" and plotted == "True"
    assert drawing == "mediapipe.python.solutions.drawing_utils" and landmarker == "HandLandmarker"


def test_a_checkpoint_given_as_weights_still_runs_through_torch():
    from signlens.pipeline.bundle import bundled_recognizer_path

    weights = str(bundled_recognizer_path())
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, "predict", str(fixture_photo("A")), "--json", "--weights", weights],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "torch imported"
    assert json.loads(done.stdout)["label"] == "A"


def test_the_package_imports_for_the_runtime_load_no_torch():
    code = (
        "import sys, signlens, signlens.data.images, signlens.inference, signlens.pipeline.recognizer, "
        "signlens.serve.app, signlens.cli.main; print(sorted(m for m in sys.modules if m.startswith('torch'))[:3])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


SERVE = """
import sys
from pathlib import Path
from pathlib import Path

import httpx

sys.path.insert(0, sys.argv[1])
from serve_helpers import auth, running_server
from signlens.serve.settings import Settings

settings = Settings()
with running_server(settings) as url:
    data = Path(sys.argv[2]).read_bytes()
    files = {"file": ("photo.jpg", data, "image/jpeg")}
    answer = httpx.post(url + "/v1/recognize", files=files, headers=auth(settings), timeout=60).json()
print(answer["label"], "torch imported" if "torch" in sys.modules else "no torch")
"""


def test_the_server_answers_with_no_torch():
    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", SERVE, tests, str(fixture_photo("B"))],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["B", "no", "torch"]
