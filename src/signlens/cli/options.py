"""Command-line options that `train` and `cv` share, declared once (typer reads them from Annotated)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from signlens.errors import SignlensError

Data = Annotated[
    str,
    typer.Option(
        "--data",
        "-d",
        help="Named data set (sign-mnist, asl-dataset) or a path: Kaggle CSV or zip, or a folder of class folders.",
    ),
]
Model = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Architecture from `signlens models`. Without it, the data set's default recipe (sign-mnist: sign-mnist-fast).",
    ),
]
Recipe = Annotated[
    str, typer.Option("--recipe", help="Named recipe (see `signlens models`); flags override it.")
]
ConfigFile = Annotated[
    Path,
    typer.Option(
        "--config", help="YAML file of config keys (a run's config.yaml works too); flags override it."
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        "--seed",
        help="Seed for initialisation, shuffling and augmentation, 0..4294967295 [default: 0].",
        show_default=False,
    ),
]
ExistOk = Annotated[
    bool, typer.Option("--exist-ok", help="Reuse a non-empty --out, replacing its run files.")
]
Epochs = Annotated[int, typer.Option("--epochs", help="Number of epochs (staged recipes: the stages' sum).")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Training batch size.")]
Lr = Annotated[float, typer.Option("--lr", help="Learning rate (the peak rate for one-cycle).")]
Patience = Annotated[
    int,
    typer.Option("--patience", help="Stop after this many epochs without validation improvement (0: off)."),
]
ImgSize = Annotated[
    int, typer.Option("--img-size", help="Input size in pixels [default: 28 for Sign MNIST, 64 for photos].")
]
InChans = Annotated[int, typer.Option("--in-chans", help="1 (gray) or 3 (RGB) [default: the data's own].")]
ModelArg = Annotated[
    list[str], typer.Option("--model-arg", help="Architecture argument KEY=VALUE (repeatable), e.g. se=true.")
]
NoAugment = Annotated[bool, typer.Option("--no-augment", help="Turn batch augmentation off.")]
Pretrained = Annotated[
    str,
    typer.Option("--pretrained", help="imagenet: torchvision's published weights, from torch.hub's cache."),
]
Init = Annotated[
    Path,
    typer.Option(
        "--init", help="Start from this state dict or signlens checkpoint (what fits by name and shape)."
    ),
]
Stages = Annotated[
    str,
    typer.Option(
        "--stages",
        help="Staged fine-tuning, e.g. head:0.002:5,layer4:1e-4:5,layer3:1e-4:5 (GROUP:LR:EPOCHS[:PATIENCE]).",
    ),
]
LrDecay = Annotated[
    float,
    typer.Option(
        "--lr-decay", help="Layer-wise LR decay: each layer group below the head gets this factor more."
    ),
]
FreezeBn = Annotated[
    bool, typer.Option("--freeze-bn/--no-freeze-bn", help="Keep batch-norm statistics and scales fixed.")
]
Classes = Annotated[
    str,
    typer.Option(
        "--classes", help="all | letters (the 24 static letters) | digits | a comma list [default: all]."
    ),
]
Device = Annotated[str, typer.Option("--device", help="auto | cpu | cuda.")]
Threads = Annotated[int, typer.Option("--threads", help="CPU threads for torch (0: torch's default).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]

Optimizer = Annotated[str, typer.Option("--optimizer", help="sgd | adam | adamw | rmsprop.")]
Scheduler = Annotated[str, typer.Option("--scheduler", help="none | step | cosine | onecycle | plateau.")]
WeightDecay = Annotated[
    float, typer.Option("--weight-decay", help="Weight decay (not applied to biases and norms).")
]
LabelSmoothing = Annotated[
    float, typer.Option("--label-smoothing", help="Label smoothing for the cross-entropy loss, in [0, 1).")
]
GradClip = Annotated[
    float, typer.Option("--grad-clip", help="Clip the gradient norm to this value (0: off).")
]
EmaDecay = Annotated[
    float,
    typer.Option(
        "--ema-decay", help="Evaluate and save a moving average of the weights (e.g. 0.99; 0: off)."
    ),
]
Normalize = Annotated[
    str,
    typer.Option(
        "--normalize", help="auto (ImageNet stats with ImageNet weights, else the data's) | data | imagenet."
    ),
]
Deterministic = Annotated[
    bool,
    typer.Option("--deterministic/--no-deterministic", help="Deterministic algorithms (slower on GPU)."),
]
ValFraction = Annotated[
    float,
    typer.Option(
        "--val-fraction",
        help="Share of the training part held out for model selection [default: the recipe's, else 0.1; "
        "sign-mnist-fast 0.05].",
    ),
]


def check(option: str, value, low=None, high=None, low_open: bool = False, high_open: bool = False):
    """A SignlensError naming `option` unless low <= value <= high (open ends exclude); NaN never passes."""
    if value is None:
        return value
    ok = value == value  # False for NaN
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        if low is not None and high is not None:
            span = f"lie in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        elif low is not None:
            span = f"be {'above' if low_open else 'at least'} {low}"
        else:
            span = f"be {'below' if high_open else 'at most'} {high}"
        raise SignlensError(f"{option} must {span}, got {value}")
    return value


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
