"""Command-line options that `train` and `cv` share, declared once (typer reads them from Annotated)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
    int, typer.Option("--seed", help="Seed for initialisation, shuffling and augmentation [default: 0].")
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
