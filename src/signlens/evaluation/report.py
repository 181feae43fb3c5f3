"""Score a model on an image set, and finish a run: test metrics once, metrics.json and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from signlens.data import ImageSet
from signlens.engine import TrainConfig
from signlens.engine.metrics import classification_metrics, confusion_matrix, handshape_accuracy
from signlens.engine.rundata import run_splits
from signlens.errors import SignlensError
from signlens.evaluation.calibration import calibrate_checkpoint
from signlens.evaluation.plots import plot_confusion, plot_curves
from signlens.inference import Classifier, load_classifier
from signlens.io import write_json


def evaluate_images(classifier: Classifier, images: ImageSet) -> tuple[dict, np.ndarray]:
    """Metrics dict (accuracy, macro P/R/F1, per_class, num_samples; handshape_accuracy where the classes
    hold a SAME_HANDSHAPE pair) and the confusion matrix."""
    if images.class_names != classifier.class_names:
        missing = sorted(set(images.class_names) - set(classifier.class_names))
        if missing:
            raise SignlensError(f"the data has classes the model does not know: {missing}")
        # Same classes in another order: map data labels onto the model's indices.
        remap = np.array([classifier.class_names.index(n) for n in images.class_names])
        labels = remap[images.labels]
    else:
        labels = images.labels
    predictions = classifier.logits(images.images).argmax(axis=1)
    confusion = confusion_matrix(labels, predictions, len(classifier.class_names))
    metrics = classification_metrics(confusion, classifier.class_names)
    merged = handshape_accuracy(confusion, classifier.class_names)
    if merged is not None:
        metrics["handshape_accuracy"] = merged
    return metrics, confusion


def finish_run(
    run_dir: str | Path,
    summary: dict,
    history: list[dict],
    test: ImageSet,
    test_is_official: bool,
    val: ImageSet | None = None,
) -> dict:
    """Score the best checkpoint on the test split (the only time training code sees it), calibrate it
    (temperature fitted on `val`, default: the validation split the run's config draws; stored in
    best.pt for predict), then write metrics.json, confusion_matrix.png and curves.png."""

    run_dir = Path(run_dir)
    classifier = load_classifier(run_dir / "best.pt")
    test_metrics, confusion = evaluate_images(classifier, test)
    test_metrics["split"] = "official test" if test_is_official else "held-out test (no official split)"
    if val is None:
        config = TrainConfig.from_dict(classifier.train_config)
        val = run_splits(
            config, None, getattr(classifier, "img_size", None), getattr(classifier, "in_chans", None)
        )[2]
    calibration = calibrate_checkpoint(run_dir / "best.pt", classifier, val, test)
    metrics = {"test": test_metrics, **summary} | ({"calibration": calibration} if calibration else {})
    write_json(run_dir / "metrics.json", metrics)
    plot_confusion(
        confusion,
        classifier.class_names,
        run_dir / "confusion_matrix.png",
        f"test: {test_metrics['num_correct']}/{test_metrics['num_samples']} correct "
        f"({100 * test_metrics['accuracy']:.2f}%)",
    )
    if history:
        plot_curves(history, run_dir / "curves.png")
    return metrics
