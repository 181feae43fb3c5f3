"""Exports carry the checkpoint's calibration temperature, and every loader applies it: `predict` with an
ONNX, int8 ONNX or TorchScript export gives the checkpoint's calibrated probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import pattern_images, run_cli, write_four_class_csvs
from signlens.engine import Trainer, build_config
from signlens.engine.checkpoint import load_checkpoint, save_checkpoint
from signlens.errors import SignlensError
from signlens.export.exporter import export_model, rewrite_onnx_metadata
from signlens.inference import load_classifier
from signlens.inference import metadata as md
from signlens.inference.protocol import softmax

TEMPERATURE = 2.5


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A few epochs of fast-cnn on the tiny four-class CSVs, its best.pt given a fitted temperature."""
    root = tmp_path_factory.mktemp("calib")
    data = write_four_class_csvs(root / "tiny", train_each=40, test_each=10)
    overrides = {"epochs": 2, "batch_size": 32, "lr": 3e-3, "threads": 1, "seed": 0}
    Trainer(
        build_config(str(data), model="fast-cnn", overrides=overrides), root / "run", progress=False
    ).fit()
    weights = root / "run" / "best.pt"
    payload = load_checkpoint(weights)
    payload["calibration"] = {"temperature": TEMPERATURE, "fitted_on": "validation (16 samples)"}
    save_checkpoint(weights, payload)
    return weights


def test_every_export_gives_the_checkpoints_calibrated_probabilities(calibrated, tmp_path):
    images = pattern_images(np.arange(8) % 4, seed=5)
    reference = load_classifier(calibrated)
    assert reference.temperature == TEMPERATURE
    expected = reference.predict_proba(images)
    # The temperature matters here: without it the probabilities would be visibly sharper.
    assert np.abs(expected - softmax(reference.logits(images))).max() > 1e-2

    for fmt, int8, name in (("onnx", False, "m.onnx"), ("torchscript", False, "m.torchscript"), ("onnx", True, "m.int8.onnx")):  # fmt: skip
        report = export_model(
            calibrated, fmt, tmp_path / name, int8=int8, parity_samples=16, calib_samples=16
        )
        assert report["temperature"] == TEMPERATURE
        exported = load_classifier(tmp_path / name)
        assert exported.temperature == TEMPERATURE, name
        assert exported.meta["calibration"]["fitted_on"] == "validation (16 samples)"
        probs = exported.predict_proba(images)
        if int8:  # other logits, the same temperature
            np.testing.assert_allclose(probs, softmax(exported.logits(images) / TEMPERATURE), atol=1e-6)
            assert (probs.argmax(1) == expected.argmax(1)).all()
        else:
            np.testing.assert_allclose(probs, expected, atol=1e-5, err_msg=name)


def test_predict_reports_the_same_confidence_from_the_export(calibrated, tmp_path, monkeypatch, capsys):
    photo = tmp_path / "crop.png"
    Image.fromarray(pattern_images(np.array([2]), seed=7)[0]).save(photo)
    export_model(calibrated, "onnx", tmp_path / "m.onnx", parity_samples=8)
    answers = []
    for weights in (calibrated, tmp_path / "m.onnx"):
        code, out, err = run_cli(["predict", "--weights", weights, photo, "--json"], monkeypatch, capsys)
        assert code == 0, err
        answers.append(json.loads(out.strip().splitlines()[0]))
    assert answers[0]["label"] == answers[1]["label"]
    assert answers[0]["confidence"] == pytest.approx(answers[1]["confidence"], abs=1e-5)
    assert answers[0]["confidence"] < 0.99  # T = 2.5 softens the easy image's near-certain answer


def test_an_export_with_a_bad_temperature_is_refused_naming_it(calibrated, tmp_path):
    path = tmp_path / "m.onnx"
    export_model(calibrated, "onnx", path, parity_samples=8)
    meta = md.decode(load_classifier(path).session.get_modelmeta().custom_metadata_map, str(path))
    for bad in (-1, 0, "hot", float("nan")):
        rewrite_onnx_metadata(path, md.encode({**meta, "calibration": {"temperature": bad}}))
        with pytest.raises(SignlensError, match="m.onnx: calibration temperature"):
            load_classifier(path)
