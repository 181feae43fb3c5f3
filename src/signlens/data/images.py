"""The one image decoder: training folders, `predict`, `live` and the web API all read images here.

Limits are checked before any pixel is decoded (file size from the file system or the byte count,
pixel count from the header), so a decompression bomb costs a header read, not gigabytes. The EXIF
orientation tag is applied everywhere, so a phone photo trains and predicts the same way up. Only
regular files are read: a FIFO named `photo.jpg` would block forever, a device never end.
"""

from __future__ import annotations

import io
import re
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from signlens.errors import SignlensError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_IMAGE_BYTES = 25 * 1024 * 1024  # a 12-megapixel phone JPEG is 3-8 MB
MAX_IMAGE_PIXELS = 40_000_000  # width x height; a 48-megapixel phone photo is refused, 8000x5000 is not
# JPEG's own bound; in PNG each row costs a fixed overhead, so a 1 x 40,000,000 strip took seconds.
MAX_IMAGE_SIDE = 65_535
# The size an image is read at: the palm detector sees 192 px and the landmark model 224 px, so pixels
# past a couple of megapixels cost time and memory and find no more hands. A bigger image is shrunk
# while it is decoded (JPEG: by libjpeg's DCT scaling, so the full size never exists in memory). The
# side bound also keeps both sides under OpenCV's 32,767-pixel limit.
WORK_PIXELS = 2_000_000
WORK_SIDE = 4096
# Nor more pixels than the bytes sent can hold: a file of n bytes is read at most PIXELS_PER_BYTE x n
# pixels (the flattest photo in the data sets has 18 pixels a byte), though never under the palm
# detector's 192 x 192. A JPEG is decoded straight to that size; other formats are decoded in full, at a
# cost in proportion to their pixels, so past WORK_PIXELS they are refused where they exceed it.
PIXELS_PER_BYTE = 64
MIN_WORK_PIXELS = 192 * 192
FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF")
MODES = ("RGB", "L")

# PIL's own bomb guard warns above its limit and raises above twice it, inside Image.open, before our
# header check runs; the error is reworded below so that it names our limit.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageError(SignlensError):
    """An image that cannot or must not be decoded: missing, too large, truncated, not an image."""


def is_regular_file(path: str | Path) -> bool:
    """True for a regular file (following links); FIFOs, sockets and devices would block or never end."""
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except (OSError, ValueError):
        return False


def read_image_bytes(path: str | Path, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, else ImageError naming the file."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ImageError(f"image not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"cannot read image {path}: it is a folder")
    if not stat.S_ISREG(mode):
        raise ImageError(f"cannot read image {path}: not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # the size may change after stat; never read past the limit
    except OSError as exc:
        raise ImageError(f"cannot read image {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ImageError(f"cannot read image {path}: larger than the {max_bytes:,}-byte limit")
    return data


def decode_image(
    source: bytes | str | Path,
    mode: str = "RGB",
    *,
    name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    work_pixels: int | None = WORK_PIXELS,
    work_side: int | None = WORK_SIDE,
) -> np.ndarray:
    """Decode a file path or raw bytes to uint8 (H, W, 3) for "RGB" or (H, W) for "L", EXIF-rotated,
    shrunk (aspect kept) to at most `work_pixels` pixels and `work_side` a side (None: full size).

    The format is sniffed from the bytes, never trusted from a file name. Raises ImageError naming
    `name` (or the path) and the problem.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(source, bytes | bytearray | memoryview):
        data, label = bytes(source), name or "upload"
        if len(data) > max_bytes:
            raise ImageError(f"cannot read image {label}: larger than the {max_bytes:,}-byte limit")
    else:
        data, label = read_image_bytes(source, max_bytes), name or str(source)
    if not data:
        raise ImageError(f"cannot read image {label}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plug-in warnings (palette transparency, EXIF) are not errors
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as im:
                width, height = im.size
                if width < 1 or height < 1:
                    raise ImageError(f"cannot read image {label}: it has no pixels ({width}x{height})")
                if width * height > max_pixels:
                    raise ImageError(
                        f"cannot read image {label}: {width}x{height} is over the "
                        f"{max_pixels:,}-pixel limit"
                    )
                if max(width, height) > MAX_IMAGE_SIDE:
                    raise ImageError(
                        f"cannot read image {label}: {width}x{height} has a side over the "
                        f"{MAX_IMAGE_SIDE:,}-pixel limit"
                    )
                pixels = width * height
                if work_pixels is not None:
                    held = PIXELS_PER_BYTE * len(data)  # what the bytes sent can hold
                    if pixels > work_pixels and pixels > held and im.format != "JPEG":
                        raise ImageError(
                            f"cannot read image {label}: {width}x{height} {im.format} in {len(data):,} bytes "
                            f"is over {PIXELS_PER_BYTE} pixels a byte; send it as JPEG or at most "
                            f"{work_pixels:,} pixels"
                        )
                    work_pixels = min(work_pixels, max(MIN_WORK_PIXELS, held))
                target = working_size(width, height, work_pixels, work_side)
                if target != (width, height) and im.format == "JPEG":
                    im.draft(None, target)  # decoded at 1/2, 1/4 or 1/8 scale, never below the target
                im = ImageOps.exif_transpose(im)
                if im.mode not in ("L", "RGB"):  # palette, alpha, 16 bits: to plain colours first
                    im = im.convert(mode)
                array = np.asarray(shrunk(im, work_pixels, work_side).convert(mode), dtype=np.uint8)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"cannot read image {label}: not an image of a known format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels is " if found else ""
        raise ImageError(f"cannot read image {label}: {size}over the {max_pixels:,}-pixel limit") from None
    except MemoryError:
        raise ImageError(f"cannot read image {label}: not enough memory to decode it") from None
    except Exception as exc:  # noqa: BLE001 - corrupt streams raise anything, depending on the plug-in
        text = " ".join(str(exc).split())[:200]
        raise ImageError(f"cannot read image {label}: {exc.__class__.__name__}: {text}") from None
    if array.ndim != (3 if mode == "RGB" else 2) or array.size == 0:
        raise ImageError(f"cannot read image {label}: decoded to an unusable shape {array.shape}")
    return array


def working_size(width: int, height: int, pixels: int | None, side: int | None) -> tuple[int, int]:
    """(width, height) scaled down, aspect kept, to at most `pixels` pixels and `side` a side."""
    scale = 1.0
    if pixels is not None and width * height > pixels:
        scale = (pixels / (width * height)) ** 0.5
    if side is not None and max(width, height) * scale > side:
        scale = side / max(width, height)
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def shrunk(im: Image.Image, pixels: int | None, side: int | None) -> Image.Image:
    """`im` resized down to the working size if it is bigger (a box reduction first: fast, no aliasing)."""
    target = working_size(*im.size, pixels, side)
    return im if target == im.size else im.resize(target, Image.BILINEAR, reducing_gap=3.0)


def decode_for_model(source: bytes | str | Path, img_size: int | None, in_chans: int, **limits) -> np.ndarray:
    """Decode to uint8 (H, W, C) with C = `in_chans` (1: gray, 3: RGB), squashed to
    img_size x img_size when given: what training folders and whole-image classifiers read."""
    if in_chans not in (1, 3):
        raise SignlensError(f"images have 1 (gray) or 3 (RGB) channels, not {in_chans}")
    # Full size: a training image is squashed once, from its own pixels, whatever its size.
    limits = {"work_pixels": None, "work_side": None, **limits}
    array = decode_image(source, "L" if in_chans == 1 else "RGB", **limits)
    if img_size is not None and array.shape[:2] != (img_size, img_size):
        im = Image.fromarray(array)
        array = np.asarray(im.resize((img_size, img_size), Image.BILINEAR), dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array
