"""Every trained classifier is calibrated when its run finishes: the temperature is fitted on the
validation split (never the test), reported in metrics.json with the ECE before and after, stored in
best.pt, and applied by the loaded classifier's probabilities (what predict reports)."""

from __future__ import annotations

import json

import numpy as np
import torch
import torch.nn.functional as F

from conftest import run_cli
from signlens.engine import TrainConfig
from signlens.engine.checkpoint import load_checkpoint
from signlens.engine.rundata import run_splits
from signlens.inference import load_classifier


def test_a_finished_run_is_calibrated_on_validation(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", tiny_csv_dir, "--model", "baseline-cnn", "--epochs", "2", "--batch-size", "32",
            "--threads", "1", "--quiet", "--out", run]  # fmt: skip
    code, _, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    calibration = json.loads((run / "metrics.json").read_text())["calibration"]
    temperature = calibration["temperature"]
    assert temperature > 0 and all(0 <= calibration[k] <= 1 for k in calibration if k.startswith("ece"))
    assert abs(load_checkpoint(run / "best.pt")["calibration"]["temperature"] - temperature) < 1e-4

    classifier = load_classifier(run / "best.pt")
    assert abs(classifier.temperature - temperature) < 1e-4
    _, _, val, test = run_splits(TrainConfig.from_dict(classifier.train_config))
    assert calibration["fitted_on"] == f"validation ({len(val.labels)} samples)"
    logits = classifier.logits(val.images)
    labels = torch.as_tensor(val.labels)

    def nll(t: float) -> float:
        return float(F.cross_entropy(torch.as_tensor(logits) / t, labels))

    t = classifier.temperature
    assert nll(t) <= min(nll(t * 1.25), nll(t / 1.25)) + 1e-6  # the fitted T minimises validation NLL
    probs = classifier.predict_proba(test.images[:8])
    expected = torch.softmax(torch.as_tensor(classifier.logits(test.images[:8])) / t, 1).numpy()
    assert np.allclose(probs, expected, atol=1e-5)  # predict's probabilities use the temperature
