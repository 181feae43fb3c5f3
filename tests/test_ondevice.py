"""On-device recognition: the recogniser exported as one ONNX graph, checked against the Python
recogniser on landmarks of real photos (ONNX Runtime, then onnxruntime-web under Node), and the browser's
speller against the Python one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import HAND_LETTERS, fixture_photo, run_cli
from signlens.data.landmarks import LandmarkFeatures, landmark_features
from signlens.export import graph_features as gf

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
ORT_WEB = ROOT / "web" / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"


def needs(what: str, present: bool, hint: str):
    """Skip with a hint where a tool is missing, except under CI, where it must be there."""
    if not present:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing under CI: {hint}")
        pytest.skip(f"{what} missing: {hint}")


def needs_node(web: bool = False):
    needs("node", NODE is not None, "apt-get install nodejs npm")
    if web:
        needs("onnxruntime-web", ORT_WEB.is_file(), "run `make install` (npm ci in web/)")


def random_hands(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 21, 3, generator=g) * 0.04


@pytest.mark.parametrize("form", ["vector", "mask"])
@pytest.mark.parametrize("rotation_free", [False, True])
def test_graph_features_equal_the_training_features(form, rotation_free):
    spec = LandmarkFeatures("world", rotation_free, form, 32)
    hands = random_hands(64)
    mirrored = torch.cat([hands, hands * torch.tensor([-1.0, 1.0, 1.0])])
    expected = landmark_features(mirrored, spec)
    got = gf.features(hands, spec, mirrored=True)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


@pytest.fixture(scope="module")
def photo_landmarks(tmp_path_factory):
    """Landmark sets (photo and mirrored views) of the fixture photos, extracted as the recogniser's
    build does: a sample, so the test stays fast; benchmarks/ondevice.py checks every shared photo."""
    from signlens.study.recognizer.extract import extract_landmarks

    root = tmp_path_factory.mktemp("photos")
    for letter in HAND_LETTERS:
        (root / letter).mkdir()
        shutil.copy(fixture_photo(letter), root / letter)
    out = root.parent / "photo-sample.npz"
    extract_landmarks(str(root), out, views=("photo", "mirrored"))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory, photo_landmarks):
    from signlens.export.recognizer_graph import export_recognizer
    from signlens.pipeline.bundle import bundled_recognizer_path

    out = tmp_path_factory.mktemp("graph") / "recognizer.onnx"
    report = export_recognizer(bundled_recognizer_path(), out, str(photo_landmarks))
    return out, report


def test_exported_graph_matches_the_python_recogniser(exported, photo_landmarks):
    from signlens.data.landmarks import load_landmark_file

    out, report = exported
    rows = len(load_landmark_file(photo_landmarks)["labels"])
    p = report["parity"]
    assert p["samples"] == rows == 2 * len(HAND_LETTERS)  # each photo and its mirror image
    assert p["top1_agreement"] >= 0.995 and p["max_abs_prob_diff"] <= 1e-3 and p["passed"]
    saved = json.loads(out.with_name(out.name + ".json").read_text())
    assert saved["class_names"] == list("ABCDEFGHIKLMNOPQRSTUVWXY") and saved["inputs"][-1] == "is_left"


def test_graph_takes_any_batch_and_sums_to_one(exported):
    from signlens.export.recognizer_graph import example_inputs, onnx_session

    out, report = exported
    session = onnx_session(out)
    for batch in (1, 5):
        tensors = example_inputs(report["inputs"], batch)
        feeds = {k: v.numpy() for k, v in zip(report["inputs"], tensors, strict=True)}
        probs = session.run(None, feeds)[0]
        assert probs.shape == (batch, 24) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_export_verb_routes_a_recogniser_and_refuses_int8(tmp_path, monkeypatch, capsys):
    from signlens.pipeline.bundle import bundled_recognizer_path

    weights, out = bundled_recognizer_path(), tmp_path / "r.onnx"
    args = ["export", "--weights", weights, "--out", out, "--parity-samples", "32"]
    code, stdout, _ = run_cli(args, monkeypatch, capsys)
    assert code == 0 and out.is_file() and "top-1 agreement 100.00%" in stdout
    code, _, err = run_cli([*args, "--int8"], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_onnxruntime_web_gives_the_python_probabilities(exported, photo_landmarks, tmp_path):
    """The same graph in onnxruntime-web (WebAssembly, under Node) against the Python recogniser."""
    needs_node(web=True)
    from signlens.data.landmarks import load_landmark_file
    from signlens.export.recognizer_graph import graph_inputs
    from signlens.inference import LandmarkClassifier
    from signlens.pipeline.bundle import bundled_recognizer_path

    out, report = exported
    data = load_landmark_file(photo_landmarks)
    feeds = graph_inputs(data, report["inputs"])
    payload = {
        "rows": len(data["labels"]),
        "inputs": {k: {"dims": list(v.shape[1:]), "data": v.ravel().tolist()} for k, v in feeds.items()},
    }
    (tmp_path / "in.json").write_text(json.dumps(payload))
    script = ROOT / "tests" / "js" / "graph_parity.mjs"
    subprocess.run([NODE, script, out, tmp_path / "in.json", tmp_path / "out.json"], check=True, timeout=120)
    web = np.asarray(json.loads((tmp_path / "out.json").read_text())["probabilities"])
    from signlens.export.recognizer_graph import python_probabilities

    reference = python_probabilities(LandmarkClassifier.from_checkpoint(bundled_recognizer_path()), data)
    assert web.shape == reference.shape
    assert (web.argmax(1) == reference.argmax(1)).mean() >= 0.995
    assert np.abs(web - reference).max() <= 1e-3


def test_graph_of_a_mixed_ensemble_matches_python():
    """Members of every kind the recogniser has shipped (an MLP, and a CNN over the drawn skeleton mask,
    with and without the mirrored reading, image and world points): the graph draws the masks itself."""
    from signlens.data.configs import LandmarkConfig
    from signlens.export.recognizer_graph import (
        RecognizerGraph,
        graph_inputs,
        onnx_session,
        parity,
        python_probabilities,
        run_session,
        synthetic_hands,
        to_onnx_bytes,
    )
    from signlens.inference import LandmarkClassifier
    from signlens.models.registry import create_model

    torch.manual_seed(0)
    for points in ("world", "both"):
        vector, mask = LandmarkConfig(points=points, mirror=0.5), LandmarkConfig(points=points, form="mask")
        dim = LandmarkFeatures.of(vector).dim
        members = [
            (create_model("landmark-mlp", 5, in_features=dim), vector),
            (
                create_model("fast-cnn", 5, in_chans=LandmarkFeatures.of(mask).mask_channels, img_size=32),
                mask,
            ),
        ]
        for model, _ in members:  # random, not-yet-trained statistics so BatchNorm does something
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        classifier = LandmarkClassifier(members, list("ABCDE"), temperature=0.7)
        graph = RecognizerGraph(classifier)
        session = onnx_session(to_onnx_bytes(graph))
        data = synthetic_hands(64, seed=1)
        probs = run_session(session, graph_inputs(data, graph.input_names))
        result = parity(python_probabilities(classifier, data), probs)
        assert result["passed"] and result["max_abs_prob_diff"] < 1e-4, (points, result)


def test_cpu_landmark_bundle_holds_the_python_pipelines_models(tmp_path):
    """hand_landmarker.task (tasks-vision's bundle for the page's CPU path) is built from the mediapipe
    Python package's full palm and landmark models, byte for byte, under the names tasks-vision reads."""
    import importlib.util
    import zipfile

    import mediapipe

    spec = importlib.util.spec_from_file_location("build_ondevice", ROOT / "scripts" / "build_ondevice.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    record = build.hand_landmarker_task(tmp_path / "hand_landmarker.task")
    modules = Path(mediapipe.__file__).parent / "modules"
    with zipfile.ZipFile(tmp_path / "hand_landmarker.task") as bundle:
        assert sorted(bundle.namelist()) == ["hand_detector.tflite", "hand_landmarks_detector.tflite"]
        assert (
            bundle.read("hand_detector.tflite")
            == (modules / "palm_detection" / "palm_detection_full.tflite").read_bytes()
        )
        landmarks = (modules / "hand_landmark" / "hand_landmark_full.tflite").read_bytes()
        assert bundle.read("hand_landmarks_detector.tflite") == landmarks
        assert all(i.compress_type == zipfile.ZIP_STORED for i in bundle.infolist())
    assert record["mediapipe"] == mediapipe.__version__
