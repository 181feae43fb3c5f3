"""End to end on tiny generated data: train -> run directory -> val -> predict, resume, and bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import run_cli
from signlens.engine import Trainer, build_config
from signlens.engine.checkpoint import load_checkpoint
from signlens.evaluation import finish_run

FAST = {"epochs": 4, "batch_size": 32, "lr": 3e-3, "threads": 1}


def test_train_writes_a_complete_run_directory(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(
        ["train", "--data", tiny_csv_dir, "--model", "custom-cnn", "--epochs", 4, "--batch-size", 32,
         "--lr", 3e-3, "--seed", 0, "--out", out, "--quiet", "--threads", 1],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0
    for name in (
        "config.yaml",
        "history.csv",
        "best.pt",
        "last.pt",
        "curves.png",
        "confusion_matrix.png",
        "metrics.json",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    test = metrics["test"]
    assert {"accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "num_samples"} <= set(
        test
    )
    # Sign MNIST CSVs always carry the 24 letters, even when a file holds only some of them.
    assert test["num_samples"] == 80 and len(test["per_class"]) == 24
    assert [test["per_class"][c]["support"] for c in "ABCK"] == [20, 20, 20, 20]
    assert test["accuracy"] >= 0.95  # the generated classes are easy
    assert metrics["epochs_run"] == 4 and 1 <= metrics["best_epoch"] <= 4 and metrics["train_seconds"] > 0
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert {"train_loss", "train_macro_f1", "val_accuracy", "val_macro_precision", "val_macro_recall"} <= set(
        rows[0]
    )
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["seed"] == 0 and config["model"] == "custom-cnn"
    prov = config["provenance"]
    assert (
        prov["versions"]["torch"].startswith("2.13") and "sign_mnist_train.csv" in prov["data"]["checksums"]
    )
    assert prov["data"]["num_train"] + prov["data"]["num_val"] == 240
    # The summary line prints metrics.json's figure.
    assert f"accuracy {100 * test['accuracy']:.2f}%" in stdout
    assert config["recipe"] is None  # --model without a recipe
    assert prov["commit"] is None or len(prov["commit"].split("-")[0]) == 40  # None outside a checkout
    assert prov["command"] and prov["created"]

    # The checkpoint is self-describing: val needs nothing but it and the data.
    ckpt = load_checkpoint(out / "best.pt")
    assert ckpt["class_names"] == list("ABCDEFGHIKLMNOPQRSTUVWXY") and ckpt["preprocess"]["img_size"] == 28
    assert len(ckpt["preprocess"]["mean"]) == 1 and ckpt["model"]["name"] == "custom-cnn"
    code, stdout, _ = run_cli(["val", "--weights", out / "best.pt", "--json"], monkeypatch, capsys)
    assert code == 0
    assert json.loads(stdout)["accuracy"] == pytest.approx(test["accuracy"])
    code, stdout, _ = run_cli(
        ["val", "--weights", out / "best.pt", "--split", "val", "--json"], monkeypatch, capsys
    )
    assert json.loads(stdout)["num_samples"] == prov["data"]["num_val"]

    # predict: a rendered test image of class K comes back as K with top-k probabilities.
    from conftest import pattern_images

    image = pattern_images(np.array([10]), seed=5)[0]  # drawn like raw label 10 (K) in the CSV
    Image.fromarray(image).resize((112, 112)).save(tmp_path / "k.png")
    code, stdout, _ = run_cli(
        ["predict", "--weights", out / "best.pt", tmp_path / "k.png", "--json", "-k", 2], monkeypatch, capsys
    )
    result = json.loads(stdout.strip())
    assert result["label"] == "K" and len(result["top"]) == 2 and result["top"][0][1] >= result["top"][1][1]


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_continues_to_the_same_weights(tiny_csv_dir, tmp_path, ema_decay):
    overrides = {**FAST, "deterministic": True, "ema_decay": ema_decay}
    config = build_config(str(tiny_csv_dir), model="fast-cnn", overrides=overrides)
    whole = Trainer(config, tmp_path / "whole", progress=False)
    whole.fit()
    stopped = Trainer(config, tmp_path / "stopped", progress=False)
    stopped.fit(stop_after=2)
    assert load_checkpoint(tmp_path / "stopped" / "last.pt")["epoch"] == 2
    resumed = Trainer.resume(tmp_path / "stopped", progress=False)
    summary = resumed.fit()
    assert summary["epochs_run"] == 4 and len(resumed.state.history) == 4
    for key, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, msg=key)
    for key, value in whole.eval_model.state_dict().items():
        torch.testing.assert_close(resumed.eval_model.state_dict()[key], value, msg=key)


def test_ema_weights_are_what_is_evaluated_and_saved(tiny_csv_dir, tmp_path):
    config = build_config(str(tiny_csv_dir), model="fast-cnn", overrides={**FAST, "ema_decay": 0.9})
    trainer = Trainer(config, tmp_path / "ema", progress=False)
    trainer.fit()
    raw, ema = trainer.model.state_dict(), trainer.eval_model.state_dict()
    saved = load_checkpoint(tmp_path / "ema" / "last.pt")
    weight = "0.weight"  # the first convolution
    assert not torch.allclose(raw[weight], ema[weight])  # an average of past steps, not the last step
    torch.testing.assert_close(saved["state_dict"][weight], ema[weight])
    torch.testing.assert_close(saved["ema"]["raw"][weight], raw[weight])
    assert int(saved["ema"]["n_averaged"]) == 4 * trainer.steps_per_epoch
    assert trainer.evaluate(trainer.val)["accuracy"] >= 0.9


def test_early_stopping_and_test_scored_from_best_epoch(tiny_csv_dir, tmp_path):
    # lr tiny after a good start: validation stops improving, patience 1 ends the run early.
    config = build_config(
        str(tiny_csv_dir), model="fast-cnn",
        overrides={**FAST, "epochs": 30, "patience": 1, "scheduler": "step", "step_size": 1, "gamma": 0.01},
    )  # fmt: skip
    trainer = Trainer(config, tmp_path / "es", progress=False)
    summary = trainer.fit()
    assert summary["stopped_early"] and summary["epochs_run"] < 30
    # Best is the last epoch at the top validation accuracy (ties go to the later epoch).
    accuracies = [row["val_accuracy"] for row in trainer.state.history]
    top = max(accuracies)
    assert summary["best_epoch"] == max(i + 1 for i, a in enumerate(accuracies) if a == top)
    assert summary["epochs_run"] - summary["best_epoch"] <= 1  # patience 1
    metrics = finish_run(tmp_path / "es", summary, trainer.state.history, trainer.test_set, True)
    assert load_checkpoint(tmp_path / "es" / "best.pt")["epoch"] == summary["best_epoch"]
    assert metrics["best_epoch"] == summary["best_epoch"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("scheduler", ["step", "cosine", "onecycle", "plateau", "none"])
def test_every_optimizer_and_schedule_learns(tiny_csv_dir, tmp_path, optimizer, scheduler):
    lr = {"sgd": 0.05, "rmsprop": 1e-3}.get(optimizer, 3e-3)
    config = build_config(
        str(tiny_csv_dir), model="fast-cnn",
        overrides={**FAST, "epochs": 3, "optimizer": optimizer, "scheduler": scheduler, "lr": lr, "grad_clip": 5.0},
    )  # fmt: skip
    trainer = Trainer(config, tmp_path / "o", progress=False)
    trainer.fit()
    first, last = trainer.state.history[0], trainer.state.history[-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_accuracy"] > 0.5  # chance is 0.25


def one_line_error(code, err):
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_bad_input_gives_one_line_and_exit_code_2(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGNLENS_DATA", str(tmp_path / "nowhere"))
    err = one_line_error(
        *run_cli(["train", "--data", "sign-mnist", "--out", tmp_path / "r"], monkeypatch, capsys)[::2]
    )
    assert "sign-mnist" in err and "nowhere" in err
    assert not (tmp_path / "r").exists()  # nothing half written

    bad_csv = tmp_path / "broken.csv"
    bad_csv.write_text("label,pixel1\n1,2\n")
    err = one_line_error(*run_cli(["train", "--data", bad_csv, "--model", "mlp"], monkeypatch, capsys)[::2])
    assert "broken.csv" in err and "header" in err

    not_ckpt = tmp_path / "model.pt"
    not_ckpt.write_bytes(b"garbage")
    err = one_line_error(*run_cli(["val", "--weights", not_ckpt], monkeypatch, capsys)[::2])
    assert "model.pt" in err and "not a signlens checkpoint" in err
    torch.save({"state_dict": {}}, not_ckpt)
    err = one_line_error(*run_cli(["predict", "--weights", not_ckpt, not_ckpt], monkeypatch, capsys)[::2])
    assert "not a signlens checkpoint" in err

    err = one_line_error(
        *run_cli(["train", "--data", tiny_csv_dir, "--model", "resnet1000"], monkeypatch, capsys)[::2]
    )
    assert "unknown model 'resnet1000'" in err


def test_unreadable_image_in_predict_is_named(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    config = build_config(str(tiny_csv_dir), model="fast-cnn", overrides={**FAST, "epochs": 1})
    trainer = Trainer(config, tmp_path / "p", progress=False)
    trainer.fit()
    broken = tmp_path / "photo.jpg"
    broken.write_bytes(b"\xff\xd8 not really")
    err = one_line_error(
        *run_cli(["predict", "--weights", tmp_path / "p" / "best.pt", broken], monkeypatch, capsys)[::2]
    )
    assert "photo.jpg" in err
    err = one_line_error(
        *run_cli(
            ["predict", "--weights", tmp_path / "p" / "best.pt", tmp_path / "missing.png"],
            monkeypatch,
            capsys,
        )[::2]
    )
    assert "missing.png" in err
