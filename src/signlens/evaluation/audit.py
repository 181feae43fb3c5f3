"""Leakage audit: near-duplicate images across the train / validation / test splits a run would use.

Near-duplicates are found by perceptual hash (signlens.data.duplicates). The report gives, for every
split pair, how many pairs it finds and how many of them share a label, which checks the threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from signlens.data import stratified_split
from signlens.data.duplicates import BITS, SIDE, dhash, hamming_blocks
from signlens.engine.config import TrainConfig, build_config
from signlens.engine.rundata import run_splits
from signlens.errors import SignlensError
from signlens.evaluation.plots import plt
from signlens.io import atomic_write, write_json

PAIRS = (("train", "val"), ("train", "test"), ("val", "test"))


def cross_distances(a, b, labels_a, labels_b, threshold: int, keep: int = 64):
    """Per row of `a`: its nearest distance in `b`; the pairs within `threshold` (count, how many share
    a label, and the `keep` closest as (i, j, distance))."""
    labels_a, labels_b = torch.as_tensor(labels_a), torch.as_tensor(labels_b)
    nearest = np.empty(len(a), dtype=np.int64)
    count, same, examples = 0, 0, []
    for start, dist in hamming_blocks(a, b):
        nearest[start : start + len(dist)] = dist.min(1).values.numpy()
        rows, cols = torch.nonzero(dist <= threshold, as_tuple=True)
        count += len(rows)
        same += int((labels_a[rows + start] == labels_b[cols]).sum())
        if len(rows):
            d = dist[rows, cols]
            order = torch.argsort(d, stable=True)[:keep]
            examples += [(int(rows[o]) + start, int(cols[o]), int(d[o])) for o in order]
    examples.sort(key=lambda e: e[2])
    return nearest, count, same, examples[:keep]


def audit_splits(splits: dict, threshold: int) -> tuple[dict, list]:
    """Counts per split pair, and example pairs (closest first) as (name_a, i, name_b, j, distance)."""
    hashes = {name: dhash(s.images) for name, s in splits.items()}
    report, examples = {}, []
    for a, b in PAIRS:
        # The later split is the one whose score a near-duplicate in the earlier one would inflate.
        nearest, count, same, found = cross_distances(
            hashes[b], hashes[a], splits[b].labels, splits[a].labels, threshold
        )
        report[f"{a}-{b}"] = {
            "pairs": count,
            "pairs_with_the_same_label": same,
            f"{b}_images_with_a_near_duplicate_in_{a}": int((nearest <= threshold).sum()),
            f"{b}_images_with_an_exact_hash_in_{a}": int((nearest == 0).sum()),
            f"{b}_images": len(nearest),
            "median_nearest_distance": float(np.median(nearest)),
        }
        examples.append([(a, j, b, i, d) for i, j, d in found])
    # Closest first within each split pair, taking turns so every pair that has any is shown.
    mixed = [pair[k] for k in range(max(map(len, examples))) for pair in examples if k < len(pair)]
    return report, mixed


def run_audit(spec: str, out: Path, threshold: int = 16, config: TrainConfig | None = None):
    """Audit the splits a run with `config` draws (default: what `signlens train --data SPEC` uses, its
    recipe included), and for data without an official test split also a per-image random split of the
    same sizes, to show what grouping by take buys."""
    config = config or build_config(spec)
    bundle, train, val, test = run_splits(config, spec, 64, 1)
    if train is None:
        raise SignlensError(f"data '{bundle.name}' has no training split to audit")
    splits = {"train": train, "val": val, "test": test}
    report, examples = audit_splits(splits, threshold)
    result = {
        "data": bundle.name,
        "hash": f"dHash {BITS}-bit ({SIDE + 1}x{SIDE} gray)",
        "threshold_bits": threshold,
        "config": {
            k: getattr(config, k)
            for k in ("recipe", "val_fraction", "test_fraction", "split_seed", "classes")
        },
        "split": "official test" if bundle.test_is_official else "held-out test as train draws it",
        "grouped": bundle.train.groups is not None and not bundle.test_is_official,
        "sizes": {k: len(v) for k, v in splits.items()},
        "pairs": report,
    }
    if not bundle.test_is_official and bundle.train.groups is not None:
        keep, held = stratified_split(bundle.train.labels, config.test_fraction, config.split_seed)
        rest, rest_val = stratified_split(
            bundle.train.labels[keep], config.val_fraction, config.split_seed + 1
        )
        random = {
            "train": bundle.train.subset(keep[rest]),
            "val": bundle.train.subset(keep[rest_val]),
            "test": bundle.train.subset(held),
        }
        result["per_image_random_split"], _ = audit_splits(random, threshold)
    write_json(out / "audit.json", result)
    if examples:
        plot_pairs(splits, examples[:8], out / "audit_pairs.png", threshold)
    return result


def plot_pairs(splits: dict, examples: list, path: Path, threshold: int) -> None:
    fig, axes = plt.subplots(len(examples), 2, figsize=(5, 2.3 * len(examples)), squeeze=False)
    for row, (a, j, b, i, d) in enumerate(examples):
        for ax, (name, index) in zip(axes[row], ((a, j), (b, i)), strict=True):
            s = splits[name]
            image = s.images[index]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
            ax.set_title(
                f"{name}: {Path(s.sources[index]).name[:34]}\n{s.class_names[s.labels[index]]}", fontsize=6
            )
            ax.axis("off")
        axes[row][0].text(-0.1, 0.5, f"{d} bits", transform=axes[row][0].transAxes, ha="right", fontsize=7)
    fig.suptitle(f"closest cross-split pairs (dHash distance <= {threshold} of {BITS} bits)", fontsize=8)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
