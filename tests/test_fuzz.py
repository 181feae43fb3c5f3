"""Fuzz the command line: hundreds of bad inputs generated at test time (tests/fuzz_inputs.py) through
every verb that reads a file, and bad option values through every verb. Each must end with exit code 2
and exactly one line on stderr naming the problem: no traceback, no "internal error", no hang, and no
pickled code run. Run in-process (one interpreter, seconds); the FIFO hang and the MediaPipe abort run
in subprocesses with timeouts, since those failures would take the interpreter down with them."""

from __future__ import annotations

import gc
import io
import os
import signal
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import fuzz_inputs as fz
from conftest import write_sign_mnist_csv

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "signlens" / "assets" / "recognizer.pt"


class CaseTimeout(BaseException):
    """Raised by the alarm: a BaseException, so the CLI's last line of defence cannot swallow it."""


def run_in_process(argv: list[str], seconds: int = 60) -> tuple[int, str, str]:
    from signlens.cli.main import main

    def alarm(*_):
        raise CaseTimeout(f"hung for {seconds}s: {argv}")

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Every generated input, and one real (tiny) image checkpoint to break in many ways."""
    root = tmp_path_factory.mktemp("fuzz")
    old = os.getcwd()
    os.chdir(root)  # verbs that default to runs/... write here
    data = root / "good"
    data.mkdir()
    write_sign_mnist_csv(data / "sign_mnist_train.csv", [0, 1, 2] * 12, seed=1)
    write_sign_mnist_csv(data / "sign_mnist_test.csv", [0, 1, 2] * 4, seed=2)
    code, _, err = run_in_process(["train", "--data", data, "--epochs", "1", "--out", root / "run", "-q"])
    assert code == 0, err
    images = fz.image_files(root / "images")
    good_photo = root / "good.png"
    fz.Image.new("RGB", (64, 48), (90, 60, 30)).save(good_photo)
    world = {
        "root": root,
        "data": data / "sign_mnist_train.csv",
        "ckpt": root / "run" / "best.pt",
        "photo": good_photo,
        "images": images,
        "csvs": fz.csv_files(root / "csv"),
        "zips": fz.zip_files(root / "zip"),
        "folders": fz.folder_sets(root / "folders", images),
        "ckpts": fz.checkpoint_files(root / "ckpt", root / "run" / "best.pt", BUNDLED),
        "yamls": fz.yaml_files(root / "yaml"),
        "npz": fz.landmark_files(root / "npz"),
        "videos": fz.video_files(root / "video"),
    }
    yield world
    os.chdir(old)


def option_cases(w) -> list[tuple[str, list, str]]:
    """Bad option values, verb by verb (each verb's --help lists them)."""
    d, k, p, t = w["data"], w["ckpt"], w["photo"], w["root"]
    a_file = w["csvs"]["empty.csv"]
    train = ["train", "--data", d, "--epochs", "1", "--out", t / "o"]
    bad_train = [
        ["--lr", "nan"],
        ["--lr", "-1"],
        ["--lr", "inf"],
        ["--lr", "abc"],
        ["--seed", "99999999999"],
        ["--seed", "-1"],
        ["--label-smoothing", "2"],
        ["--label-smoothing", "nan"],
        ["--epochs", "0"],
        ["--epochs", "-3"],
        ["--batch-size", "0"],
        ["--in-chans", "2"],
        ["--in-chans", "0"],
        ["--img-size", "0"],
        ["--img-size", "100000"],
        ["--val-fraction", "0"],
        ["--val-fraction", "1"],
        ["--val-fraction", "nan"],
        ["--optimizer", "nope"],
        ["--scheduler", "nope"],
        ["--device", "tpu"],
        ["--classes", "zzz"],
        ["--classes", ","],
        ["--model", "no-such-net"],
        ["--recipe", "nope"],
        ["--model-arg", "x"],
        ["--model-arg", "=1"],
        ["--model-arg", "widths=[[["],
        ["--model-arg", "dropout=abc"],
        ["--model-arg", "bogus=1"],
        ["--stages", "bad"],
        ["--stages", "head:x:1"],
        ["--init", t / "nope.pt"],
        ["--init", a_file],
        ["--pretrained", "nope"],
        ["--normalize", "nope"],
        ["--threads", "-1"],
        ["--ema-decay", "1"],
        ["--ema-decay", "-0.5"],
        ["--grad-clip", "-1"],
        ["--weight-decay", "nan"],
        ["--patience", "-1"],
        ["--lr-decay", "0"],
        ["--lr-decay", "2"],
        ["--config", t / "missing.yaml"],
        ["--out", a_file],
        ["--out", a_file / "sub"],
        ["--unknown-flag"],
    ]
    cases = [(f"train {' '.join(map(str, b))}", train + b, "error") for b in bad_train]
    cases += [
        ("train no data", ["train", "--epochs", "1"], "error"),
        ("train resume missing", ["train", "--resume", t / "nowhere"], "error"),
        ("train resume a file", ["train", "--resume", a_file], "error"),
        ("train resume empty dir", ["train", "--resume", w["csvs"]["dir.csv"]], "error"),
        ("train resume with flags", ["train", "--resume", k.parent, "--lr", "0.1"], "error"),
        ("train resume fewer epochs", ["train", "--resume", k.parent, "--epochs", "0"], "error"),
    ]
    cv = ["cv", "--data", d, "--epochs", "1", "--out", t / "cvo"]
    bad_cv = [["--folds", "0"], ["--folds", "1"], ["--folds", "-2"], ["--folds", "1000"], ["--group-by", "nope"],
              ["--group-pattern", "("], ["--group-by", "signer"], ["--lr", "nan"], ["--seed", "-5"],
              ["--label-smoothing", "1"], ["--optimizer", "nope"], ["--in-chans", "2"]]  # fmt: skip
    cases += [(f"cv {' '.join(map(str, b))}", cv + b, "error") for b in bad_cv]
    bad_predict = [["--top-k", "0"], ["--top-k", "-1"], ["--threshold", "-1"], ["--threshold", "2"],
                   ["--threshold", "nan"], ["--threshold", "inf"], ["--annotate", a_file],
                   ["--annotate", a_file / "sub"], ["--top-k", "x"]]  # fmt: skip
    for extra in bad_predict:
        cases.append((f"predict {extra}", ["predict", p, *extra], "error"))
        cases.append((f"predict --weights {extra}", ["predict", "--weights", k, p, *extra], "error"))
    cases += [
        ("predict nothing", ["predict"], "error"),
        ("val split", ["val", "--weights", k, "--split", "nope"], "error"),
        ("val classes", ["val", "--weights", k, "--classes", "zzz"], "error"),
        ("val no weights", ["val"], "error"),
        ("export format", ["export", "--weights", k, "--format", "nope", "--out", t / "e.onnx"], "error"),
        (
            "export calib",
            ["export", "--weights", k, "--calib-method", "nope", "--out", t / "e.onnx"],
            "error",
        ),
        ("export parity", ["export", "--weights", k, "--parity-samples", "0"], "error"),
        ("export out dir", ["export", "--weights", k, "--out", t], "error"),
        ("export out under file", ["export", "--weights", k, "--out", a_file / "x.onnx"], "error"),
        ("export int8 torchscript", ["export", "--weights", k, "--format", "torchscript", "--int8"], "error"),
    ]
    bench = ["benchmark", "--weights", k, "--min-time", "0.01", "--cooldown", "0"]
    bad_bench = [["--formats", "nope"], ["--formats", ","], ["--batch-sizes", "0"], ["--batch-sizes", "x"],
                 ["--batch-sizes", "99999999"], ["--threads", "-1"], ["--cooldown", "-1"], ["--cooldown", "nan"],
                 ["--min-time", "0"], ["--min-time", "nan"], ["--device", "tpu"], ["--json-out", t],
                 ["--json-out", a_file / "x.json"]]  # fmt: skip
    cases += [(f"benchmark {b}", bench + b, "error") for b in bad_bench]
    bad_live = [["--window", "0"], ["--min-share", "0"], ["--min-share", "2"], ["--hold", "nan"], ["--pause", "-1"],
                ["--model-complexity", "5"], ["--model-complexity", "-1"], ["--max-frames", "-1"],
                ["--threshold", "2"], ["--jsonl", t], ["--save", t], ["--save", t / "x.txt"]]  # fmt: skip
    cases += [(f"live {b}", ["live", "--source", w["videos"]["text.mp4"], *b], "error") for b in bad_live]
    extract = ["landmarks", "extract", "--data", d, "--out", t / "l.npz"]
    bad_extract = [["--views", "nope"], ["--views", ","], ["--pad", "-1"], ["--min-confidence", "2"],
                   ["--min-confidence", "nan"], ["--out", t]]  # fmt: skip
    cases += [(f"extract {b}", extract + b, "error") for b in bad_extract]
    cases += [
        ("audit threshold", ["audit", "--data", d, "--threshold", "300"], "error"),
        ("audit out file", ["audit", "--data", d, "--out", a_file], "error"),
        (
            "live image model",
            ["live", "--weights", k, "--source", w["folders"]["tiny_classes"] / "a"],
            "error",
        ),
        ("unknown verb", ["nope"], "error"),
        ("explain bad weights", ["explain", "--weights", a_file, p, "--out", t / "ex"], "error"),
        ("explain limit", ["explain", "--weights", k, p, "--limit", "-1", "--out", t / "ex"], "error"),
        (
            "explain split",
            ["explain", "--weights", k, "--data", d, "--split", "nope", "--out", t / "ex"],
            "error",
        ),
        ("explain missing image", ["explain", "--weights", k, t / "none.png", "--out", t / "ex"], "error"),
        (
            "explain bad image",
            ["explain", "--weights", k, w["images"]["text.jpg"], "--out", t / "ex"],
            "error",
        ),
        ("report missing", ["report", t / "nowhere"], "error"),
        ("report a file", ["report", a_file], "error"),
        ("report empty dir", ["report", w["csvs"]["dir.csv"]], "error"),
        ("report out under file", ["report", k.parent, "--out", a_file / "r.html"], "error"),
        ("study missing", ["study", "--config", t / "none.yaml"], "error"),
        ("study list", ["study", "--config", w["yamls"]["list.yaml"]], "error"),
        ("study binary", ["study", "--config", w["yamls"]["binary.yaml"]], "error"),
        ("study invalid", ["study", "--config", w["yamls"]["invalid.yaml"]], "error"),
        (
            "study n-trials",
            ["study", "--config", w["yamls"]["epochs_word.yaml"], "--n-trials", "-1"],
            "error",
        ),
        ("serve port", ["serve", "--port", "0"], "error"),
        ("serve weights", ["serve", "--weights", a_file, "--port", "1"], "error"),
        ("serve host", ["serve", "--host", "0.0.0.0", "--port", "1"], "error"),
        ("serve cert", ["serve", "--ssl-certfile", t / "none.pem", "--port", "1"], "error"),
        ("landmarks unknown", ["landmarks", "nope"], "error"),
    ]
    return cases


def file_cases(w) -> list[tuple[str, list, str]]:
    t, k, d, p = w["root"], w["ckpt"], w["data"], w["photo"]
    cases = []
    for name, path in w["images"].items():
        if name.startswith("ok_"):
            continue
        cases.append((f"predict {name}", ["predict", path], "error"))
        cases.append((f"predict --weights {name}", ["predict", "--weights", k, path, "--json"], "error"))
    odd = [path for name, path in w["images"].items() if name.startswith("ok_")]
    cases.append(("predict odd images", ["predict", *odd, "--json"], "any"))
    cases.append(("predict --weights odd", ["predict", "--weights", k, *odd, "--annotate", t / "ann"], "any"))
    small = {"one_row.csv", "two_rows.csv", "one_class.csv", "bom.csv"}
    for name, path in w["csvs"].items():
        expect = "any" if name in small else "error"
        cases.append(
            (
                f"train csv {name}",
                ["train", "--data", path, "--epochs", "1", "--out", t / "c" / name, "-q"],
                expect,
            )
        )
        cases.append((f"val csv {name}", ["val", "--weights", k, "--data", path, "--split", "all"], expect))
        cases.append((f"audit csv {name}", ["audit", "--data", path, "--out", t / "a" / name], expect))
        if expect == "error":
            cases.append(
                (
                    f"extract csv {name}",
                    ["landmarks", "extract", "--data", path, "--out", t / "x.npz"],
                    expect,
                )
            )
    for name, path in w["zips"].items():
        cases.append(
            (
                f"train zip {name}",
                ["train", "--data", path, "--epochs", "1", "--out", t / "z" / name],
                "error",
            )
        )
        cases.append((f"val zip {name}", ["val", "--weights", k, "--data", path], "error"))
        cases.append((f"audit zip {name}", ["audit", "--data", path, "--out", t / "az" / name], "error"))
    for name, path in w["folders"].items():
        expect = "any" if name == "tiny_classes" else "error"
        cases.append(
            (
                f"train folder {name}",
                ["train", "--data", path, "--epochs", "1", "--img-size", "16", "--out", t / "f" / name, "-q"],
                expect,
            )
        )
        cases.append(
            (
                f"predict --weights folder {name}",
                ["predict", "--weights", k, path, "--json"],
                expect if name != "one_image" else "any",
            )
        )
    for name in ("no_classes", "empty_classes", "only_text"):
        cases.append((f"predict folder {name}", ["predict", w["folders"][name]], "error"))
        cases.append((f"live folder {name}", ["live", "--source", w["folders"][name] / "a"], "error"))
    for name, path in w["ckpts"].items():
        expect = "any" if name in ("config_bad_value", "config_unknown_key") else "error"
        cases.append((f"val ckpt {name}", ["val", "--weights", path, "--data", d], expect))
        cases.append((f"predict ckpt {name}", ["predict", "--weights", path, p], expect))
        if expect == "error":
            cases.append(
                (f"export ckpt {name}", ["export", "--weights", path, "--out", t / "k.onnx"], expect)
            )
            cases.append(
                (
                    f"benchmark ckpt {name}",
                    [
                        "benchmark",
                        "--weights",
                        path,
                        "--formats",
                        "torch",
                        "--batch-sizes",
                        "1",
                        "--min-time",
                        "0.01",
                        "--cooldown",
                        "0",
                    ],
                    expect,
                )
            )
            expect_init = (
                "any" if name == "no_marker" else expect
            )  # a state dict under other keys: loads what fits
            cases.append(
                (
                    f"train init {name}",
                    ["train", "--data", d, "--init", path, "--epochs", "1", "--out", t / "i"],
                    expect_init,
                )
            )
    for name, path in w["yamls"].items():
        cases.append(
            (f"train config {name}", ["train", "--data", d, "--config", path, "--out", t / "y"], "error")
        )
        cases.append((f"cv config {name}", ["cv", "--data", d, "--config", path, "--out", t / "y"], "error"))
    for name, path in w["npz"].items():
        cases.append(
            (f"train npz {name}", ["train", "--data", f"landmarks:{path}", "--out", t / "n"], "error")
        )
        cases.append((f"cv npz {name}", ["cv", "--data", f"landmarks:{path}", "--out", t / "n"], "error"))
    for name, path in w["videos"].items():
        cases.append((f"live video {name}", ["live", "--source", path], "error"))
    return cases


def check(name: str, expect: str, code: int, out: str, err: str) -> str | None:
    """None when the outcome keeps the contract, else what went wrong."""
    lines = [line for line in err.splitlines() if line.strip()]
    if "Traceback" in out + err or "internal error" in err:
        return f"{name}: traceback or internal error: {err[-600:]}"
    if expect == "error" and code != 2:
        return f"{name}: exit {code}, expected 2 (stderr {err[-300:]!r})"
    if code not in (0, 2) and not (code == 1 and "FAILED" in out):
        return f"{name}: exit {code}"
    if code == 2 and (len(lines) != 1 or not lines[0].startswith("signlens: error: ")):
        return f"{name}: {len(lines)} stderr lines, expected one 'signlens: error:' line: {err[-600:]!r}"
    return None


def test_fuzz_every_verb(world):
    cases = option_cases(world) + file_cases(world)
    assert len(cases) >= 200
    gc.collect()
    gc.freeze()  # verbs that call gc.collect() would otherwise walk this process's whole heap each time
    problems = []
    try:
        for name, argv, expect in cases:
            try:
                problem = check(name, expect, *run_in_process(argv, seconds=30))
            except CaseTimeout as exc:
                problem = f"{name}: {exc}"
            if problem:
                problems.append(problem)
    finally:
        gc.unfreeze()
    assert not (world["ckpts"]["evil_pickle.pt"].parent / fz.SENTINEL).exists(), "a pickle ran"
    assert not problems, f"{len(problems)} of {len(cases)} cases broke the contract:\n" + "\n".join(problems)


def run_subprocess(args: list, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "signlens", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_fifo_in_a_folder_is_skipped_and_a_named_fifo_is_refused(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    os.mkfifo(folder / "pipe.jpg")
    fz.Image.new("RGB", (1, 1)).save(folder / "tiny.png")
    # Opening the FIFO would block for ever: in the walk it is skipped, named it is refused.
    done = run_subprocess(["predict", folder, folder / "pipe.jpg", "--json"])
    assert done.returncode == 2, done.stderr
    assert '"path": "' + str(folder / "tiny.png") in done.stdout and done.stdout.count("\n") == 2
    assert done.stderr.splitlines() == [
        f"signlens: error: cannot read image {folder / 'pipe.jpg'}: not a regular file"
    ]
    for name in ("data.csv", "data.zip", "config.yaml", "model.pt", "video.mp4"):
        os.mkfifo(tmp_path / name)
    for argv in (
        ["train", "--data", tmp_path / "data.csv"],
        ["train", "--data", tmp_path / "data.zip"],
        ["train", "--data", tmp_path / "data.csv", "--config", tmp_path / "config.yaml"],
        ["val", "--weights", tmp_path / "model.pt"],
        ["live", "--source", tmp_path / "video.mp4"],
    ):
        assert check(str(argv), "error", *run_in_process(argv, seconds=20)) is None


def test_mediapipe_options_never_abort_and_its_logs_stay_off_stderr(tmp_path):
    done = run_subprocess(["live", "--source", tmp_path, "--model-complexity", "5"])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr  # not -6 (SIGABRT)
    fz.Image.new("RGB", (64, 64), (200, 150, 120)).save(tmp_path / "plain.png")
    (tmp_path / "bad.png").write_bytes(b"garbage")
    done = run_subprocess(["predict", tmp_path / "plain.png", tmp_path / "bad.png", "--json"])
    assert done.returncode == 2 and '"error"' in done.stdout
    assert done.stderr.splitlines() == [
        f"signlens: error: cannot read image {tmp_path / 'bad.png'}: not an image of a known format"
    ]
