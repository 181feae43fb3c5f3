"""Class-folder image trees (`root/<class>/*.jpeg`), decoded once at the working size and cached.

Decoding 2,500 photos takes seconds; training reads the cached uint8 array, so epochs stay fast.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from signlens.data.types import ImageSet
from signlens.errors import SignlensError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
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
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise SignlensError(f"{root}: no class folders (expected {root}/<class>/<image>)")
    class_names = class_names or found
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise SignlensError(f"{root}: class folder(s) {unknown} not among the training classes")
    files, labels = [], []
    for index, cls in enumerate(class_names):
        folder = root / cls
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(f)
                labels.append(index)
    if not files:
        raise SignlensError(f"{root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class folders")
    return files, labels, class_names


def load_image(path: str | Path, img_size: int | None, in_chans: int) -> np.ndarray:
    """Decode one image to uint8 (H, W, C), optionally squashed to img_size x img_size."""
    try:
        with Image.open(path) as im:
            im = im.convert("L" if in_chans == 1 else "RGB")
            if img_size is not None and im.size != (img_size, img_size):
                im = im.resize((img_size, img_size), Image.BILINEAR)
            array = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise SignlensError(f"cannot read image {path}: {exc.__class__.__name__}: {exc}") from None
    return array[..., None] if array.ndim == 2 else array


def read_image_folder(root: Path, img_size: int, in_chans: int, class_names: list[str] | None = None):
    """Return (ImageSet, content digest). The digest covers names and bytes, so edits invalidate the cache."""
    files, labels, class_names = list_image_folder(root, class_names)
    digest = hashlib.md5()
    for f in files:
        digest.update(str(f.relative_to(root)).encode())
        digest.update(f.read_bytes())
    content = digest.hexdigest()
    cache = cache_dir() / "folders" / f"{content}_{img_size}px_{in_chans}ch.npy"
    if cache.exists():
        images = np.load(cache)
    else:
        images = np.stack([load_image(f, img_size, in_chans) for f in files])
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, images)
        os.replace(tmp, cache)
    sources = [str(f.relative_to(root)) for f in files]
    takes = [take_of(f.name) for f in files]
    groups = takes if all(takes) else None
    return ImageSet(images, np.asarray(labels, dtype=np.int64), class_names, sources, groups), content
