"""signlens report on a study (whose best run it analyses) and a cross-validation: every section is on the page that headless
Chromium renders, and its numbers are the ones in the directory's own files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import run_cli

SECTIONS = ("comparison", "curves", "confusion", "pairs", "errors", "gradcam", "calibration", "latency")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("headless Chromium not found (apt-get install chromium)")


def render(page, tmp_path, screenshot: bool = False) -> str:
    """The DOM as Chromium built it (after a screenshot proves the page renders, when asked)."""
    browser = chromium()
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    if screenshot:
        shot = tmp_path / f"{page.stem}.png"
        subprocess.run([*args, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
                       capture_output=True, timeout=60, check=True)  # fmt: skip
        assert shot.stat().st_size > 10_000
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-500:]
    return dom.stdout


def section(dom: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', dom, re.S)
    assert match, f"section {key} missing"
    return match.group(1)


def check_page(dom: str, accuracy: float) -> None:
    for key in SECTIONS:
        section(dom, key)
    for key in ("curves", "confusion", "gradcam", "calibration"):
        assert "data:image/png;base64," in section(dom, key), key
    assert f"its test accuracy {100 * accuracy:.2f}%" in section(dom, "comparison")
    cells = re.findall(r"<td>([0-9.]+)</td>", section(dom, "calibration"))
    temperature, before, after = map(float, cells[:3])
    assert temperature > 0 and 0 <= before <= 1 and 0 <= after <= 1
    assert len(re.findall(r"<tr><td>(1|32)</td>", section(dom, "latency"))) == 2


def test_report_on_a_study_and_a_cv(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    design = tmp_path / "s.yaml"
    design.write_text(yaml.safe_dump({
        "name": "s", "seeds": [0], "space": {"optimizer": ["adam", "sgd"]},
        "base": {"data": str(tiny_csv_dir), "model": "baseline-cnn", "epochs": 2, "batch_size": 32, "threads": 1},
    }))  # fmt: skip
    study = tmp_path / "study"
    assert run_cli(["study", "--config", design, "--out", study, "--quiet"], monkeypatch, capsys)[0] == 0
    code, stdout, err = run_cli(["report", study], monkeypatch, capsys)
    assert code == 0, err
    rows = json.loads((study / "study.json").read_text())["rows"]
    dom = render(study / "report.html", tmp_path, screenshot=True)
    best = json.loads((study / rows[0]["run_dirs"][0] / "metrics.json").read_text())
    check_page(dom, best["test"]["accuracy"])
    table = section(dom, "comparison")
    for row in rows:
        assert f"{100 * row['test_mean']:.2f} +- {100 * row['test_std']:.2f}%" in table
    markdown = (study / "report.md").read_text()
    assert "## Reliability and calibration" in markdown and (study / "report_files" / "gradcam.png").is_file()

    # The analysed model is the best configuration's run directory: its own metrics, the same page.
    run = study / rows[0]["run_dirs"][0]
    assert f"Model analysed: {run}" in section(dom, "comparison")
    from signlens.study.report import describe

    alone = describe(run)  # the same directory given alone: a run report's comparison row
    metrics = json.loads((run / "metrics.json").read_text())
    assert alone["kind"] == "run" and alone["rows"][0][2] == f"{100 * metrics['test']['accuracy']:.2f}%"

    cv = tmp_path / "cv"
    common = ["--model", "baseline-cnn", "--epochs", "2", "--batch-size", "32", "--threads", "1", "--quiet"]
    assert (
        run_cli(["cv", "--data", tiny_csv_dir, *common, "--folds", "2", "--out", cv], monkeypatch, capsys)[0]
        == 0
    )
    code, _, err = run_cli(["report", cv], monkeypatch, capsys)
    assert code == 0, err
    result = json.loads((cv / "cv.json").read_text())
    dom = render(cv / "report.html", tmp_path)
    check_page(dom, result["folds"][0]["accuracy"])  # fold 1's held-out images, rebuilt exactly
    mean = f"{100 * result['mean']['accuracy']:.2f} +- {100 * result['std']['accuracy']:.2f}%"
    assert mean in section(dom, "comparison")

    code, _, err = run_cli(["report", tmp_path], monkeypatch, capsys)
    assert code == 2 and "not a run" in err
