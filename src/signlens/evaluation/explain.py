"""`signlens explain`: Grad-CAM for a trained image classifier on photos or a data split: an overlay per
image, the mean map per class, and explain.json (prediction, top-3, where each map peaks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from signlens.data.images import decode_for_model
from signlens.data.tensors import to_model_tensor
from signlens.engine import TrainConfig
from signlens.engine.rundata import run_splits
from signlens.errors import SignlensError
from signlens.evaluation.attributions import PARTS, by_landmark, by_part, integrated_gradients, log_probs
from signlens.evaluation.gradcam import grad_cam, overlay
from signlens.inference import load_classifier
from signlens.io import atomic_write, write_json


def _torch_classifier(weights: Path):
    classifier = load_classifier(weights)
    if classifier.kind == "landmarks":
        return classifier
    if classifier.backend != "torch":  # Grad-CAM needs the network's gradients
        raise SignlensError(
            f"{weights}: Grad-CAM needs a signlens image checkpoint (.pt), not a {classifier.kind} "
            f"model on {getattr(classifier, 'backend', 'another')} backend"
        )
    return classifier


def explain_images(classifier, images: np.ndarray, labels=None, batch_size: int = 64) -> dict:
    """Maps (N, H, W), probabilities (N, classes) and the model-size images (N, H, W, C) uint8."""

    x = to_model_tensor(np.ascontiguousarray(images), classifier.img_size, classifier.in_chans)
    maps, probs = [], []
    for start in range(0, len(x), batch_size):
        cams, logits = grad_cam(classifier.model, classifier.normalise(x[start : start + batch_size]))
        maps.append(cams)
        probs.append(torch.softmax(torch.as_tensor(logits), 1).numpy())
    return {
        "maps": np.concatenate(maps),
        "probs": np.concatenate(probs),
        "images": x.permute(0, 2, 3, 1).numpy(),
        "labels": None if labels is None else np.asarray(labels),
    }


def _save_png(path: Path, array: np.ndarray, scale: int) -> None:
    from PIL import Image

    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((array.shape[1] * scale, array.shape[0] * scale), Image.NEAREST)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def class_mean_grid(result: dict, class_names: list[str], path: Path) -> dict[str, int]:
    """One panel per class: the mean map over the images of that class (by label, else by prediction)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = result["labels"] if result["labels"] is not None else result["probs"].argmax(1)
    present = [c for c in range(len(class_names)) if (by == c).any()]
    cols = min(6, max(1, len(present)))
    rows = max(1, -(-len(present) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.2 * rows), squeeze=False)
    counts = {}
    for ax in axes.flat:
        ax.axis("off")
    for ax, c in zip(axes.flat, present, strict=False):
        members = by == c
        counts[class_names[c]] = int(members.sum())
        mean_image = result["images"][members].mean(0).astype(np.uint8)
        ax.imshow(overlay(mean_image, result["maps"][members].mean(0)))
        ax.set_title(f"{class_names[c]} (n={counts[class_names[c]]})", fontsize=9)
    fig.suptitle("Grad-CAM, mean map per class", fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
    return counts


def run_explain(
    weights: Path, paths: list[Path], data: str | None, split: str, out: Path, limit: int
) -> dict:
    classifier = _torch_classifier(weights)
    if classifier.kind == "landmarks":
        if paths:
            raise SignlensError("a landmark model is explained on a landmark data set: --data landmarks:FILE")
        return explain_landmarks(classifier, weights, data, split, out, limit)
    names, labels = [], None
    if data is not None or not paths:
        samples = _split(classifier, data, split)
        # An even sample across the split (not the first rows, which may all be one class).
        index = np.linspace(0, len(samples.labels) - 1, min(limit, len(samples.labels))).round().astype(int)
        images, labels = samples.images[index], np.asarray(samples.labels)[index]
        names = [
            Path(str(samples.sources[i])).name if samples.sources is not None else f"{split}{i}"
            for i in index
        ]
    else:
        images = np.stack(
            [decode_for_model(p, classifier.img_size, classifier.in_chans) for p in paths[:limit]]
        )
        names = [p.name for p in paths[:limit]]
    result = explain_images(classifier, images, labels)
    out.mkdir(parents=True, exist_ok=True)
    scale = max(1, 192 // classifier.img_size)
    records = []
    for i, (name, cam, prob) in enumerate(zip(names, result["maps"], result["probs"], strict=True)):
        top = np.argsort(-prob)[:3]
        file = f"{i:04d}_{Path(name).stem}.png"
        _save_png(out / "overlays" / file, overlay(result["images"][i], cam), scale)
        peak = np.unravel_index(int(cam.argmax()), cam.shape)
        records.append({
            "source": name, "overlay": f"overlays/{file}",
            "label": None if labels is None else classifier.class_names[int(labels[i])],
            "predicted": classifier.class_names[int(top[0])],
            "top3": [[classifier.class_names[int(k)], round(float(prob[k]), 4)] for k in top],
            "peak_yx": [round(float(peak[0]) / cam.shape[0], 3), round(float(peak[1]) / cam.shape[1], 3)],
        })  # fmt: skip
    counts = class_mean_grid(result, classifier.class_names, out / "class_means.png")
    np.savez_compressed(out / "maps.npz", maps=result["maps"].astype(np.float16), names=np.array(names))
    summary = {"weights": str(weights), "data": data, "split": split if labels is not None else None,
               "images": records, "class_counts": counts, "method": "Grad-CAM on the last Conv2d"}  # fmt: skip
    write_json(out / "explain.json", summary)
    return summary


def _split(classifier, data, split):
    config = TrainConfig.from_dict(classifier.train_config)
    bundle, _, val_set, test_set = run_splits(config, data, classifier.img_size, classifier.in_chans)
    samples = {"test": test_set, "val": val_set, "all": bundle.train or bundle.test}.get(split)
    if samples is None:
        raise SignlensError(f"--split {split}: data '{bundle.name}' has no such split")
    if samples.class_names != classifier.class_names:
        raise SignlensError("the data's classes differ from the model's; explain on its own data")
    return samples


def explain_landmarks(classifier, weights: Path, data, split: str, out: Path, limit: int) -> dict:
    """Integrated gradients per landmark and finger (from the mean hand of the split), class means."""

    samples = _split(classifier, data, split)
    index = np.linspace(0, len(samples.labels) - 1, min(limit, len(samples.labels))).round().astype(int)
    points, labels = np.asarray(samples.images)[index], np.asarray(samples.labels)[index]
    baseline = np.asarray(samples.images).mean(0)
    attributions, scores, base = integrated_gradients(classifier, points, baseline)
    landmarks = by_landmark(attributions)
    parts = by_part(landmarks)
    with torch.no_grad():
        probs = torch.softmax(log_probs(classifier, torch.as_tensor(points, dtype=torch.float32)), 1).numpy()
    names = classifier.class_names
    records = []
    for i, k in enumerate(index):
        top = np.argsort(-probs[i])[:3]
        order = np.argsort(-np.abs(landmarks[i]))[:3]
        records.append({
            "source": Path(str(samples.sources[k])).name if samples.sources is not None else f"{split}{k}",
            "label": names[int(labels[i])], "predicted": names[int(top[0])],
            "top3": [[names[int(c)], round(float(probs[i, c]), 4)] for c in top],
            "parts": {p: round(float(v[i]), 4) for p, v in parts.items()},
            "top_landmarks": [[int(j), round(float(landmarks[i, j]), 4)] for j in order],
            "completeness_gap": round(float(landmarks[i].sum() - (scores[i] - base[i])), 5),
        })  # fmt: skip
    class_means = {
        names[c]: {p: round(float(v[labels == c].mean()), 4) for p, v in parts.items()}
        for c in np.unique(labels)
    }
    out.mkdir(parents=True, exist_ok=True)
    _parts_figure(class_means, list(PARTS), out / "class_parts.png")
    summary = {"weights": str(weights), "data": data, "split": split, "images": records,
               "class_parts": class_means, "method": "integrated gradients over the 21 hand points, "
               "from the split's mean hand, for the predicted class"}  # fmt: skip
    write_json(out / "explain.json", summary)
    return summary


def _parts_figure(class_means: dict, parts: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array([[means[p] for p in parts] for means in class_means.values()])
    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(parts), 1 + 0.28 * len(class_means)))
    limit = float(np.abs(matrix).max()) or 1.0
    ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(parts)), parts, fontsize=8)
    ax.set_yticks(range(len(class_means)), list(class_means), fontsize=7)
    ax.set_title("mean attribution to the predicted class, by finger", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
