"""Named photo sets for the recogniser, listed photo by photo with their signer (and hand box, where the
set records one): `asl-dataset` (ayuraj, five signers `hand1`..`hand5`, hands on black),
`sign-mnist-source` (the webcam photos Sign MNIST was cut from, seven signers `user_3`..`user_10`, an
office room) and `community-signers` (eleven people, each in their own room with their own webcam; the
folder is the signer, MANIFEST.json names each one's source and licence). Every split of these is grouped
by signer: frames of one letter are near-duplicates.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from signlens.errors import SignlensError

LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in "JZ"]  # the 24 static letters
PHOTO_SETS = {
    "asl-dataset": "asl_dataset",
    "sign-mnist-source": "sign-mnist-source",
    "community-signers": "community-signers",
}
_AYURAJ = re.compile(r"(hand\d+)_([0-9a-z])_")
_SMS = re.compile(r"([A-Z])(\d)\.jpg$")


@dataclass(frozen=True)
class Photo:
    path: Path
    label: str  # uppercase letter (or digit for ayuraj's digits)
    signer: str  # hand1..hand5, user_3..user_10, or a community signer's folder name
    box: tuple[int, int, int, int] | None = None  # the hand: x0, y0, x1, y1 in pixels, when recorded
    root: Path | None = None  # the set's folder where its photos nest deeper than one folder

    @property
    def source(self) -> str:
        """A stable name, relative to the set's folder (what landmark files record as the photo's source)."""
        if self.root is not None:
            return self.path.relative_to(self.root).as_posix()
        return f"{self.path.parent.name}/{self.path.name}"


def list_photo_set(name: str, root: Path, letters_only: bool = True) -> list[Photo]:
    """Every photo of a named set under `root` (SIGNLENS_DATA), sorted by path."""
    if name not in PHOTO_SETS:
        raise SignlensError(f"unknown photo set {name!r}; choose from {', '.join(PHOTO_SETS)}")
    folder = Path(root) / PHOTO_SETS[name]
    if not folder.is_dir():
        raise SignlensError(f"photo set {name} not found at {folder} (set SIGNLENS_DATA)")
    listers = {
        "asl-dataset": _ayuraj,
        "sign-mnist-source": _sign_mnist_source,
        "community-signers": _community,
    }
    photos = listers[name](folder)
    if letters_only:
        photos = [p for p in photos if p.label in LETTERS]
    return sorted(photos, key=lambda p: str(p.path))


def _ayuraj(folder: Path) -> list[Photo]:
    photos = []
    for path in folder.glob("*/*.jpeg"):
        match = _AYURAJ.match(path.name)
        if match:
            photos.append(Photo(path, match.group(2).upper(), match.group(1)))
    return photos


def _sign_mnist_source(folder: Path) -> list[Photo]:
    """Photos `user_N/<LETTER><frame>.jpg` with the boxes of `user_N/user_N_loc.csv` (the extra frame
    `user_3/A.jpg` has neither a frame number nor a box, and is left out)."""
    photos = []
    for user in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("user_")):
        boxes = {}
        table = user / f"{user.name}_loc.csv"
        if table.is_file():
            with open(table, newline="") as f:
                for row in csv.DictReader(f):
                    try:
                        boxes[Path(row["image"]).name] = tuple(
                            int(row[k])
                            for k in ("top_left_x", "top_left_y", "bottom_right_x", "bottom_right_y")
                        )
                    except (TypeError, ValueError):
                        continue  # a row without a box
        for path in user.glob("*.jpg"):
            match = _SMS.match(path.name)
            if match:
                photos.append(Photo(path, match.group(1), user.name, boxes.get(path.name)))
    return photos


# Community photos left out of training and scoring, each for what its contact sheet shows
# (scripts/contact_sheets.py; docs/data-audit.md): not the signer's own hand, no hand at all, or a handshape
# that is not the letter its folder says. Listed here, not deleted, so the choice stays visible.
EXCLUDED = {
    "kingdavid/*/kingdavid_*_015.jpg": "a watermarked stock picture of the letter, not the signer's webcam",
    "kingdavid/X/*": "the index finger straight up with no hook: the D handshape, not X",
    "kingdavid/O/kingdavid_O_000.jpg": "no hand in the frame",
    "longhong/D/longhong_D_000.jpg": "no hand in the frame",
}


def excluded_because(source: str) -> str | None:
    """Why a community photo (by its source) is left out, or None."""
    return next((why for pattern, why in EXCLUDED.items() if fnmatch.fnmatchcase(source, pattern)), None)


def _community(folder: Path) -> list[Photo]:
    """Photos `<signer>/<LETTER>/<signer>_<LETTER>_<nnn>.jpg`, one signer a folder (no hand boxes), less
    the EXCLUDED ones."""
    photos = []
    for signer in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in signer.glob("*/*.jpg"):
            letter = path.parent.name.upper()
            if len(letter) == 1 and path.name.startswith(f"{signer.name}_"):
                photo = Photo(path, letter, signer.name, None, folder)
                if excluded_because(photo.source) is None:
                    photos.append(photo)
    return photos


def community_manifest(root: Path) -> list[dict]:
    """MANIFEST.json of `community-signers`: per signer its repository, commit, licence and a note."""
    import json

    path = Path(root) / PHOTO_SETS["community-signers"] / "MANIFEST.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SignlensError(f"cannot read {path}: {exc}") from None


def signer_of_source(source: str) -> str:
    """The signer of a photo from its recorded source (any set's, with or without a `set:` tag or a
    `#change` suffix): hand1..hand5, user_N, or the community signer whose folder the source starts in."""
    source = str(source).split("#")[0].split(":", 1)[-1]
    match = _SIGNER.search(source)
    if match:
        return match.group(1)
    community = _COMMUNITY.match(source)
    return community.group(1) if community else "unknown"


def source_of_signer(signer: str) -> str:
    """The photo set a signer comes from: a source is a room (or rooms) and a photographer of its own.
    (A set's own name stands for itself: folds grouped by source.)"""
    if signer in PHOTO_SETS or signer == "unknown":
        return signer
    if re.fullmatch(r"hand\d+", signer):
        return "asl-dataset"
    if re.fullmatch(r"user_\d+", signer):
        return "sign-mnist-source"
    return "community-signers"


_SIGNER = re.compile(r"(hand\d+|user_\d+)")
_COMMUNITY = re.compile(r"([a-z0-9]+)/[A-Z]/\1_[A-Z]_\d+\.jpg$")
