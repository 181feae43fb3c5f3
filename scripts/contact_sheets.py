"""Contact sheets of a photo set, one PNG per signer, for checking labels by eye before training.

Each sheet has one row per letter (A..Y without J and Z) and one column per photo of that letter (up to
--per-letter, spread evenly through the letter's photos when it has more). Every thumbnail carries its
letter and index (the number that ends the file's name, else its place among the letter's photos); the
row header shows the letter with the standard handshape in words, to compare against.

    SIGNLENS_DATA=../shared/data .venv/bin/python scripts/contact_sheets.py [--set community-signers]
        [--signer NAME ...] [--out runs/contact-sheets] [--thumb 96] [--rows-per-image N] [--crop x0,y0,x1,y1]

Writes `<out>/<signer>.png`; with --rows-per-image N also `<signer>_<first>-<last>.png` with N letters
each, large enough to judge handshapes in an image viewer. Whole webcam frames leave the hand small:
--crop shows only the part of every frame where that signer holds the hand (`<signer>_crop*.png`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from signlens.data.photo_sets import LETTERS, PHOTO_SETS, Photo, list_photo_set
from signlens.data.sources import data_root
from signlens.errors import SignlensError
from signlens.io import atomic_write

# The standard ASL handshape of each static letter, shown beside its row as the reference.
STANDARD_HANDSHAPES = {
    "A": "fist, thumb at side",
    "B": "flat hand, thumb across palm",
    "C": "curved hand, C shape",
    "D": "index up, others touch thumb",
    "E": "fingers curled over thumb",
    "F": "index-thumb circle, others up",
    "G": "index+thumb point sideways",
    "H": "index+middle sideways",
    "I": "pinky up",
    "K": "index+middle up, thumb between",
    "L": "index up, thumb out",
    "M": "thumb under three fingers",
    "N": "thumb under two fingers",
    "O": "fingertips touch thumb",
    "P": "K pointing down",
    "Q": "G pointing down",
    "R": "index and middle crossed",
    "S": "fist, thumb across fingers",
    "T": "thumb between index+middle",
    "U": "index+middle together up",
    "V": "index+middle apart up",
    "W": "three fingers up",
    "X": "index hooked",
    "Y": "thumb and pinky out",
}
HEADER_WIDTH = 190
TITLE_HEIGHT = 28
GAP = 2
BACKGROUND = (255, 255, 255)
_TRAILING_NUMBER = re.compile(r"(\d+)$")
Crop = tuple[float, float, float, float]


def font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font, one size only
        return ImageFont.load_default()


def photo_index(photo: Photo, position: int) -> str:
    match = _TRAILING_NUMBER.search(photo.path.stem)
    return match.group(1) if match else str(position)


def spread(photos: list[Photo], count: int) -> list[Photo]:
    """At most `count` photos, evenly spaced through the list (a letter's photos are a burst of frames)."""
    if len(photos) <= count:
        return photos
    if count == 1:
        return photos[:1]
    step = (len(photos) - 1) / (count - 1)
    return [photos[round(i * step)] for i in range(count)]


def thumbnail(photo: Photo, size: int, crop: Crop | None = None) -> Image.Image:
    """The photo (or its `crop`, fractions of width and height) fitted into a size x size square, aspect
    kept; a gray square saying so when the file cannot be read."""
    tile = Image.new("RGB", (size, size), (40, 40, 40))
    try:
        with Image.open(photo.path) as image:
            if crop is None:
                image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            image = image.convert("RGB")
            if crop is not None:
                x0, y0, x1, y1 = crop
                image = image.crop(
                    (
                        round(x0 * image.width),
                        round(y0 * image.height),
                        round(x1 * image.width),
                        round(y1 * image.height),
                    )
                )
            image = ImageOps.contain(image, (size, size))  # a small crop is enlarged to the tile
            tile.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    except OSError:
        ImageDraw.Draw(tile).text((4, size // 2), "unreadable", fill=(255, 80, 80), font=font(11))
    return tile


def draw_sheet(
    title: str, rows: list[tuple[str, list[Photo]]], thumb: int, per_letter: int, crop: Crop | None = None
) -> Image.Image:
    """One image: a title line, then one row per (letter, photos) with its reference header."""
    width = HEADER_WIDTH + per_letter * (thumb + GAP)
    height = TITLE_HEIGHT + len(rows) * (thumb + GAP)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title, fill=(0, 0, 0), font=font(16))
    label_font, letter_font, note_font = font(12), font(max(14, thumb // 3)), font(11)
    for row, (letter, photos) in enumerate(rows):
        top = TITLE_HEIGHT + row * (thumb + GAP)
        draw.text((6, top + 2), letter, fill=(0, 0, 0), font=letter_font)
        draw.text(
            (6, top + thumb // 2), STANDARD_HANDSHAPES.get(letter, ""), fill=(60, 60, 60), font=note_font
        )
        draw.text((6, top + thumb // 2 + 14), f"{len(photos)} photos", fill=(120, 120, 120), font=note_font)
        for column, photo in enumerate(photos[:per_letter]):
            left = HEADER_WIDTH + column * (thumb + GAP)
            sheet.paste(thumbnail(photo, thumb, crop), (left, top))
            text = f"{letter} {photo_index(photo, column)}"
            box = draw.textbbox((left + 2, top + 1), text, font=label_font)
            draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=(0, 0, 0))
            draw.text((left + 2, top + 1), text, fill=(255, 255, 0), font=label_font)
    return sheet


def save_png(image: Image.Image, path: Path) -> None:
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def letter_rows(photos: list[Photo], per_letter: int) -> list[tuple[str, list[Photo]]]:
    by_letter: dict[str, list[Photo]] = defaultdict(list)
    for photo in photos:
        by_letter[photo.label].append(photo)
    return [(letter, spread(by_letter[letter], per_letter)) for letter in LETTERS]


def write_sheets(
    set_name: str,
    root: Path,
    out: Path,
    signers: list[str],
    thumb: int,
    per_letter: int,
    rows_per_image: int,
    crop: Crop | None = None,
) -> list[Path]:
    """Write every chosen signer's sheet (and its parts, and with `crop` only that part of every photo,
    named `<signer>_crop...`); returns the paths written."""
    by_signer: dict[str, list[Photo]] = defaultdict(list)
    for photo in list_photo_set(set_name, root):
        by_signer[photo.signer].append(photo)
    unknown = [s for s in signers if s not in by_signer]
    if unknown:
        raise SignlensError(
            f"no signer {', '.join(unknown)} in {set_name}; it has {', '.join(sorted(by_signer))}"
        )
    written = []
    for signer in signers or sorted(by_signer):
        rows = letter_rows(by_signer[signer], per_letter)
        title = f"{set_name} / {signer}: {len(by_signer[signer])} photos"
        name = signer
        if crop is not None:
            title += f", cut to x {crop[0]:g}-{crop[2]:g}, y {crop[1]:g}-{crop[3]:g} of the frame"
            name += "_crop"
        path = out / f"{name}.png"
        save_png(draw_sheet(title, rows, thumb, per_letter, crop), path)
        written.append(path)
        if rows_per_image > 0:
            for start in range(0, len(rows), rows_per_image):
                part = rows[start : start + rows_per_image]
                path = out / f"{name}_{part[0][0]}-{part[-1][0]}.png"
                part_title = f"{title} ({part[0][0]}-{part[-1][0]})"
                save_png(draw_sheet(part_title, part, thumb, per_letter, crop), path)
                written.append(path)
    return written


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def crop_box(text: str) -> Crop:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected x0,y0,x1,y1 as fractions of the frame, not {text!r}"
        ) from None
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise argparse.ArgumentTypeError(f"need 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, not {text!r}")
    return x0, y0, x1, y1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="community-signers", choices=sorted(PHOTO_SETS), dest="set_name")
    parser.add_argument("--signer", action="append", default=[], help="only this signer (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("runs/contact-sheets"))
    parser.add_argument("--thumb", type=positive, default=96, help="thumbnail size in pixels")
    parser.add_argument("--per-letter", type=positive, default=16, help="photos shown per letter")
    parser.add_argument("--rows-per-image", type=int, default=0, help="also write parts of N letters each")
    parser.add_argument(
        "--crop",
        type=crop_box,
        help="show only x0,y0,x1,y1 (fractions) of every photo: where a signer's hand is",
    )
    args = parser.parse_args(argv)
    try:
        written = write_sheets(
            args.set_name,
            data_root(),
            args.out,
            args.signer,
            args.thumb,
            args.per_letter,
            args.rows_per_image,
            args.crop,
        )
    except SignlensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
