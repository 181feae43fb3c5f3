"""The Typer application object shared by every verb module, and small CLI helpers."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from signlens.cli.options import make_folder
from signlens.errors import SignlensError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Recognise static ASL hand signs: train, evaluate and use classifiers, with a record of every run.",
    pretty_exceptions_enable=False,
)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# Piped or redirected output is not wrapped at 80 columns: one result stays one line for grep and awk.
console = Console(soft_wrap=not _is_terminal(sys.stdout), width=None if _is_terminal(sys.stdout) else 200)


def progress_wanted(quiet: bool = False, as_json: bool = False) -> bool:
    """Progress bars go to stderr, and only when a person is watching it (and asked for no JSON)."""
    return not quiet and not as_json and _is_terminal(sys.stderr)


def stderr_console() -> Console:
    return Console(stderr=True)


def quote(text) -> str:
    """User text (a path, a class name) inside Rich markup: `[test]` or `x[/b].jpg` print as written."""
    return escape(str(text))


def tidy_help(command) -> None:
    """One default per option in --help: typer adds "[default: None]" to options whose help already
    says what happens by default (or has nothing to say)."""
    for param in getattr(command, "params", []):
        if param.default is None or "[default:" in (getattr(param, "help", None) or ""):
            param.show_default = False
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(inf|nan)", re.IGNORECASE)


def parse_model_args(pairs: list[str], flag: str = "--model-arg") -> dict:
    """`--model-arg widths=[8,16]` -> {"widths": [8, 16]}; values are YAML, so numbers and lists work,
    and `1e-1` is a number (YAML 1.1 wants `1.0e-1`). Errors name `flag`."""
    import yaml

    args = {}
    for pair in pairs:
        if "=" not in pair:
            raise SignlensError(f"{flag} expects KEY=VALUE, got {pair!r}")
        key, value = (part.strip() for part in pair.split("=", 1))
        if not key.isidentifier():
            raise SignlensError(f"{flag} {pair!r}: {key!r} is not an argument name")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            raise SignlensError(f"{flag} {key}: cannot read the value {value!r}") from None
        if isinstance(parsed, str) and NUMBER.fullmatch(parsed):
            parsed = float(parsed) if not re.fullmatch(r"[-+]?\d+", parsed) else int(parsed)
        args[key] = parsed
    return args


def next_run_dir(base: Path) -> Path:
    """runs/train, runs/train2, ... : a fresh directory per run unless --out names one."""
    if not base.exists():
        return base
    n = 2
    while base.with_name(f"{base.name}{n}").exists():
        n += 1
    return base.with_name(f"{base.name}{n}")


RUN_FILES = ("best.pt", "last.pt", "metrics.json", "history.csv", "curves.png", "confusion_matrix.png")


def unfinished_start(out: Path) -> bool:
    """A run killed before it finished its first epoch leaves config.yaml (and temp files) only."""
    names = {p.name for p in out.iterdir() if not p.name.endswith(".tmp")}
    return names <= {"config.yaml"}


def prepare_out_dir(
    out: Path | None, exist_ok: bool, default: str = "train", stale: tuple = RUN_FILES
) -> Path:
    """The output directory of a verb: runs/<default>[N] unless --out names one. A non-empty --out
    needs --exist-ok, and then loses the `stale` files a previous run left there; one that only holds
    what a run killed in its first epoch left is reused as it is. The folder is created here, so an
    impossible --out fails before any work."""
    if out is None:
        out = next_run_dir(Path("runs") / default)
    elif out.exists() and not out.is_dir():
        raise SignlensError(f"--out {out} exists and is not a directory")
    elif out.is_dir() and any(out.iterdir()) and not (default == "train" and unfinished_start(out)):
        if not exist_ok:
            hint = f" or --resume {out}" if default == "train" and (out / "last.pt").exists() else ""
            raise SignlensError(f"--out {out} already holds files; pass --exist-ok to overwrite{hint}")
        for name in stale:
            (out / name).unlink(missing_ok=True)
    try:
        make_folder(out)
    except (FileExistsError, NotADirectoryError):
        raise SignlensError(f"--out {out}: a part of its path is a file, not a folder") from None
    except OSError as exc:
        raise SignlensError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise SignlensError(f"--out {out}: the folder is not writable")
    return out


def expand_images(paths: list[str | Path], errors: list[tuple[Path, str]] | None = None) -> list[Path]:
    """The image files named, and those under the folders named (regular files only: a FIFO named
    `x.jpg` in a folder would block the walk). With `errors`, a missing path or an empty folder is
    recorded there and the rest go on; without it, it is raised."""
    from signlens.data.images import IMAGE_SUFFIXES, is_regular_file

    files = []
    for name in paths:
        # Arguments arrive as text: Path("") would silently become "." and walk the current folder.
        path, problem = Path(name), None
        if str(name) == "":
            problem = "an image path is empty"
        elif path.is_dir():
            try:
                found = sorted(
                    p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and is_regular_file(p)
                )
            except OSError as exc:
                found, problem = [], f"cannot list folder {path}: {exc.strerror or exc}"
            if not found and problem is None:
                problem = f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {path}"
            files += found
        elif path.exists() or path.is_symlink():
            files.append(path)  # the decoder says what is wrong with a file that is not an image
        else:
            problem = f"image not found: {path}"
        if problem is not None:
            if errors is None:
                raise SignlensError(problem)
            errors.append((path, problem))
    return files
