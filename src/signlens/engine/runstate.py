"""A run's progress (epochs, best epoch, stages) and how it is written: last.pt's state and history.csv."""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass, field
from pathlib import Path

import torch

from signlens.io import write_text

HISTORY_FIELDS = [
    "epoch", "lr", "seconds",
    "train_loss", "train_accuracy", "train_macro_precision", "train_macro_recall", "train_macro_f1",
    "val_loss", "val_accuracy", "val_macro_precision", "val_macro_recall", "val_macro_f1",
]  # fmt: skip


@dataclass
class RunState:
    epoch: int = 0  # epochs completed
    best_epoch: int = 0
    best_key: tuple = (-1.0, float("-inf"))  # (val accuracy, -val loss): higher is better
    epochs_since_best: int = 0
    train_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    stage: int = 0  # staged fine-tuning: current stage, its epochs so far, epochs since its best val loss
    stage_epochs: int = 0
    stage_since_best: int = 0
    rank_samples: list[int] = field(default_factory=list)  # training samples seen by each rank

    def to_dict(self) -> dict:
        """The counters as last.pt stores them (the history is stored beside them)."""
        record = dataclasses.asdict(self)
        del record["history"]
        record["best_key"] = list(self.best_key)
        return record

    @classmethod
    def from_checkpoint(cls, last: dict) -> RunState:
        s = last["state"]
        names = {f.name for f in dataclasses.fields(cls)} - {"history", "best_key"}
        return cls(
            **{k: s[k] for k in names if k in s},
            best_key=tuple(s["best_key"]),
            history=list(last["history"]),
        )


def cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def write_history(path: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(path, buffer.getvalue())


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Where each training batch starts. A last batch of a single sample joins the one before it: batch
    norm cannot normalise one sample (and its statistics would be noise)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return starts


def progress_bar(show: bool):
    """A rich progress bar on stderr, shown only when a person watches it: piped output stays the
    results alone."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not (show and sys.stderr.isatty()), transient=False,
    )  # fmt: skip
