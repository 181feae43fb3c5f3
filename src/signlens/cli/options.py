"""Options and checks that several verbs share; the training flags are built from the config in
cli/training.py."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from signlens.errors import SignlensError, check_range

ExistOk = Annotated[
    bool, typer.Option("--exist-ok", help="Reuse a non-empty --out, replacing its run files.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]

# A flag's range is checked by the same rule as a config key's (the training flags are config keys:
# cli/training.py builds them from TrainConfig).
check = check_range


def output_file(option: str, path: Path | None) -> Path | None:
    """An output file path that can be written: not a folder, and no file where a folder must be."""
    if path is None:
        return None
    if path.is_dir():
        raise SignlensError(f"{option} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SignlensError(f"{option} {path}: {parent} is not a folder")
            break
    return path


CREATED: list[Path] = []  # output folders this process made: a failed command leaves none of them empty


def make_folder(path: Path) -> None:
    """mkdir -p, remembering the folders it made, so that a command that then fails can remove them."""
    made = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    CREATED.extend(made)  # deepest first: removed in this order, a parent once its child is gone


def remove_empty_created() -> None:
    """Remove the output folders this process made that are still empty (after a failure)."""
    for folder in CREATED:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only ever removes an empty folder
    CREATED.clear()


def output_dir(option: str, path: Path | None) -> Path | None:
    """An output folder: created now, so an impossible one fails before any work is done."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise SignlensError(f"{option} {path} exists and is not a folder")
    try:
        make_folder(path)
    except OSError as exc:
        raise SignlensError(f"{option} {path}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SignlensError(f"{option} {path}: the folder is not writable")
    return path
