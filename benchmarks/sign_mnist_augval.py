"""Validation under the run's own augmentation: a selection signal for Sign MNIST runs that is not saturated.

Plain validation reads 100% for every reasonable Sign MNIST run (its rows are near-duplicates of training
rows), so it cannot choose between recipes. Each run's best.pt is scored here on its own validation rows
under its recipe's augmentation, 8 fixed draws shared by every run; the test split is never read.
Prints accuracy and NLL per run and the mean per group (run directories named GROUP-seed-K).

    SIGNLENS_DATA=../shared/data python benchmarks/sign_mnist_augval.py runs/x/ep10-seed-0 runs/x/ep20-seed-0 ...
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from signlens.data.augment import BatchAugment
from signlens.data.tensors import to_model_tensor
from signlens.engine import TrainConfig
from signlens.engine.rundata import run_splits
from signlens.inference import load_classifier

DRAWS = 8


def score(run: Path, splits: dict) -> tuple[float, float]:
    """(accuracy, NLL) of run/best.pt on its validation rows over DRAWS augmented draws."""
    clf = load_classifier(run / "best.pt")
    config = TrainConfig.from_dict(clf.train_config)
    key = (config.data, config.val_fraction, config.split_seed)
    if key not in splits:
        splits[key] = run_splits(config)[2]
    val = splits[key]
    x = to_model_tensor(val.images, clf.img_size, clf.in_chans).float().div(255)
    y = torch.as_tensor(val.labels)
    augment = BatchAugment(config.augment)
    accuracy, nll = [], []
    with torch.inference_mode():
        for draw in range(DRAWS):
            moved = augment(x.clone(), torch.Generator().manual_seed(1000 + draw))
            logits = clf.model((moved - clf.mean) / clf.std)
            accuracy.append((logits.argmax(1) == y).float().mean().item())
            nll.append(F.cross_entropy(logits, y).item())
    return float(np.mean(accuracy)), float(np.mean(nll))


def main() -> None:
    runs = [Path(p) for p in sys.argv[1:]]
    if not runs:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    splits: dict = {}
    groups = defaultdict(list)
    for run in runs:
        if not (run / "best.pt").is_file():
            print(f"{run}: no best.pt, skipped")
            continue
        accuracy, nll = score(run, splits)
        groups[run.name.rsplit("-seed", 1)[0]].append((accuracy, nll))
        print(f"{run.name:<24} augmented val accuracy {100 * accuracy:.3f}%  NLL {nll:.4f}", flush=True)
    for group, rows in groups.items():
        a = np.array(rows)
        print(
            f"{group:<12} runs {len(rows)}  mean accuracy {100 * a[:, 0].mean():.3f}%  NLL {a[:, 1].mean():.4f}"
        )


if __name__ == "__main__":
    main()
