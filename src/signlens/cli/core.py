"""Core verbs: train, val, models (predict lives in cli/predict.py)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import typer
from rich.table import Table

from signlens.cli import options as o
from signlens.cli.app import app, console, prepare_out_dir, quote
from signlens.cli.training import TrainingFlags, training_command
from signlens.errors import SignlensError


@training_command(app)
def train(
    flags: TrainingFlags,
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory [default: runs/train, runs/train2, ...]."
    ),
    exist_ok: o.ExistOk = False,
    resume: Path = typer.Option(
        None,
        "--resume",
        help="Continue the stopped run in this directory from its last.pt (a run stopped in its first "
        "epoch starts again from its config.yaml); --epochs N changes its length, nothing else.",
    ),
    quiet: o.Quiet = False,
    dist_backend: str = typer.Option(
        "auto",
        "--dist-backend",
        help="Under torchrun (torchrun --nproc-per-node N -m signlens train ...): auto (nccl on CUDA, "
        "gloo on CPU) | gloo | nccl. Rank 0 writes the run directory.",
    ),
):
    """Train a classifier; writes config.yaml, history.csv, best.pt, last.pt, metrics.json and plots to the run directory."""
    from signlens.engine import distributed

    ctx = distributed.setup(dist_backend, flags.get("device"))
    try:
        run_training(ctx, flags, out, exist_ok, resume, quiet)
        distributed.teardown(together=True)
    finally:
        distributed.teardown()


def run_training(
    ctx, flags: TrainingFlags, out: Path | None, exist_ok: bool, resume: Path | None, quiet: bool
) -> None:
    """`train`'s work; under torchrun every rank runs it, rank 0 choosing the run directory (and
    whether it continues a run) for all and alone scoring and writing it."""
    from signlens.engine import Trainer, distributed
    from signlens.evaluation import finish_run

    if resume is not None:
        extra = [name for name in flags.given() if name != "--epochs"] + (
            ["--out"] if out is not None else []
        )
        if extra:
            raise SignlensError(
                f"--resume continues a run with its own config; only --epochs may change (got {extra[0]})"
            )
        out_dir, trainer = resume_run(Path(resume), flags.get("epochs"), quiet)
    else:
        cfg = flags.build()
        trainer = unfinished_run(out, cfg, exist_ok, quiet) if ctx.is_main else None
        out_dir = (
            trainer.out if trainer is not None else prepare_out_dir(out, exist_ok) if ctx.is_main else None
        )
        # The other ranks follow rank 0: the same folder, and continue the run where rank 0 does.
        out_dir, continued = distributed.broadcast((out_dir, trainer is not None))
        if continued and trainer is None:
            trainer = Trainer.resume(out_dir, progress=False)
        with cleanup_on_failure(out_dir, fresh=ctx.is_main):
            trainer = trainer or Trainer(cfg, out_dir, progress=not quiet and ctx.is_main)
    with cleanup_on_failure(out_dir, fresh=resume is None and ctx.is_main):
        for report in trainer.init_reports if ctx.is_main else ():
            console.print(quote(report.summary()), highlight=False)
        summary = trainer.fit()
    if not ctx.is_main:
        return
    metrics = finish_run(
        out_dir, summary, trainer.state.history, trainer.test_set, trainer.bundle.test_is_official,
        val=trainer.val_set,  # the temperature is fitted here, without reloading the data
    )  # fmt: skip
    test = metrics["test"]
    console.print(
        f"[bold]{quote(out_dir)}[/bold]  model {trainer.config.model} ({summary['parameters']:,} params)  "
        f"epochs {summary['epochs_run']} (best {summary['best_epoch']})  train {summary['train_seconds']:.1f}s"
    )
    console.print(
        f"test ({test['split']}): accuracy {100 * test['accuracy']:.2f}% "
        f"({test['num_correct']}/{test['num_samples']})  macro F1 {test['macro_f1']:.4f}"
        + handshape_note(test)
    )


def resume_run(run_dir: Path, epochs: int | None, quiet: bool):
    """(run directory, trainer) continuing `run_dir`: from last.pt, or from config.yaml when the run
    was stopped before it finished an epoch (it has nothing else to continue from)."""
    from signlens.engine import Trainer, build_config

    if not run_dir.is_dir():
        raise SignlensError(f"--resume {run_dir}: no such run directory")
    if (run_dir / "last.pt").exists():
        return run_dir, Trainer.resume(run_dir, progress=not quiet, epochs=epochs)
    if not (run_dir / "config.yaml").is_file():
        raise SignlensError(f"--resume {run_dir}: no last.pt or config.yaml there, so no run to continue")
    cfg = build_config(None, yaml_path=run_dir / "config.yaml", overrides={"epochs": epochs})
    console.print(f"{quote(run_dir)} stopped before its first epoch ended: starting it again")
    return run_dir, Trainer(cfg, run_dir, progress=not quiet)


def unfinished_run(out: Path | None, cfg, exist_ok: bool, quiet: bool):
    """The same command rerun after a crash: an --out holding an unfinished run (last.pt, no
    metrics.json) of exactly this config continues it instead of refusing to start."""
    from signlens.engine import TrainConfig, Trainer
    from signlens.engine.checkpoint import load_checkpoint

    if out is None or exist_ok or not (out / "last.pt").is_file() or (out / "metrics.json").exists():
        return None
    try:
        stored = TrainConfig.from_dict(load_checkpoint(out / "last.pt").get("config", {})).to_dict()
    except SignlensError:
        return None
    if stored != cfg.to_dict():
        return None
    console.print(f"{quote(out)} holds this run unfinished: continuing it (as --resume {quote(out)} would)")
    return Trainer.resume(out, progress=not quiet)


class cleanup_on_failure:  # noqa: N801 - a context manager
    """A run that fails before it saved an epoch leaves no config.yaml behind (nor the folder, if
    that is all there was), so the same command can simply be run again."""

    def __init__(self, out_dir: Path, fresh: bool = True):
        self.out_dir, self.fresh = out_dir, fresh

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None or not self.fresh or (self.out_dir / "last.pt").exists():
            return False
        (self.out_dir / "config.yaml").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.out_dir.rmdir()  # only when empty
        return False


def handshape_note(metrics: dict) -> str:
    """The handshape accuracy, where the classes hold pairs that share one (0/O, 2/V, 6/W)."""
    if "handshape_accuracy" not in metrics:
        return ""
    return f"  handshape accuracy {100 * metrics['handshape_accuracy']:.2f}% (0/O, 2/V, 6/W as one sign)"


@app.command()
def val(
    weights: Path = typer.Option(..., "--weights", "-w", help="Checkpoint (best.pt / last.pt) to evaluate."),
    data: str = typer.Option(
        None, "--data", "-d", help="Data set name or path [default: the data the model was trained on]."
    ),
    split: str = typer.Option(
        "test",
        "--split",
        help="test (the official test file, or the run's held-out test) | val (the training run's validation split) | all (every image in --data).",
    ),
    classes: str = typer.Option(
        None,
        "--classes",
        help="Score only these classes of the data: letters | digits | a comma list (matched ignoring "
        "case, so a Sign MNIST model's A..Y meet ayuraj's a..y) [default: the model's training classes].",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON (with per-class figures)."),
):
    """Evaluate a trained model on a data split: accuracy, macro precision/recall/F1, per class."""
    from signlens.engine import TrainConfig
    from signlens.engine.rundata import run_splits
    from signlens.evaluation import evaluate_images
    from signlens.inference import load_classifier

    if split not in ("test", "val", "all"):
        raise SignlensError(f"--split must be test, val or all, got {split!r}")
    classifier = load_classifier(weights)
    # Checkpoints and exports both carry their training config: its data, classes and split.
    config = TrainConfig.from_dict(classifier.train_config)
    bundle, _, val_set, test_set = run_splits(config, data, classifier.img_size, classifier.in_chans)
    if split == "all":
        images = bundle.test if bundle.train is None else bundle.train
    elif bundle.train is None and split == "val":
        raise SignlensError(f"data '{bundle.name}' has no training file, so no validation split")
    else:
        images = val_set if split == "val" else test_set
    images = matched_classes(images, classifier.class_names, classes, bundle.name)
    metrics, _ = evaluate_images(classifier, images)
    metrics.update(split=split, data=bundle.name, weights=str(weights))
    if as_json:
        print(json.dumps(metrics, indent=2))
        return
    table = Table(title=quote(f"{weights} on {bundle.name} [{split}]"))
    for column in ("samples", "accuracy", "macro P", "macro R", "macro F1"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{metrics['num_samples']:,}",
        f"{100 * metrics['accuracy']:.2f}%",
        *(f"{metrics[k]:.4f}" for k in ("macro_precision", "macro_recall", "macro_f1")),
    )
    console.print(table)
    if note := handshape_note(metrics):
        console.print(note.strip())
    scored = [(name, m) for name, m in metrics["per_class"].items() if m["support"]]
    worst = sorted((kv for kv in scored if kv[1]["f1"] < 1), key=lambda kv: kv[1]["f1"])[:5]
    if worst:
        console.print("lowest F1: " + quote(", ".join(f"{name} {m['f1']:.3f}" for name, m in worst)))
    elif scored:
        console.print(f"F1 1.000 for every class ({len(scored)})")


def matched_classes(images, model_classes: list[str], classes: str | None, name: str):
    """The samples of `classes` (all without it), their class names spelled as the model spells them
    (matching ignores case); classes the model does not know are an error naming them."""
    from signlens.data import DataBundle, ImageSet
    from signlens.data.sources import select_classes

    if images is None or len(images) == 0:
        raise SignlensError(f"data '{name}' has no samples in this split")
    if classes is not None:
        if not classes.strip() or classes.strip() == "all":
            raise SignlensError("--classes: give letters, digits or a comma list of class names")
        images = select_classes(DataBundle(name, images, None), classes).train
    by_upper = {c.upper(): c for c in model_classes}
    unknown = sorted({c for c in images.class_names if c.upper() not in by_upper})
    if unknown:
        raise SignlensError(
            f"the data has classes the model does not know: {unknown[:12]}; pick the shared ones with "
            "--classes (e.g. --classes letters)"
        )
    names = [by_upper[c.upper()] for c in images.class_names]
    return ImageSet(images.images, images.labels, names, images.sources, images.groups)


@app.command()
def models():
    """List the registered architectures and the named training recipes."""
    from signlens.engine import RECIPES
    from signlens.models import list_models, model_arguments

    table = Table(title="architectures (create_model names)")
    table.add_column("model")
    table.add_column("arguments")
    for name in list_models():
        table.add_row(name, ", ".join(model_arguments(name)))
    console.print(table)
    for name, recipe in RECIPES.items():
        console.print(
            f"recipe [bold]{name}[/bold]: " + quote(", ".join(f"{k}={v}" for k, v in recipe.items()))
        )
