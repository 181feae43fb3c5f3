"""The one image decoder: training folders, `predict`, `live` and the web API all read images here.

Limits are checked before any pixel is decoded (file size from the file system or the byte count,
pixel count from the header), so a decompression bomb costs a header read, not gigabytes. The EXIF
orientation tag is applied everywhere, so a phone photo trains and predicts the same way up.
"""

from __future__ import annotations

import io
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from signlens.errors import SignlensError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_IMAGE_BYTES = 25 * 1024 * 1024  # a 12-megapixel phone JPEG is 3-8 MB
MAX_IMAGE_PIXELS = 40_000_000  # width x height; a 48-megapixel phone photo is refused, 8000x5000 is not
FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "GIF", "TIFF")

# PIL's own bomb guard raises (or warns) at its own limit; ours is checked first and named in the error.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageError(SignlensError):
    """An image that cannot or must not be decoded: missing, too large, truncated, not an image."""


def is_regular_file(path: Path) -> bool:
    """True for a regular file (following links); FIFOs, sockets and devices would block or never end."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def read_image_bytes(path: str | Path, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    path = Path(path)
    if not path.exists():
        raise ImageError(f"image not found: {path}")
    if not is_regular_file(path):
        raise ImageError(f"cannot read image {path}: not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageError(f"cannot read image {path}: {size} bytes is over the {max_bytes}-byte limit")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read image {path}: {exc.strerror or exc}") from None


def decode_image(
    source: bytes | str | Path,
    mode: str = "RGB",
    *,
    name: str | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Decode a file path or raw bytes to uint8 (H, W, 3) for "RGB" or (H, W) for "L", EXIF-rotated.

    The format is sniffed from the bytes, never trusted from a file name. Raises ImageError naming
    `name` (or the path) and the problem.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data, label = bytes(source), name or "upload"
        if len(data) > max_bytes:
            raise ImageError(
                f"cannot read image {label}: {len(data)} bytes is over the {max_bytes}-byte limit"
            )
    else:
        data, label = read_image_bytes(source, max_bytes), name or str(source)
    if not data:
        raise ImageError(f"cannot read image {label}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as im:
                width, height = im.size
                if width < 1 or height < 1:
                    raise ImageError(f"cannot read image {label}: it has no pixels ({width}x{height})")
                if width * height > max_pixels:
                    raise ImageError(
                        f"cannot read image {label}: {width}x{height} is over the {max_pixels}-pixel limit"
                    )
                im = ImageOps.exif_transpose(im)
                array = np.asarray(im.convert(mode), dtype=np.uint8)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        reason = "not an image of a known format" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise ImageError(f"cannot read image {label}: {reason}") from None
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, MemoryError, IndexError, KeyError) as exc:
        # Truncated or corrupt streams surface as any of these, depending on the plug-in.
        raise ImageError(f"cannot read image {label}: {exc.__class__.__name__}: {exc}") from None
    return array
