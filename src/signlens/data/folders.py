"""Class-folder image trees (`root/<class>/*.jpeg`), decoded once at the working size and cached.

Decoding 2,500 photos takes seconds; training reads the cached uint8 array, so epochs stay fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np

from signlens.data.images import IMAGE_SUFFIXES, decode_for_model, is_regular_file, read_image_bytes
from signlens.data.types import ImageSet
from signlens.errors import SignlensError
from signlens.io import atomic_write

# ayuraj names: hand{1..5}_{class}_{view}_seg_{k}_cropped.jpeg; a take is hand + class + view.
TAKE_PATTERN = re.compile(r"(hand\d+)_([^_]+)_([a-z]+)_seg", re.IGNORECASE)


def cache_dir() -> Path:
    return Path(os.environ.get("SIGNLENS_CACHE", Path.home() / ".cache" / "signlens"))


def take_of(file_name: str) -> str | None:
    match = TAKE_PATTERN.search(file_name)
    return "_".join(match.groups()).lower() if match else None


def list_image_folder(
    root: Path, class_names: list[str] | None = None
) -> tuple[list[Path], list[int], list[str]]:
    """(image files, labels, class names) of `root/<class>/<image>`. Only regular files are listed (a
    FIFO named `x.jpg` would block the read); a class folder without images is left out of the classes
    when they are found here (with `class_names` given, its index is kept)."""
    try:
        found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError as exc:
        raise SignlensError(f"cannot list folder {root}: {exc.strerror or exc}") from None
    if not found:
        raise SignlensError(f"{root}: no class folders (expected {root}/<class>/<image>)")
    given = class_names is not None
    class_names = list(class_names or found)
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise SignlensError(f"{root}: class folder(s) {unknown} not among the training classes")
    per_class: dict[str, list[Path]] = {}
    for cls in class_names:
        folder = root / cls
        try:
            listed = sorted(folder.iterdir()) if folder.is_dir() else []
        except OSError as exc:
            raise SignlensError(f"cannot list folder {folder}: {exc.strerror or exc}") from None
        per_class[cls] = [f for f in listed if f.suffix.lower() in IMAGE_SUFFIXES and is_regular_file(f)]
    if not given:
        class_names = [cls for cls in class_names if per_class[cls]]
    files, labels = [], []
    for index, cls in enumerate(class_names):
        files += per_class[cls]
        labels += [index] * len(per_class[cls])
    if not files:
        raise SignlensError(f"{root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class folders")
    return files, labels, class_names


def load_image(path: str | Path, img_size: int | None, in_chans: int) -> np.ndarray:
    """Decode one image to uint8 (H, W, C), optionally squashed to img_size x img_size, through the one
    decoder (size limits, EXIF orientation: a phone photo trains the way up it is predicted)."""
    return decode_for_model(path, img_size, in_chans)


def read_image_folder(root: Path, img_size: int, in_chans: int, class_names: list[str] | None = None):
    """Return (ImageSet, content digest). The digest covers names and bytes, so edits invalidate the cache."""
    files, labels, class_names = list_image_folder(root, class_names)
    digest = hashlib.md5()
    for f in files:
        digest.update(str(f.relative_to(root)).encode())
        digest.update(read_image_bytes(f))
    content = digest.hexdigest()
    cache = cache_dir() / "folders" / f"{content}_{img_size}px_{in_chans}ch.npy"
    images = _cached(cache, len(files))
    if images is None:
        images = np.stack([load_image(f, img_size, in_chans) for f in _progress(files, root)])
        with contextlib.suppress(SignlensError):  # an unwritable cache costs only decoding next time
            atomic_write(cache, lambda tmp: _save_npy(tmp, images))
    sources = [str(f.relative_to(root)) for f in files]
    takes = [take_of(f.name) for f in files]
    groups = takes if all(takes) else None
    return ImageSet(images, np.asarray(labels, dtype=np.int64), class_names, sources, groups), content


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to a temp file's name
        np.save(f, array)


def _cached(cache: Path, count: int) -> np.ndarray | None:
    """The decoded images a previous run cached, or None when there are none usable."""
    if not is_regular_file(cache):
        return None
    try:
        images = np.load(cache, allow_pickle=False)
    except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt, whatever the damage
        return None
    ok = images.dtype == np.uint8 and images.ndim == 4 and len(images) == count
    return images if ok else None


def _progress(files: list[Path], root: Path):
    """Decoding a photo folder takes seconds to minutes: a bar on stderr, when a person watches it."""
    if len(files) < 200 or not sys.stderr.isatty():
        return files
    from rich.console import Console
    from rich.progress import track

    return track(files, description=f"decoding {root.name}", console=Console(stderr=True), transient=True)
