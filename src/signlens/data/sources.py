"""Resolve a data spec (a named set under SIGNLENS_DATA or a path) into uint8 image arrays.

Everything downstream sees an `ImageSet`: images as uint8 (N, H, W, C), integer labels, and the class
names that give those labels meaning. Sign MNIST keeps its letters (A..Y without J) with the data.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from signlens.data.folders import read_image_folder
from signlens.data.images import is_regular_file
from signlens.data.landmarks import canonical_points, load_landmark_file
from signlens.data.types import DataBundle, ImageSet
from signlens.errors import SignlensError
from signlens.io import md5_file

# Kaggle's Sign MNIST labels are letter indices 0..25; J (9) and Z (25) need motion, so never occur.
SIGN_MNIST_LABELS = [i for i in range(25) if i != 9]
SIGN_MNIST_CLASSES = [chr(ord("A") + i) for i in SIGN_MNIST_LABELS]
SIGN_MNIST_FILES = ("sign_mnist_train.csv", "sign_mnist_test.csv")

NAMED_SETS = {"sign-mnist": "sign-mnist", "asl-dataset": "asl_dataset"}

# ASL signs 0 and O, 2 and V, 6 and W with one handshape, and ayuraj photographs each pair the same way:
# the hand cannot tell them apart, only context (a number or a word) can. Scores also report them merged.
# (F and 9 share a handshape in some charts too, but ayuraj's 9 spreads the fingers and models separate them.)
SAME_HANDSHAPE = (("0", "o"), ("2", "v"), ("6", "w"))


def data_root() -> Path:
    return Path(os.environ.get("SIGNLENS_DATA", "./data"))


def load_data(
    spec: str,
    img_size: int | None = None,
    in_chans: int | None = None,
    landmark_points: str = "world",
    classes: str = "all",
) -> DataBundle:
    """Load a named data set (`sign-mnist`, `asl-dataset`), a path (CSV, Kaggle zip, class folders) or
    `landmarks:FILE` (made by `signlens landmarks extract`), keeping only `classes` (see select_classes).

    `img_size`/`in_chans` only matter for photo folders, which are decoded once at that size and cached.
    """
    bundle = _load(spec, img_size, in_chans, landmark_points)
    return select_classes(bundle, classes)


LETTERS24 = [c for c in "ABCDEFGHIKLMNOPQRSTUVWXY"]  # static letters: J and Z need motion
DIGITS = list("0123456789")


def select_classes(bundle: DataBundle, classes: str) -> DataBundle:
    """Keep `all` classes, the 24 static `letters`, the `digits`, or a comma list. Matching ignores case,
    so the ayuraj folders a..z select the same letters as Sign MNIST's A..Y."""
    if classes == "all":
        return bundle
    wanted = {"letters": LETTERS24, "digits": DIGITS}.get(classes) or [c.strip() for c in classes.split(",")]
    names = bundle.class_names
    keep = [n for n in names if n.upper() in {w.upper() for w in wanted}]
    if not keep:
        raise SignlensError(f"data '{bundle.name}' has none of the classes {classes!r} (it has {names})")

    def restrict(part: ImageSet | None) -> ImageSet | None:
        if part is None:
            return None
        old = [names.index(n) for n in keep]
        remap = np.full(len(names), -1)
        remap[old] = np.arange(len(keep))
        index = np.flatnonzero(remap[part.labels] >= 0)
        sub = part.subset(index)
        return ImageSet(sub.images, remap[sub.labels].astype(np.int64), list(keep), sub.sources, sub.groups)

    return DataBundle(
        bundle.name,
        restrict(bundle.train),
        restrict(bundle.test),
        bundle.checksums,
        bundle.test_is_official,
        bundle.kind,
    )


def _load(spec: str, img_size: int | None, in_chans: int | None, landmark_points: str) -> DataBundle:
    if spec.startswith("landmarks:"):
        return _landmarks(Path(spec.split(":", 1)[1]), landmark_points)
    if spec in NAMED_SETS:
        path = data_root() / NAMED_SETS[spec]
        if not path.exists():
            hint = (
                "put sign_mnist_train.csv and sign_mnist_test.csv (or the Kaggle zip) there"
                if spec == "sign-mnist"
                else "put the class folders 0..9, a..z there"
            )
            raise SignlensError(
                f"data set '{spec}' not found at {path} (SIGNLENS_DATA={data_root()}): {hint}"
            )
        if spec == "sign-mnist" and path.is_dir():
            zips = sorted(path.glob("*.zip"))
            if not (path / SIGN_MNIST_FILES[0]).exists() and zips:
                path = zips[0]
    else:
        path = Path(spec)
        if not path.exists():
            raise SignlensError(f"data path not found: {path}")
    name = spec if spec in NAMED_SETS else path.name

    if path.is_dir() and any((path / f).exists() for f in SIGN_MNIST_FILES):
        return _sign_mnist_dir(name, path)
    if path.is_dir():  # before the suffix: a folder named `x.csv` is a folder
        return _folder(name, path, img_size or 64, in_chans or 3)
    if path.suffix.lower() == ".zip":
        return _sign_mnist_zip(name, path)
    if path.suffix.lower() == ".csv":
        return _csv_path(name, path)
    raise SignlensError(
        f"unsupported data path {path}: expected a CSV, a Kaggle zip or a folder of class folders"
    )


MAX_DATA_BYTES = 512 * 1024**2  # one CSV, or one CSV inside a zip (Sign MNIST's training file: 83 MB)


def read_data_file(path: Path) -> bytes:
    """The bytes of a data file: a regular file (a FIFO would block) within MAX_DATA_BYTES."""
    if not path.exists():
        raise SignlensError(f"data file not found: {path}")
    if not is_regular_file(path):
        raise SignlensError(f"cannot read {path}: not a regular file")
    if path.stat().st_size > MAX_DATA_BYTES:
        raise SignlensError(f"cannot read {path}: larger than the {MAX_DATA_BYTES:,}-byte limit")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SignlensError(f"cannot read {path}: {exc.strerror or exc}") from None


def _sign_mnist_dir(name: str, path: Path) -> DataBundle:
    train_csv, test_csv = (path / f for f in SIGN_MNIST_FILES)
    if not train_csv.exists():
        raise SignlensError(f"missing {train_csv}")
    train = read_sign_mnist_csv(read_data_file(train_csv), str(train_csv))
    test = read_sign_mnist_csv(read_data_file(test_csv), str(test_csv)) if test_csv.exists() else None
    sums = {f.name: md5_file(f) for f in (train_csv, test_csv) if f.exists()}
    return DataBundle(name, train, test, sums)


def _sign_mnist_zip(name: str, path: Path) -> DataBundle:
    if not is_regular_file(path):
        raise SignlensError(f"cannot read {path}: not a regular file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise SignlensError(f"cannot open zip {path}: {exc}") from None
    with archive:
        # Kaggle's zip nests each CSV in a folder of the same name; match by base name.
        members = {Path(m.filename).name: m for m in archive.infolist() if m.filename.endswith(".csv")}
        if SIGN_MNIST_FILES[0] not in members:
            raise SignlensError(f"{path} does not contain {SIGN_MNIST_FILES[0]}")
        sets = []
        for fname in SIGN_MNIST_FILES:
            member = members.get(fname)
            sets.append(
                None
                if member is None
                else read_sign_mnist_csv(_unzip(archive, member, path), f"{path}:{member.filename}")
            )
    return DataBundle(name, sets[0], sets[1], {path.name: md5_file(path)})


def _unzip(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path) -> bytes:
    """One member, refused before decompression when it claims more than MAX_DATA_BYTES (a zip bomb),
    and cut off there if it claims less but holds more."""
    where = f"{path}:{member.filename}"
    if member.file_size > MAX_DATA_BYTES:
        raise SignlensError(
            f"{where}: {member.file_size:,} bytes unpacked is over the {MAX_DATA_BYTES:,}-byte limit"
        )
    try:
        with archive.open(member) as f:
            data = f.read(MAX_DATA_BYTES + 1)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as exc:
        raise SignlensError(f"cannot unpack {where}: {exc}") from None
    if len(data) > MAX_DATA_BYTES:
        raise SignlensError(f"{where}: unpacks to more than the {MAX_DATA_BYTES:,}-byte limit")
    return data


def _csv_path(name: str, path: Path) -> DataBundle:
    """A lone CSV: `*train*` pairs with its `*test*` sibling; `*test*` alone is an evaluation-only set."""
    data = read_sign_mnist_csv(read_data_file(path), str(path))
    sums = {path.name: md5_file(path)}
    if "test" in path.name and "train" not in path.name:
        return DataBundle(name, None, data, sums)
    sibling = path.with_name(path.name.replace("train", "test"))
    if "train" in path.name and sibling.exists():
        test = read_sign_mnist_csv(read_data_file(sibling), str(sibling))
        sums[sibling.name] = md5_file(sibling)
        return DataBundle(name, data, test, sums)
    return DataBundle(name, data, None, sums, test_is_official=False)


def read_sign_mnist_csv(raw: bytes, where: str) -> ImageSet:
    """Parse the exact Kaggle format: header `label,pixel1..pixel784`, one 28x28 gray image per row."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")  # a spreadsheet's BOM
    header = text.split("\n", 1)[0].strip().split(",")
    expected = ["label"] + [f"pixel{i}" for i in range(1, 785)]
    if header != expected:
        got = ",".join(header[:3]) + (",..." if len(header) > 3 else "")
        raise SignlensError(
            f"{where}: header must be label,pixel1..pixel784 ({len(expected)} columns); "
            f"got {len(header)} columns starting {got!r}"
        )
    try:
        # As floats, so that `12.5` is seen and refused below (an integer parse would truncate it);
        # float32 holds every valid cell exactly and halves the memory of float64.
        values = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    except ValueError:
        _raise_first_bad_row(text, where)
        raise  # unreachable: _raise_first_bad_row always raises
    if values.shape[0] == 0:
        raise SignlensError(f"{where}: no data rows")
    if values.shape[1] != len(expected):
        raise SignlensError(f"{where}: expected {len(expected)} cells per row, got {values.shape[1]}")
    fractional = ~np.isfinite(values) | (values != np.round(values))
    if fractional.any():
        row, col = np.argwhere(fractional)[0]
        raise SignlensError(
            f"{where}: row {row + 2}, column {col + 1} ({expected[col]}): {values[row, col]:g} is not a whole number"
        )
    if np.abs(values).max() > 2**31:
        row, col = np.argwhere(np.abs(values) > 2**31)[0]
        raise SignlensError(f"{where}: row {row + 2}, column {col + 1}: {values[row, col]:g} is out of range")
    table = values.astype(np.int64)
    pixels, raw_labels = table[:, 1:], table[:, 0]
    bad_pixel = np.flatnonzero(((pixels < 0) | (pixels > 255)).any(axis=1))
    if bad_pixel.size:
        raise SignlensError(f"{where}: row {bad_pixel[0] + 2}: pixel values must be 0..255")
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[SIGN_MNIST_LABELS] = np.arange(len(SIGN_MNIST_LABELS))
    in_range = (raw_labels >= 0) & (raw_labels < 256)
    labels = np.where(in_range, lookup[np.clip(raw_labels, 0, 255)], -1)
    unknown = np.flatnonzero(labels < 0)
    if unknown.size:
        row = unknown[0]
        raise SignlensError(
            f"{where}: row {row + 2}: unknown label {raw_labels[row]} (Sign MNIST uses 0..24 without 9)"
        )
    images = pixels.astype(np.uint8).reshape(-1, 28, 28, 1)
    sources = [f"{Path(where).name}:{i + 2}" for i in range(len(labels))]
    return ImageSet(images, labels, list(SIGN_MNIST_CLASSES), sources)


def _raise_first_bad_row(text: str, where: str) -> None:
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        cells = line.strip().split(",")
        if len(cells) != 785:
            raise SignlensError(f"{where}: row {number}: expected 785 cells, got {len(cells)}")
        for col, cell in enumerate(cells):
            if not re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", cell):
                raise SignlensError(f"{where}: row {number}, column {col + 1}: non-numeric cell {cell!r}")
    raise SignlensError(f"{where}: could not parse as numbers")


def _folder(name: str, path: Path, img_size: int, in_chans: int) -> DataBundle:
    """A class-folder tree. With `train/` and `test/` subfolders those are the splits; otherwise the
    trainer holds out a test split itself (grouped by take where file names say which take)."""
    if (path / "train").is_dir() and (path / "test").is_dir():
        train, sum_train = read_image_folder(path / "train", img_size, in_chans)
        test, sum_test = read_image_folder(path / "test", img_size, in_chans, train.class_names)
        return DataBundle(name, train, test, {"train": sum_train, "test": sum_test})
    data, digest = read_image_folder(path, img_size, in_chans)
    return DataBundle(name, data, None, {path.name: digest}, test_is_official=False)


def _landmarks(path: Path, which: str) -> DataBundle:
    if not is_regular_file(path) and path.exists():
        raise SignlensError(f"cannot read {path}: not a regular file")
    data = load_landmark_file(path)
    check_landmark_arrays(data, path)
    groups = [str(g) for g in data["groups"]] if "groups" in data and all(data["groups"]) else None
    if groups is None and len(set(data.get("views", ["photo"]))) > 1:
        groups = [str(s) for s in data["sources"]]  # two views of one photo never straddle a split
    points = ImageSet(
        canonical_points(data, which),
        data["labels"].astype(np.int64),
        [str(c) for c in data["class_names"]],
        [str(s) for s in data["sources"]],
        groups,
    )
    return DataBundle(
        path.name, points, None, {path.name: md5_file(path)}, test_is_official=False, kind="landmarks"
    )


def check_landmark_arrays(data: dict, path: Path) -> None:
    """Shapes, types and label range of a landmark file, so a damaged one is one message, not a crash."""
    labels, names = data["labels"], data["class_names"]
    n = len(labels) if labels.ndim == 1 else -1
    if n < 1 or labels.dtype.kind not in "iu":
        raise SignlensError(f"{path}: 'labels' must be a non-empty list of integers")
    for key in ("image_points", "world_points"):
        if data[key].shape != (n, 21, 3) or data[key].dtype.kind != "f":
            raise SignlensError(f"{path}: '{key}' must hold {n} x 21 x 3 numbers, has {data[key].shape}")
        if not np.isfinite(data[key]).all():
            raise SignlensError(f"{path}: '{key}' holds NaN or infinite values")
    for key in ("handedness", "sources", *(k for k in ("groups", "views") if k in data)):
        if data[key].shape != (n,) or data[key].dtype.kind not in "SU":
            raise SignlensError(f"{path}: '{key}' must hold {n} strings")
    if names.ndim != 1 or len(names) < 1 or names.dtype.kind not in "SU":
        raise SignlensError(f"{path}: 'class_names' must be a non-empty list of strings")
    if labels.min() < 0 or labels.max() >= len(names):
        raise SignlensError(f"{path}: labels must index class_names (0..{len(names) - 1})")
