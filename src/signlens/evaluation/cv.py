"""k-fold cross-validation through the ordinary Trainer: stratified folds, optionally grouped so that
every signer or take stays on one side, one run directory per fold, and a summary (`cv.json`, a
Markdown table, a pooled confusion matrix) that reports the mean and spread of the folds.

Model selection inside a fold uses a validation split drawn from that fold's training part, grouped the
same way; the held-out fold is scored once, from the selected checkpoint, like a test split.
Works for any data kind whose sample sets have `labels`, `sources`, `groups`, `class_names`, `subset`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from pathlib import Path

import numpy as np

from signlens.data import load_data, stratified_split
from signlens.data.duplicates import near_duplicate_groups
from signlens.data.sources import SAME_HANDSHAPE
from signlens.engine import Trainer
from signlens.engine.config import TrainConfig
from signlens.engine.metrics import classification_metrics, confusion_matrix, handshape_accuracy
from signlens.errors import SignlensError
from signlens.evaluation.plots import plot_confusion
from signlens.evaluation.report import finish_run
from signlens.io import write_json, write_text

GROUP_BY = ("none", "take", "signer", "duplicates")
# ayuraj file names: hand{1..5}_{class}_{view}_seg_{k}_cropped.jpeg; the signer is the hand.
SIGNER_PATTERN = r"(hand\d+)"


def sample_groups(samples, group_by: str, pattern: str | None) -> list[str] | None:
    """One group name per sample: from `pattern` (first capture group, else the whole match) searched in
    the source file name, or the data's own takes. None means ungrouped."""
    if group_by not in GROUP_BY:
        raise SignlensError(f"--group-by must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
    if group_by == "none":
        return None
    if group_by == "duplicates":  # data whose names say nothing (Sign MNIST): near-duplicate clusters
        if samples.images.ndim != 4:
            raise SignlensError("--group-by duplicates needs image data, not landmarks")
        return near_duplicate_groups(samples.images, samples.labels)
    if group_by == "take" and pattern is None:
        if samples.groups is None:
            raise SignlensError(
                "--group-by take: the file names do not say which take an image belongs to "
                "(expected hand<N>_<class>_<view>_seg...); pass --group-pattern REGEX"
            )
        return list(samples.groups)
    try:
        regex = re.compile(pattern or SIGNER_PATTERN, re.IGNORECASE)
    except re.error as exc:
        raise SignlensError(f"--group-pattern {pattern!r} is not a valid regular expression: {exc}") from None
    groups = []
    for source in samples.sources:
        match = regex.search(Path(source).name)
        if match is None:
            raise SignlensError(f"--group-by {group_by}: {source} does not match pattern {regex.pattern!r}")
        groups.append((match.group(1) if regex.groups else match.group(0)).lower())
    return groups


def _class_pure(labels: np.ndarray, groups: list[str]) -> bool:
    seen: dict[str, int] = {}
    return all(seen.setdefault(g, int(y)) == int(y) for g, y in zip(groups, labels, strict=True))


def make_folds(labels: np.ndarray, groups: list[str] | None, k: int, seed: int) -> list[np.ndarray]:
    """Test indices of each of k folds. Ungrouped: stratified by class. Groups that each hold one class
    (takes): whole groups, balanced per class. Groups across classes (signers): whole groups, balanced
    in size; with exactly k groups, leave-one-group-out."""
    labels = np.asarray(labels)
    if k < 2:
        raise SignlensError(f"--folds must be at least 2, got {k}")
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    if groups is None:
        offset = 0
        for cls in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == cls))
            fold_of[members] = (np.arange(len(members)) + offset) % k
            offset += len(members)  # rotate so the remainders do not all land in fold 0
    else:
        names = sorted(set(groups))
        if len(names) < k:
            raise SignlensError(
                f"{k} folds need at least {k} groups; the data has {len(names)}: {names[:10]}"
            )
        index = {name: i for i, name in enumerate(names)}
        gid = np.array([index[g] for g in groups])
        sizes = np.bincount(gid, minlength=len(names))
        if _class_pure(labels, groups):
            group_class = np.zeros(len(names), dtype=np.int64)
            group_class[gid] = labels
            for cls in np.unique(labels):
                _assign(np.flatnonzero(group_class == cls), sizes, rng, k, gid, fold_of)
        else:
            _assign(np.arange(len(names)), sizes, rng, k, gid, fold_of)
    folds = [np.flatnonzero(fold_of == f) for f in range(k)]
    if any(len(f) == 0 for f in folds):
        raise SignlensError(f"cannot make {k} non-empty folds from {len(labels)} samples")
    return folds


def _assign(candidates, sizes, rng, k, gid, fold_of) -> None:
    """Largest groups first (random order among equals), each to the currently smallest fold."""
    order = rng.permutation(candidates)
    order = order[np.argsort(-sizes[order], kind="stable")]
    load = np.zeros(k)
    for group in order:
        target = int(np.argmin(load))
        load[target] += sizes[group]
        fold_of[gid == group] = target


def validation_split(labels, groups, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices within a fold's training part, grouped like the folds."""
    if groups is None or _class_pure(labels, groups):
        return stratified_split(labels, fraction, seed, groups)
    names = sorted(set(groups))
    if len(names) < 2:
        raise SignlensError("grouped validation needs at least two groups in the training part")
    # Whole groups, added in random order while they fit `fraction` of the samples (at least one, the
    # smallest if none fits): ayuraj's signers range from 180 to 900 images, so a count would not do.
    sizes = {name: groups.count(name) for name in names}
    target, held, total = fraction * len(groups), set(), 0
    for name in np.random.default_rng(seed).permutation(names).tolist():
        if total + sizes[name] <= target and len(held) < len(names) - 1:
            held.add(name)
            total += sizes[name]
    if not held:
        held = {min(names, key=lambda n: (sizes[n], n))}
    mask = np.array([g in held for g in groups])
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def run_cv(
    config: TrainConfig,
    out: Path,
    folds: int = 5,
    group_by: str = "none",
    group_pattern: str | None = None,
    progress: bool = False,
    on_fold=None,
) -> dict:
    """Train and score every fold; write OUT/fold<i>/ run directories and the OUT summary files."""
    bundle = load_data(config.data, config.img_size, config.in_chans, config.landmarks.points, config.classes)
    if bundle.train is None:
        raise SignlensError(f"data '{bundle.name}' has no training split to cross-validate")
    # An official test file stays untouched: folds are drawn from the training file only.
    pool = bundle.train
    labels = np.asarray(pool.labels)
    groups = sample_groups(pool, group_by, group_pattern)
    test_folds = make_folds(labels, groups, folds, config.split_seed)
    class_names = list(pool.class_names)
    pooled = np.zeros((len(class_names), len(class_names)), dtype=np.int64)
    records, predictions = [], []
    for number, test_index in enumerate(test_folds, start=1):
        start = time.perf_counter()
        rest = np.setdiff1d(np.arange(len(labels)), test_index)
        rest_groups = None if groups is None else [groups[i] for i in rest]
        fit, val = validation_split(
            labels[rest], rest_groups, config.val_fraction, config.split_seed + number
        )
        splits = (pool.subset(rest[fit]), pool.subset(rest[val]), pool.subset(test_index))
        run_dir = out / f"fold{number}"
        trainer = Trainer(config, run_dir, progress=progress, splits=splits)
        trainer.data_record["fold"] = {"number": number, "of": folds, "group_by": group_by}
        summary = trainer.fit()
        metrics = finish_run(run_dir, summary, trainer.state.history, splits[2], False, val=splits[1])
        trainer.restore_best()
        predicted = trainer.predict(splits[2]).argmax(1)
        pooled += confusion_matrix(splits[2].labels, predicted, len(class_names))
        predictions += [
            (number, source, class_names[t], class_names[p])
            for source, t, p in zip(splits[2].sources, splits[2].labels, predicted, strict=True)
        ]
        held = sorted({groups[i] for i in test_index}) if groups is not None else []
        test = metrics["test"]
        record = {
            "fold": number,
            "accuracy": test["accuracy"],
            "macro_f1": test["macro_f1"],
            "macro_precision": test["macro_precision"],
            "macro_recall": test["macro_recall"],
            "num_train": len(splits[0]),
            "num_val": len(splits[1]),
            "num_test": len(splits[2]),
            "held_out_groups": held if len(held) <= 12 else f"{len(held)} groups",
            "epochs_run": summary["epochs_run"],
            "best_epoch": summary["best_epoch"],
            "train_seconds": summary["train_seconds"],
            "fold_seconds": round(time.perf_counter() - start, 2),
            "run_dir": str(run_dir),
        }
        if "handshape_accuracy" in test:  # the classes hold a pair that shares one handshape (0/O, ...)
            record["handshape_accuracy"] = test["handshape_accuracy"]
        if number == 1:
            record["init"] = [r.summary() for r in trainer.init_reports]
        records.append(record)
        if on_fold is not None:
            on_fold(record)
    result = summarise(records, pooled, class_names, config, group_by, group_pattern)
    write_outputs(out, result, pooled, class_names, predictions)
    return result


def summarise(records, pooled, class_names, config, group_by, group_pattern) -> dict:
    keys = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "fold_seconds", "train_seconds")
    keys += ("handshape_accuracy",) if all("handshape_accuracy" in r for r in records) else ()
    stats = {k: _mean_std([r[k] for r in records]) for k in keys}
    pooled_metrics = classification_metrics(pooled, class_names)
    merged = handshape_accuracy(pooled, class_names)
    return {
        "data": config.data,
        "model": config.model,
        "group_by": group_by,
        "group_pattern": group_pattern,
        "num_folds": len(records),
        "folds": records,
        "mean": {k: v[0] for k, v in stats.items()},
        "std": {k: v[1] for k, v in stats.items()},  # sample standard deviation over folds (ddof=1)
        "pooled": {k: pooled_metrics[k] for k in ("accuracy", "macro_f1", "num_samples", "num_correct")}
        | ({"handshape_accuracy": merged} if merged is not None else {}),
        # Pairs that accuracy keeps apart and handshape_accuracy counts as one sign (see SAME_HANDSHAPE).
        "same_handshape": [list(p) for p in SAME_HANDSHAPE] if merged is not None else [],
        "threads": config.threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "config": config.to_dict(),
    }


def markdown_table(result: dict) -> str:
    lines = [
        f"# {result['model']} on {result['data']}: {result['num_folds']}-fold CV, group by {result['group_by']}",
        "",
        "| fold | held out | train | val | test | accuracy | macro F1 | epochs (best) | seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["folds"]:
        held = r["held_out_groups"]
        held = ", ".join(held) if isinstance(held, list) else held
        lines.append(
            f"| {r['fold']} | {held or '-'} | {r['num_train']} | {r['num_val']} | {r['num_test']} | "
            f"{100 * r['accuracy']:.2f}% | {r['macro_f1']:.4f} | {r['epochs_run']} ({r['best_epoch']}) | "
            f"{r['fold_seconds']:.0f} |"
        )
    m, s = result["mean"], result["std"]
    lines += [
        f"| mean +- std | | | | | {100 * m['accuracy']:.2f} +- {100 * s['accuracy']:.2f}% | "
        f"{m['macro_f1']:.4f} +- {s['macro_f1']:.4f} | | {m['fold_seconds']:.0f} |",
        "",
        f"Pooled over all folds: {result['pooled']['num_correct']}/{result['pooled']['num_samples']} "
        f"({100 * result['pooled']['accuracy']:.2f}%). Std is the sample standard deviation over folds.",
        "",
    ]
    if "handshape_accuracy" in m:
        pairs = ", ".join("/".join(p) for p in result["same_handshape"])
        lines += [
            f"Counting {pairs} (one ASL handshape each) as the same sign: "
            f"{100 * m['handshape_accuracy']:.2f} +- {100 * s['handshape_accuracy']:.2f}%.",
            "",
        ]
    return "\n".join(lines)


def write_outputs(out: Path, result: dict, pooled, class_names, predictions) -> None:
    write_json(out / "cv.json", result)
    write_text(out / "cv.md", markdown_table(result))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["fold", "source", "label", "predicted"])
    writer.writerows(predictions)
    write_text(out / "predictions.csv", buffer.getvalue())
    m, s = result["mean"], result["std"]
    plot_confusion(
        pooled,
        class_names,
        out / "confusion_matrix.png",
        f"{result['model']}, {result['num_folds']} folds pooled (group by {result['group_by']}): "
        f"fold mean {100 * m['accuracy']:.2f} +- {100 * s['accuracy']:.2f}%",
    )
