"""signlens study: the design file, a grid over seeds end to end (SQLite), resuming after a failed
trial and after a dead worker, and the results table checked against the run directories' files."""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from signlens.errors import SignlensError
from signlens.study.spec import load_study_file


def write_study(path: Path, data: Path, **extra) -> Path:
    design = {
        "name": "tiny",
        "description": "two optimizers x two seeds, one epoch each",
        "base": {"data": str(data), "model": "baseline-cnn", "epochs": 1, "batch_size": 32, "threads": 1},
        "seeds": [0, 1],
        "space": {"optimizer": ["sgd", "adam"]},
        **extra,
    }
    path.write_text(yaml.safe_dump(design))
    return path


def test_design_errors_name_the_problem(tmp_path):
    cases = [
        ({"sampler": "grid", "space": {"lr": {"low": 1e-4, "high": 1e-2}}}, "grid study needs listed values"),
        ({"protocol": {"split": "random"}}, "protocol.split must be one of"),
        ({"space": {"colour": [1, 2]}}, "not a config key"),
        ({"space": {"augmentation": {"off": {"augment": {"spin": 3}}}}}, "unknown augment key"),
        ({"sampler": "tpe"}, "needs n_trials"),
        ({"protocol": {"split": "signer", "select": "val"}}, "select: val needs split: test"),
        ({"colour": 1}, "unknown study key"),
    ]
    for extra, message in cases:
        path = write_study(tmp_path / "s.yaml", tmp_path, **extra)
        with pytest.raises(SignlensError, match=message):
            load_study_file(path)
    parts = tmp_path / "p.yaml"
    parts.write_text(
        yaml.safe_dump(
            {
                "name": "two",
                "base": {"data": "sign-mnist", "epochs": 1},
                "parts": [
                    {"name": "a", "space": {"lr": [0.1]}},
                    {"name": "b", "protocol": {"split": "kfold"}},
                ],
            }
        )
    )
    a, b = load_study_file(parts)
    assert (a.name, b.name, a.base["epochs"], b.protocol.select) == ("a", "b", 1, "test")
    assert a.config_for({"lr": 0.1}, 3).lr == 0.1 and a.config_for({"lr": 0.1}, 3).seed == 3


def _complete_points(db: Path) -> list[tuple]:
    import optuna

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    return study, sorted(
        (t.params["optimizer"], t.params["seed"])
        for t in study.get_trials()
        if t.state == optuna.trial.TrialState.COMPLETE
    )


def test_grid_study_end_to_end_resumes_and_retries(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    import optuna

    design = write_study(tmp_path / "tiny.yaml", tiny_csv_dir)
    out = tmp_path / "study"
    code, stdout, err = run_cli(
        ["study", "--config", design, "--out", out, "--n-trials", "1"], monkeypatch, capsys
    )
    assert code == 0, err
    assert "1 complete, 3 waiting; ran 1 here" in stdout  # the grid is queued

    # Workers take two queued points: one trial fails, one worker dies mid-trial (a heartbeat, then silence).
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{out / 'study.db'}", heartbeat_interval=1, grace_period=3
    )
    study = optuna.load_study(study_name="tiny", storage=storage)
    failed, dead = study.ask(), study.ask()
    for trial in (failed, dead):
        trial.suggest_categorical("optimizer", ["sgd", "adam"]), trial.suggest_categorical("seed", [0, 1])
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    storage.record_heartbeat(dead._trial_id)
    time.sleep(3.5)  # older than the grace period (3 x --heartbeat 1)

    code, stdout, err = run_cli(
        ["study", "--config", design, "--out", out, "--heartbeat", "1"], monkeypatch, capsys
    )
    assert code == 0, err
    assert "ran 3 here" in stdout  # the two lost points and the one never started
    study, done = _complete_points(out / "study.db")
    assert done == sorted((o, s) for o in ("sgd", "adam") for s in (0, 1))  # each point exactly once
    states = {t.number: t.state for t in study.get_trials()}
    assert states[failed.number] == states[dead.number] == optuna.trial.TrialState.FAIL

    # The table: one row per optimizer, mean +- sample std of the run directories' own test accuracy.
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert sorted(r["optimizer"] for r in rows) == ["adam", "sgd"]
    for row in rows:
        assert row["seeds"] == "2"
        accuracies = []
        for number in row["trials"].split():
            metrics = json.loads((out / "trials" / f"t{int(number):04d}" / "metrics.json").read_text())
            accuracies.append(metrics["test"]["accuracy"])
        assert float(row["test_mean"]) == pytest.approx(statistics.mean(accuracies))
        assert float(row["test_std"]) == pytest.approx(statistics.stdev(accuracies))
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["optimizer"] == rows[0]["optimizer"] and best["epochs"] == 1 and "seed" not in best
    markdown = (out / "results.md").read_text()
    assert "| optimizer | seeds |" in markdown and "2 fail" in markdown

    # Rerunning a finished study runs nothing; a changed design is refused, not mixed in.
    code, stdout, _ = run_cli(["study", "--config", design, "--out", out], monkeypatch, capsys)
    assert code == 0 and "ran 0 here" in stdout
    write_study(design, tiny_csv_dir, seeds=[0, 1, 2])
    code, _, err = run_cli(["study", "--config", design, "--out", out], monkeypatch, capsys)
    assert code == 2 and "different design" in err


def test_tpe_study_counts_pruned_trials_and_stops_at_n_trials(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    design = write_study(
        tmp_path / "tpe.yaml", tiny_csv_dir, sampler="tpe", n_trials=3, seeds=[0],
        space={"lr": {"low": 0.0003, "high": 0.01, "log": True}, "optimizer": ["adam", "sgd"]},
    )  # fmt: skip
    out = tmp_path / "tpe"
    code, stdout, err = run_cli(
        ["study", "--config", design, "--out", out, "--n-trials", "2"], monkeypatch, capsys
    )
    assert code == 0 and "ran 2 here" in stdout, err
    code, stdout, err = run_cli(["study", "--config", design, "--out", out], monkeypatch, capsys)
    assert code == 0 and "ran 1 here" in stdout, err  # the study's n_trials, not this worker's
    summary = json.loads((out / "study.json").read_text())
    assert summary["counts"]["complete"] + summary["counts"]["pruned"] == 3
    assert sum(len(r["trials"]) for r in summary["rows"]) == summary["counts"]["complete"]
    assert all(0 < r["lr"] < 0.011 and r["seeds"] == 1 for r in summary["rows"])


def test_study_cli_errors_are_one_line(tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(["study", "--config", tmp_path / "none.yaml"], monkeypatch, capsys)
    assert code == 2 and "study file not found" in err
    design = write_study(tmp_path / "s.yaml", tmp_path)
    code, _, err = run_cli(["study", "--config", design, "--storage", "mysql://x"], monkeypatch, capsys)
    assert code == 2 and "--storage must be" in err and "Traceback" not in err
