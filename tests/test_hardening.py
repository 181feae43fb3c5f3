"""The hardening contract's specific promises: atomic run files with the umask's mode and no orphans,
a full disk as one line, resume from any kill point and with a new length, CSV cells that are not whole
numbers, typed config values, the one decoder's limits and EXIF rotation, val across data sets whose
class names differ in case, and output that is not wrapped when piped."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from PIL import Image

import fuzz_inputs as fz
from conftest import write_sign_mnist_csv
from signlens.errors import SignlensError
from test_fuzz import run_in_process


def test_atomic_write_keeps_the_umask_and_clears_dead_writers_temp_files(tmp_path):
    from signlens.io import atomic_write, write_text

    orphan = tmp_path / ".best.pt.999999999.abc123.tmp"  # a pid that cannot be running
    orphan.write_text("half")
    live = tmp_path / f".best.pt.{os.getpid()}.xyz.tmp"
    live.write_text("in progress")
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "best.pt", lambda p: p.write_bytes(b"x"))
        write_text(tmp_path / "notes.txt", "hi")
    finally:
        os.umask(old)
    assert (tmp_path / "best.pt").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "notes.txt").stat().st_mode & 0o777 == 0o640
    assert not orphan.exists() and live.exists()


def test_a_full_disk_or_an_impossible_path_is_one_error_and_the_old_file_stays(tmp_path):
    from signlens.io import atomic_write

    target = tmp_path / "best.pt"
    target.write_bytes(b"old")

    def full(path):
        path.write_bytes(b"par")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SignlensError, match="no space left"):
        atomic_write(target, full)
    with pytest.raises(SignlensError, match="enforce|disk full"):
        atomic_write(
            target,
            lambda p: (_ for _ in ()).throw(
                RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos")
            ),
        )
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]
    with pytest.raises(SignlensError, match="is a file"):
        atomic_write(target / "inside.txt", lambda p: p.write_text("x"))


def test_csv_cells_that_are_not_whole_numbers_are_refused_with_their_place(tmp_path):
    from signlens.data.sources import read_sign_mnist_csv

    row = ["3"] + ["7"] * 783 + ["12.5"]
    with pytest.raises(SignlensError, match=r"row 2, column 785 \(pixel784\): 12.5 is not a whole number"):
        read_sign_mnist_csv(fz.csv_text([",".join(row)]).encode(), "x.csv")


def test_config_values_parse_by_their_type_and_wrong_ones_name_the_key(tmp_path):
    from signlens.cli.app import parse_model_args
    from signlens.engine import build_config

    (tmp_path / "c.yaml").write_text("lr: 1e-3\nepochs: 4\naugment: {rotation: 5}\n")
    config = build_config("sign-mnist", yaml_path=tmp_path / "c.yaml")
    assert config.lr == 0.001 and config.epochs == 4 and config.augment.rotation == 5.0
    assert parse_model_args(["dropout=1e-1", "widths=[8, 16]", "se=true"]) == {
        "dropout": 0.1,
        "widths": [8, 16],
        "se": True,
    }
    (tmp_path / "c.yaml").write_text("epochs: ten\n")
    with pytest.raises(SignlensError, match="epochs: Input should be a valid integer"):
        build_config("sign-mnist", yaml_path=tmp_path / "c.yaml")
    with pytest.raises(SignlensError, match="lr must lie in"):
        build_config("sign-mnist", overrides={"lr": float("nan")})


def test_the_decoder_names_its_limits_and_turns_phone_photos_upright(tmp_path):
    from signlens.data.images import ImageError, decode_image

    for data in (fz.png_claiming(20000, 20000), fz.png_claiming(7000, 7000)):
        with pytest.raises(ImageError, match="over the 40,000,000-pixel limit"):
            decode_image(data)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: a phone held upright
    Image.new("RGB", (60, 20)).save(tmp_path / "phone.jpg", exif=exif.tobytes())
    assert decode_image(tmp_path / "phone.jpg").shape == (60, 20, 3)


@pytest.fixture
def tiny(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_sign_mnist_csv(data / "sign_mnist_train.csv", [0, 1, 2] * 16, seed=1)
    write_sign_mnist_csv(data / "sign_mnist_test.csv", [0, 1, 2] * 4, seed=2)
    return data


def test_resume_honours_epochs_and_a_run_killed_in_its_first_epoch_restarts(tiny, tmp_path):
    run = tmp_path / "run"
    code, _, err = run_in_process(["train", "--data", tiny, "--epochs", "1", "--out", run, "-q"])
    assert code == 0, err
    code, _, err = run_in_process(["train", "--resume", run, "--epochs", "3", "-q"])
    assert code == 0, err
    assert len((run / "history.csv").read_text().strip().splitlines()) == 1 + 3
    code, _, err = run_in_process(["train", "--resume", run, "--lr", "0.1"])
    assert code == 2 and "only --epochs" in err
    # Killed before its first epoch ended: only config.yaml (and a temp file) remain.
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "config.yaml").write_text((run / "config.yaml").read_text())
    (killed / ".last.pt.999999999.abc.tmp").write_bytes(b"half")
    code, _, err = run_in_process(["train", "--resume", killed, "--epochs", "1", "-q"])
    assert code == 0, err
    assert (killed / "metrics.json").exists() and not (killed / ".last.pt.999999999.abc.tmp").exists()
    again = tmp_path / "again"
    again.mkdir()
    (again / "config.yaml").write_text("partial")  # the same command simply runs again
    code, _, err = run_in_process(["train", "--data", tiny, "--epochs", "1", "--out", again, "-q"])
    assert code == 0, err


def test_a_failed_start_leaves_no_run_directory(tiny, tmp_path):
    out = tmp_path / "never"
    code, _, err = run_in_process(
        ["train", "--data", tiny, "--model", "fast-cnn", "--model-arg", "bogus=1", "--out", out]
    )
    assert code == 2 and len(err.splitlines()) == 1 and not out.exists()


def test_val_matches_classes_ignoring_case_and_keeps_the_split_in_the_title(tiny, tmp_path):
    run = tmp_path / "run"
    assert run_in_process(["train", "--data", tiny, "--epochs", "1", "--out", run, "-q"])[0] == 0
    photos = tmp_path / "photos"
    for name in ("a", "b", "c", "z"):
        (photos / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((30, 30), 40 * i, np.uint8)).save(photos / name / f"{i}.png")
    code, _, err = run_in_process(["val", "--weights", run / "best.pt", "--data", photos, "--split", "all"])
    assert code == 2 and "['z']" in err and "--classes" in err
    code, out, err = run_in_process(
        ["val", "--weights", run / "best.pt", "--data", photos, "--split", "all", "--classes", "a,b,c"]
    )
    assert code == 0, err
    assert "[all]" in out and "12" in out
    code, _, err = run_in_process(["val", "--weights", run, "--data", photos, "--split", "all"])
    assert code == 2 and len(err.splitlines()) == 1 and "folder" in err and "best.pt" in err


def test_piped_output_is_not_wrapped():
    code, out, _ = run_in_process(["models"])
    recipes = [line for line in out.splitlines() if line.startswith("recipe ")]
    assert code == 0 and recipes and all("model=" in line for line in recipes)
    assert max(len(line) for line in recipes) > 80


def test_an_empty_image_argument_is_refused_not_read_as_the_current_folder(tmp_path, monkeypatch):
    # Path("") is "."; predict "" once walked whatever folder it was started in.
    Image.new("RGB", (32, 32)).save(tmp_path / "stray.png")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_in_process(["predict", "", "--json"])
    assert code == 2 and "stray.png" not in out
    assert err.strip().splitlines() == ["signlens: error: an image path is empty"]


def test_a_command_that_fails_leaves_no_empty_output_folder_and_keeps_ones_it_did_not_make(tmp_path):
    empty = tmp_path / "no-classes"
    empty.mkdir()
    for verb in ("cv", "audit", "train"):
        code, _, err = run_in_process(
            [verb, "--data", str(empty), "--out", str(tmp_path / "new" / verb / "x")]
        )
        assert code == 2 and "no class folders" in err
    assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    code, _, _ = run_in_process(["audit", "--data", str(empty), "--out", str(mine)])
    assert code == 2 and mine.is_dir()  # a folder the user made stays, even empty
