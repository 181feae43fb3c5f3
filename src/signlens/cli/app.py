"""The Typer application object shared by every verb module, and small CLI helpers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from signlens.errors import SignlensError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Recognise static ASL hand signs: train, evaluate and use classifiers, with a record of every run.",
    pretty_exceptions_enable=False,
)
console = Console()


def parse_model_args(pairs: list[str]) -> dict:
    """`--model-arg widths=[8,16]` -> {"widths": [8, 16]}; values are YAML, so numbers and lists work."""
    import yaml

    args = {}
    for pair in pairs:
        if "=" not in pair:
            raise SignlensError(f"--model-arg expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        args[key.strip()] = yaml.safe_load(value)
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


def prepare_out_dir(
    out: Path | None, exist_ok: bool, default: str = "train", stale: tuple = RUN_FILES
) -> Path:
    """The output directory of a verb: runs/<default>[N] unless --out names one. A non-empty --out
    needs --exist-ok, and then loses the `stale` files a previous run left there."""
    if out is None:
        return next_run_dir(Path("runs") / default)
    if out.exists() and not out.is_dir():
        raise SignlensError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not exist_ok:
            hint = f" or --resume {out}" if default == "train" else ""
            raise SignlensError(f"--out {out} already holds files; pass --exist-ok to overwrite{hint}")
        for name in stale:
            (out / name).unlink(missing_ok=True)
    return out


def config_from_flags(data, model, recipe, config, model_arg: list[str], no_augment: bool, **flags):
    """Build a TrainConfig from a verb's training flags; unset flags (None) leave the recipe's values."""
    from signlens.engine import build_config

    if flags.get("init") is not None:
        flags["init"] = str(flags["init"])
    if flags.get("stages"):
        flags["stages"] = flags["stages"].split(",")
    if model_arg:
        flags["model_args"] = parse_model_args(model_arg)
    if no_augment:
        flags["augment"] = {"enabled": False}
    return build_config(data, model=model, recipe=recipe, yaml_path=config, overrides=flags)


def expand_images(paths: list[Path]) -> list[Path]:
    from signlens.data.folders import IMAGE_SUFFIXES

    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise SignlensError(f"no images in folder {path}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise SignlensError(f"image not found: {path}")
    return files
