"""What `signlens report` computes from one trained model on its own held-out data: predictions, the
most confused pairs, errors with their top-3, Grad-CAM, calibration (ECE before and after temperature
scaling fitted on validation) and latency. Figures are PNG bytes, so the page can embed them.

A run directory is scored on the test split its config draws (run_splits); a cross-validation fold on
the fold it held out, rebuilt exactly as run_cv drew it.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np

from signlens.errors import SignlensError


def fold_splits(cv: dict, number: int, img_size: int, in_chans: int):
    """(val, test) of fold `number` of a cross-validation, from its cv.json (same functions, same seeds)."""
    from signlens.data import load_data
    from signlens.engine import TrainConfig
    from signlens.evaluation.cv import make_folds, sample_groups, validation_split

    config = TrainConfig.from_dict(cv["config"])
    bundle = load_data(config.data, img_size, in_chans, config.landmarks.points, config.classes)
    pool = bundle.train
    labels = np.asarray(pool.labels)
    groups = sample_groups(pool, cv["group_by"], cv.get("group_pattern"))
    test_index = make_folds(labels, groups, cv["num_folds"], config.split_seed)[number - 1]
    rest = np.setdiff1d(np.arange(len(labels)), test_index)
    rest_groups = None if groups is None else [groups[i] for i in rest]
    _, val = validation_split(labels[rest], rest_groups, config.val_fraction, config.split_seed + number)
    return pool.subset(rest[val]), pool.subset(test_index)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _show(ax, image: np.ndarray) -> None:
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray" if image.shape[-1] == 1 else None)
    ax.axis("off")


def confused_pairs(confusion: np.ndarray, class_names: list[str], top: int = 5) -> list[dict]:
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    pairs = []
    for flat in np.argsort(-off, axis=None)[:top]:
        true, predicted = np.unravel_index(flat, off.shape)
        if off[true, predicted] == 0:
            break
        share = off[true, predicted] / max(1, confusion[true].sum())
        pairs.append({"true": class_names[true], "predicted": class_names[predicted],
                      "count": int(off[true, predicted]), "share_of_true": round(float(share), 4)})  # fmt: skip
    return pairs


def pairs_figure(pairs, images, labels, predicted, class_names, per_pair: int = 4) -> bytes | None:
    if not pairs:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(pairs), per_pair, figsize=(1.6 * per_pair, 1.8 * len(pairs)), squeeze=False)
    for row, pair in zip(axes, pairs, strict=True):
        t, p = class_names.index(pair["true"]), class_names.index(pair["predicted"])
        members = np.flatnonzero((labels == t) & (predicted == p))[:per_pair]
        for ax in row:
            ax.axis("off")
        for ax, i in zip(row, members, strict=False):
            _show(ax, images[i])
            ax.set_title(f"{pair['true']} read as {pair['predicted']}", fontsize=7)
    return _png(fig)


def gallery_figure(errors: list[dict], images: np.ndarray, cols: int = 6) -> bytes | None:
    if not errors:
        return None
    plt = _plt()
    rows = -(-len(errors) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, error in zip(axes.flat, errors, strict=False):
        _show(ax, images[error["index"]])
        top = "\n".join(f"{name} {100 * p:.0f}%" for name, p in error["top3"])
        ax.set_title(f"true {error['true']}\n{top}", fontsize=6)
    return _png(fig)


def gradcam_figure(classifier, images: np.ndarray, labels: np.ndarray, count: int = 12) -> bytes:
    from signlens.evaluation.explain import explain_images
    from signlens.evaluation.gradcam import overlay

    index = np.linspace(0, len(images) - 1, min(count, len(images))).round().astype(int)
    result = explain_images(classifier, images[index], labels[index])
    plt = _plt()
    cols = 6
    rows = -(-len(index) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, ax in enumerate(axes.flat[: len(index)]):
        ax.imshow(overlay(result["images"][k], result["maps"][k]))
        predicted = classifier.class_names[int(result["probs"][k].argmax())]
        ax.set_title(f"{classifier.class_names[int(labels[index[k]])]} -> {predicted}", fontsize=7)
    return _png(fig)


def reliability(probs_before, probs_after, labels, bins: int = 15) -> tuple[bytes, list[dict]]:
    plt = _plt()
    edges = np.linspace(0, 1, bins + 1)
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    table = []
    for name, probs, style in (("before", probs_before, "-o"), ("after", probs_after, "-s")):
        confidence, correct = probs.max(1), probs.argmax(1) == labels
        xs, ys = [], []
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            inside = (confidence > low) & (confidence <= high)
            if inside.any():
                xs.append(confidence[inside].mean())
                ys.append(correct[inside].mean())
                table.append({"when": name, "bin": f"{low:.2f}-{high:.2f}", "n": int(inside.sum()),
                              "confidence": round(float(xs[-1]), 4), "accuracy": round(float(ys[-1]), 4)})  # fmt: skip
        ax.plot(xs, ys, style, ms=3, label=f"{name} temperature scaling")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig), table


def latency(classifier, images: np.ndarray, batch_sizes=(1, 32), budget_s: float = 0.5) -> list[dict]:
    """Median milliseconds per batch, repeated until `budget_s` or 30 repeats (whichever first): a
    sketch beside the report; `signlens benchmark` measures properly."""
    rows = []
    for batch in batch_sizes:
        x = np.resize(images, (batch, *images.shape[1:]))
        classifier.logits(x)  # warm-up
        times, start = [], time.perf_counter()
        while len(times) < 30 and time.perf_counter() - start < budget_s:
            t0 = time.perf_counter()
            classifier.logits(x)
            times.append(time.perf_counter() - t0)
        ms = 1000 * float(np.median(times))
        rows.append({"batch": batch, "ms_per_batch": round(ms, 3), "images_per_s": round(batch / ms * 1000, 1),
                     "repeats": len(times)})  # fmt: skip
    return rows


def analyse(run_dir: Path, cv: dict | None = None, fold: int | None = None) -> dict:
    """Everything the report shows about one model; `cv`/`fold` when run_dir is a cross-validation fold."""
    import torch

    from signlens.engine import TrainConfig
    from signlens.engine.metrics import classification_metrics, confusion_matrix
    from signlens.engine.rundata import run_splits
    from signlens.evaluation.calibration import expected_calibration_error, fit_temperature
    from signlens.inference import TorchClassifier, load_classifier

    classifier = load_classifier(run_dir / "best.pt")
    if not isinstance(classifier, TorchClassifier):
        raise SignlensError(f"{run_dir}/best.pt: the report analyses image checkpoints")
    if cv is not None:
        val, test = fold_splits(cv, fold, classifier.img_size, classifier.in_chans)
    else:
        config = TrainConfig.from_dict(classifier.train_config)
        _, _, val, test = run_splits(config, None, classifier.img_size, classifier.in_chans)
    if test.class_names != classifier.class_names:
        raise SignlensError(f"{run_dir}: the data's classes no longer match the model's")
    names = classifier.class_names
    labels = np.asarray(test.labels)
    logits = classifier.logits(test.images)
    predicted = logits.argmax(1)
    confusion = confusion_matrix(labels, predicted, len(names))
    metrics = classification_metrics(confusion, names)
    probs = torch.softmax(torch.as_tensor(logits), 1).numpy()
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probs[wrong].max(1))][:18]  # the most confident mistakes first
    errors = [{"index": int(i), "true": names[labels[i]],
               "top3": [(names[k], float(probs[i, k])) for k in np.argsort(-probs[i])[:3]]} for i in order]  # fmt: skip
    pairs = confused_pairs(confusion, names)
    out = {"metrics": metrics, "pairs": pairs, "errors": errors, "class_names": names}
    figures = {"pairs": pairs_figure(pairs, test.images, labels, predicted, names),
               "errors": gallery_figure(errors, test.images),
               "gradcam": gradcam_figure(classifier, test.images, labels)}  # fmt: skip
    if val is not None and len(val.labels):
        val_logits = classifier.logits(val.images)
        temperature = fit_temperature(val_logits, np.asarray(val.labels))
        after = torch.softmax(torch.as_tensor(logits / temperature), 1).numpy()
        figures["reliability"], bins = reliability(probs, after, labels)
        out["calibration"] = {
            "temperature": round(temperature, 4), "fitted_on": f"validation ({len(val.labels)} images)",
            "ece_before": round(expected_calibration_error(probs, labels), 4),
            "ece_after": round(expected_calibration_error(after, labels), 4), "bins": bins,
        }  # fmt: skip
    out["latency"] = latency(classifier, test.images[:32])
    out["figures"] = {k: v for k, v in figures.items() if v is not None}
    return out
