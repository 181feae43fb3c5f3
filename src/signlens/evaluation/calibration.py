"""Confidence calibration: temperature scaling (Guo et al., 2017) and expected calibration error.

A network's softmax is usually over-confident; dividing the logits by one fitted temperature keeps the
ranking (so accuracy) and makes a reported 0.7 mean right about 70% of the time. Fit it on data the
model did not train on, from the same kind of shift it will meet (here: held-out signers).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from signlens.engine.checkpoint import load_checkpoint, save_checkpoint


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the NLL of softmax(logits / T) on (logits, labels)."""
    x = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # optimise log T: T stays positive
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.exp().item())


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)


def _labels_for(classifier, samples) -> np.ndarray:
    if samples.class_names == classifier.class_names:
        return np.asarray(samples.labels)
    return np.array([classifier.class_names.index(samples.class_names[y]) for y in samples.labels])


def calibrate_checkpoint(path, classifier, val, test) -> dict | None:
    """Fit the temperature on `val` (never the test), store it in the checkpoint at `path` (where
    `predict` applies it), and return it with the ECE before and after on validation and on test."""

    if val is None or len(val.labels) == 0:
        return None
    val_logits, val_labels = classifier.logits(val.images), _labels_for(classifier, val)
    test_logits, test_labels = classifier.logits(test.images), _labels_for(classifier, test)
    temperature = fit_temperature(val_logits, val_labels)

    def ece(logits, labels, t):
        return round(expected_calibration_error(F.softmax(torch.as_tensor(logits) / t, 1).numpy(), labels), 5)

    record = {
        "temperature": round(temperature, 5),
        "fitted_on": f"validation ({len(val_labels)} samples)",
        "ece_val_before": ece(val_logits, val_labels, 1.0),
        "ece_val_after": ece(val_logits, val_labels, temperature),
        "ece_test_before": ece(test_logits, test_labels, 1.0),
        "ece_test_after": ece(test_logits, test_labels, temperature),
    }
    payload = load_checkpoint(path)
    payload["calibration"] = {"temperature": temperature, "fitted_on": record["fitted_on"]}
    save_checkpoint(path, payload)
    return record
