"""Shared fixtures: the real shared data when present, and tiny generated data sets elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED = Path(os.environ.get("SIGNLENS_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

needs_shared = pytest.mark.skipif(
    not (SHARED / "sign-mnist" / "sign_mnist_train.csv").exists(), reason="shared data not present"
)


# Ten small MIT-licensed photos of one signer (source and licence in that folder): the recogniser, API,
# stream and browser tests run on them from a bare clone. Behaviour only: the bundled recogniser is
# built with this signer too, so a right letter here is no measure of accuracy.
HANDS = Path(__file__).resolve().parent / "fixtures" / "hands"
HAND_LETTERS = "ABCEILVWY"
NO_HAND = HANDS / "no-hand.jpg"  # the signer's face and the wall, no hand


def fixture_photo(letter: str) -> Path:
    """The photo of `letter` (one of HAND_LETTERS) in tests/fixtures/hands."""
    assert letter in HAND_LETTERS, f"no fixture photo of {letter!r}"
    return HANDS / f"{letter}.jpg"


def shared_missing(reason: str) -> bool:
    """A skip for want of ../shared: its reason names it. Such skips are failures under CI."""
    return "shared" in reason.lower()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI set, a test skipped because ../shared is missing fails instead: CI runs beside the
    shared data, so a skip there would hide that the data (or its path) is broken."""
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped and isinstance(report.longrepr, tuple)):
        return
    reason = str(report.longrepr[2])
    if shared_missing(reason):
        report.outcome = "failed"
        report.longrepr = f"CI is set but {reason.removeprefix('Skipped: ')} (SIGNLENS_DATA={SHARED})"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SIGNLENS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def pattern_images(labels: np.ndarray, size: int = 28, seed: int = 0) -> np.ndarray:
    """Easy, learnable images: class k is a bright bar at a class-specific position, plus noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(len(labels), size, size), dtype=np.int64)
    for i, label in enumerate(labels):
        row = 3 + (int(label) * 5) % (size - 8)
        col = 2 + (int(label) * 7) % (size - 10)
        images[i, row : row + 5, col : col + 8] = 230
    return images.astype(np.uint8)


def write_sign_mnist_csv(path: Path, raw_labels: list[int], seed: int = 0) -> Path:
    """A CSV in the exact Kaggle layout (header label,pixel1..pixel784, CRLF line ends)."""
    labels = np.asarray(raw_labels)
    images = pattern_images(labels, seed=seed).reshape(len(labels), -1)
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    lines = [header] + [f"{lab}," + ",".join(map(str, row)) for lab, row in zip(labels, images, strict=True)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def write_four_class_csvs(root: Path, train_each: int = 60, test_each: int = 20) -> Path:
    """Sign MNIST train/test CSVs in `root` with four classes (A, B, C, K: raw labels 0, 1, 2, 10)."""
    root.mkdir(parents=True, exist_ok=True)
    classes = [0, 1, 2, 10]
    write_sign_mnist_csv(
        root / "sign_mnist_train.csv", [c for c in classes for _ in range(train_each)], seed=1
    )
    write_sign_mnist_csv(root / "sign_mnist_test.csv", [c for c in classes for _ in range(test_each)], seed=2)
    return root


@pytest.fixture
def tiny_csv_dir(tmp_path) -> Path:
    """Four classes, 60 training rows each, 20 test rows each."""
    return write_four_class_csvs(tmp_path / "tiny")


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """Class folders of small RGB JPEGs named like the ayuraj set (hand, class, view, seg)."""
    root = tmp_path / "folder"
    for label, cls in enumerate(["a", "b", "c"]):
        (root / cls).mkdir(parents=True)
        images = pattern_images(np.full(24, label), size=40, seed=label)
        for i, img in enumerate(images):
            hand, view, seg = 1 + i // 8, ["top", "bot"][(i // 4) % 2], 1 + i % 4
            name = f"hand{hand}_{cls}_{view}_seg_{seg}_cropped.jpeg"
            Image.fromarray(np.stack([img] * 3, axis=-1)).save(root / cls / name, quality=95)
    return root


def run_cli(args, monkeypatch, capsys) -> tuple[int, str, str]:
    """Run `signlens ARGS...` in-process through the real entry point; (exit code, stdout, stderr)."""
    import sys

    from signlens.cli.main import main

    monkeypatch.setattr(sys, "argv", ["signlens", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code or 0, captured.out, captured.err
