"""Core verbs: train, val, predict, models."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from signlens.cli import options as o
from signlens.cli.app import app, config_from_flags, console, expand_images, prepare_out_dir
from signlens.errors import SignlensError
from signlens.pipeline.thresholds import PHOTO_THRESHOLD


@app.command()
def train(
    data: o.Data = None,
    model: o.Model = None,
    recipe: o.Recipe = None,
    config: o.ConfigFile = None,
    seed: o.Seed = None,
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory [default: runs/train, runs/train2, ...]."
    ),
    exist_ok: o.ExistOk = False,
    resume: Path = typer.Option(
        None, "--resume", help="Continue the stopped run in this directory from its last.pt."
    ),
    epochs: o.Epochs = None,
    batch_size: o.BatchSize = None,
    lr: o.Lr = None,
    optimizer: str = typer.Option(None, "--optimizer", help="sgd | adam | adamw | rmsprop."),
    scheduler: str = typer.Option(None, "--scheduler", help="none | step | cosine | onecycle | plateau."),
    weight_decay: float = typer.Option(
        None, "--weight-decay", help="Weight decay (not applied to biases and norms)."
    ),
    label_smoothing: float = typer.Option(
        None, "--label-smoothing", help="Label smoothing for the cross-entropy loss."
    ),
    grad_clip: float = typer.Option(
        None, "--grad-clip", help="Clip the gradient norm to this value (0: off)."
    ),
    ema_decay: float = typer.Option(
        None, "--ema-decay", help="Evaluate and save a moving average of the weights (e.g. 0.99; 0: off)."
    ),
    patience: o.Patience = None,
    img_size: o.ImgSize = None,
    in_chans: o.InChans = None,
    val_fraction: float = typer.Option(
        None, "--val-fraction", help="Share of the training file held out for validation [default: 0.1]."
    ),
    model_arg: o.ModelArg = [],  # noqa: B006 - typer copies list defaults
    no_augment: o.NoAugment = False,
    pretrained: o.Pretrained = None,
    init: o.Init = None,
    stages: o.Stages = None,
    lr_decay: o.LrDecay = None,
    freeze_bn: o.FreezeBn = None,
    normalize: str = typer.Option(
        None,
        "--normalize",
        help="auto (ImageNet stats with ImageNet weights, else the data's) | data | imagenet.",
    ),
    device: o.Device = None,
    threads: o.Threads = None,
    deterministic: bool = typer.Option(
        None, "--deterministic/--no-deterministic", help="Deterministic algorithms (slower on GPU)."
    ),
    classes: o.Classes = None,
    quiet: o.Quiet = False,
):
    """Train a classifier; writes config.yaml, history.csv, best.pt, last.pt, metrics.json and plots to the run directory."""
    from signlens.engine import Trainer
    from signlens.evaluation import finish_run

    if resume is not None:
        trainer = Trainer.resume(resume, progress=not quiet)
        out_dir = Path(resume)
    else:
        cfg = config_from_flags(
            data, model, recipe, config, model_arg, no_augment,
            seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, scheduler=scheduler,
            weight_decay=weight_decay, label_smoothing=label_smoothing, grad_clip=grad_clip, ema_decay=ema_decay,
            patience=patience, img_size=img_size, in_chans=in_chans, val_fraction=val_fraction, device=device, threads=threads,
            deterministic=deterministic, classes=classes, pretrained=pretrained, init=init, stages=stages,
            lr_decay=lr_decay, freeze_bn=freeze_bn, normalize=normalize,
        )  # fmt: skip
        out_dir = prepare_out_dir(out, exist_ok)
        trainer = Trainer(cfg, out_dir, progress=not quiet)
    for report in trainer.init_reports:
        console.print(report.summary(), highlight=False)
    summary = trainer.fit()
    metrics = finish_run(
        out_dir, summary, trainer.state.history, trainer.test_set, trainer.bundle.test_is_official
    )
    test = metrics["test"]
    console.print(
        f"[bold]{out_dir}[/bold]  model {trainer.config.model} ({summary['parameters']:,} params)  "
        f"epochs {summary['epochs_run']} (best {summary['best_epoch']})  train {summary['train_seconds']:.1f}s"
    )
    console.print(
        f"test ({test['split']}): accuracy {100 * test['accuracy']:.2f}% "
        f"({test['num_correct']}/{test['num_samples']})  macro F1 {test['macro_f1']:.4f}"
        + handshape_note(test)
    )


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
    metrics, _ = evaluate_images(classifier, images)
    metrics.update(split=split, data=bundle.name, weights=str(weights))
    if as_json:
        print(json.dumps(metrics, indent=2))
        return
    table = Table(title=f"{weights} on {bundle.name} [{split}]")
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
    worst = sorted(metrics["per_class"].items(), key=lambda kv: kv[1]["f1"])[:5]
    console.print("lowest F1: " + ", ".join(f"{name} {m['f1']:.3f}" for name, m in worst if m["support"]))


@app.command()
def predict(
    images: list[Path] = typer.Argument(..., help="Photos (any size) or folders of photos."),
    weights: Path = typer.Option(
        None,
        "--weights",
        "-w",
        help="Model to use [default: the bundled hand-landmark recogniser]. A landmark model detects the hand "
        "first; an image-classifier checkpoint or .onnx classifies the whole image.",
    ),
    top_k: int = typer.Option(3, "--top-k", "-k", help="How many labels to list per image."),
    threshold: float = typer.Option(
        PHOTO_THRESHOLD,
        "--threshold",
        help="Calibrated confidence below which the answer is 'unsure' (label null). 0.5: the letter is more "
        "likely right than wrong (on unseen signers 97% of photos clear it, 93% of those correctly).",
    ),
    annotate: Path = typer.Option(
        None, "--annotate", help="Write each photo with its hand box and label here."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="One JSON object per line: path, label (null: no hand or unsure), confidence, top, hand.",
    ),
):
    """Recognise the sign in each photo: detect the hand, read its landmarks, classify; one result per image."""
    files = expand_images(images)
    results = _recognise_photos(files, weights, threshold, top_k, annotate)
    for result in results:
        if as_json:
            print(json.dumps(result))
        else:
            top = "  ".join(f"{name} {prob:.3f}" for name, prob in result["top"])
            label = result["label"] or ("no hand" if result["top"] == [] else "unsure")
            console.print(f"{result['path']}: [bold]{label}[/bold]  {top}")


def _recognise_photos(files, weights, threshold, top_k, annotate):
    from signlens.io import atomic_write
    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.live import draw_recognition
    from signlens.pipeline.recognizer import Recognizer

    recognizer = Recognizer.load(weights, threshold=threshold, top_k=top_k)
    try:
        for path in files:
            rgb = read_rgb(path)
            result = recognizer.recognize(rgb)
            if annotate is not None:
                import cv2

                encoded = cv2.imencode(".jpg", draw_recognition(rgb[..., ::-1], result))[1].tobytes()
                atomic_write(
                    Path(annotate) / f"{path.stem}.jpg", lambda tmp, data=encoded: tmp.write_bytes(data)
                )
            yield {"path": str(path), **result.to_json()}
    finally:
        recognizer.close()


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
        console.print(f"recipe [bold]{name}[/bold]: " + ", ".join(f"{k}={v}" for k, v in recipe.items()))
