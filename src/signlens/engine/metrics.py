"""Classification metrics from a confusion matrix: accuracy, macro precision/recall/F1, per class."""

from __future__ import annotations

import numpy as np

from signlens.data.sources import SAME_HANDSHAPE


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    flat = np.asarray(targets, dtype=np.int64) * num_classes + np.asarray(predictions, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def classification_metrics(confusion: np.ndarray, class_names: list[str]) -> dict:
    """Macro averages run over the classes present in the targets, so an absent class cannot drag them down."""
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positive = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    total = confusion.sum()
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    return {
        "accuracy": float(true_positive.sum() / total) if total else 0.0,
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "num_samples": int(total),
        "num_correct": int(true_positive.sum()),
        "per_class": per_class,
    }


def handshape_accuracy(
    confusion: np.ndarray, class_names: list[str], same: tuple[tuple[str, str], ...] = SAME_HANDSHAPE
) -> float | None:
    """Accuracy that also counts a confusion within a `same` pair as right (class names compared without
    case); None when no pair has both classes here, so data without such pairs reports nothing new."""
    index = {name.lower(): i for i, name in enumerate(class_names)}
    pairs = [(index[a], index[b]) for a, b in same if a in index and b in index]
    total = np.asarray(confusion).sum()
    if not pairs or not total:
        return None
    right = float(np.trace(confusion)) + sum(float(confusion[a, b] + confusion[b, a]) for a, b in pairs)
    return right / float(total)
