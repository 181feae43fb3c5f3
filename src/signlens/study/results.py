"""A study's results: one row per configuration with mean +- std over its seeds, and the best one.

Written from the storage after every trial (atomically, so workers that finish together cannot leave
half a file): results.csv, results.md, best.yaml (the full training config of the best configuration)
and study.json (counts, wall time, every row).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from signlens.io import write_json, write_text, write_yaml


def grid_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0  # sample std
    return mean, std


def collect(study, spec) -> tuple[list[dict], dict]:
    """Rows (one per configuration, best first) and counts of trials by state."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in TrialState}
    groups: dict[str, dict] = {}
    for t in sorted(trials, key=lambda t: t.number):
        counts[t.state.name.lower()] += 1
        if t.state != TrialState.COMPLETE:
            continue  # failed, pruned, running: never counted
        config = {k: v for k, v in t.params.items() if k != "seed"}
        group = groups.setdefault(grid_key(config), {"config": config, "runs": {}, "trials": []})
        group["trials"].append(t.number)
        for run in t.user_attrs.get("runs", []):
            group["runs"].setdefault(run["seed"], run)  # one result per seed, however often it ran
    rows = []
    for group in groups.values():
        runs = [group["runs"][s] for s in sorted(group["runs"])]
        row = {**group["config"], "seeds": len(runs)}
        for name in ("objective", "test", "val"):
            values = [r[name] for r in runs if r.get(name) is not None]
            if values:
                row[f"{name}_mean"], row[f"{name}_std"] = _mean_std(values)
        row["seconds_per_run"] = round(sum(r["seconds"] for r in runs) / len(runs), 1)
        if all(r.get("fold_std") is not None for r in runs):  # CV: the spread over folds, seed by seed
            row["fold_std"] = sum(r["fold_std"] for r in runs) / len(runs)
        row["seed_list"] = [r["seed"] for r in runs]
        row["trials"] = group["trials"]
        row["run_dirs"] = [r["run_dir"] for r in runs]
        rows.append(row)
    rows.sort(key=lambda r: (r["seeds"] == len(spec.seeds), r["objective_mean"]), reverse=True)
    return rows, counts


def wall_seconds(study) -> float:
    """From the first trial's start to the last one's end: the study's elapsed time on its workers."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start and t.datetime_complete]
    if not trials:
        return 0.0
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return round((end - start).total_seconds(), 1)


def _pct(row: dict, name: str) -> str:
    if f"{name}_mean" not in row:
        return "-"
    return f"{100 * row[f'{name}_mean']:.2f} +- {100 * row[f'{name}_std']:.2f}"


def markdown(spec, rows: list[dict], counts: dict, wall: float, storage: str) -> str:
    p = spec.protocol
    split = "the data's test split" if p.split == "test" else f"{p.folds}-fold CV ({p.split}), mean of folds"
    select = "best-epoch validation accuracy" if p.select == "val" else f"test {p.metric}"
    dims = [d.name for d in spec.space]
    cv_head = ["std over folds"] if p.split != "test" else []
    lines = [
        f"# Study {spec.name}",
        "",
        *([spec.description.strip(), ""] if spec.description.strip() else []),
        f"Protocol: {split}; reported metric: {p.metric}; configurations ranked by {select}. "
        f"Seeds {spec.seeds}; sampler {spec.sampler}. Mean +- sample std over seeds (in %).",
        f"Trials: {', '.join(f'{v} {k}' for k, v in counts.items() if v)}; wall {wall:.0f} s; storage {storage}.",
        "",
        "| " + " | ".join([*dims, "seeds", f"test {p.metric}", "selection", *cv_head, "s/run"]) + " |",
        "| " + " | ".join(["---"] * len(dims) + ["---:"] * (4 + len(cv_head))) + " |",
    ]
    for row in rows:
        cells = [f"{row[d]:.4g}" if isinstance(row.get(d), float) else str(row.get(d, "")) for d in dims]
        cells += [
            str(row["seeds"]),
            _pct(row, "test"),
            _pct(row, "objective"),
            *([f"{100 * row['fold_std']:.2f}" if "fold_std" in row else "-"] if cv_head else []),
            f"{row['seconds_per_run']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if rows:
        best = {d: rows[0].get(d) for d in dims}
        lines += [
            "",
            f"Best configuration: {best} ({_pct(rows[0], 'objective')}% by {select}); see best.yaml.",
        ]
    return "\n".join(lines) + "\n"


def write_results(study, spec, out_dir: Path, storage: str) -> dict:
    rows, counts = collect(study, spec)
    wall = wall_seconds(study)
    dims = [d.name for d in spec.space]
    buffer = io.StringIO()
    fields = [*dims, "seeds", "test_mean", "test_std", "val_mean", "val_std", "objective_mean", "objective_std",
              "fold_std", "seconds_per_run", "trials"]  # fmt: skip
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "trials": " ".join(map(str, row["trials"]))})
    write_text(out_dir / "results.csv", buffer.getvalue())
    write_text(out_dir / "results.md", markdown(spec, rows, counts, wall, storage))
    summary = {"name": spec.name, "counts": counts, "wall_seconds": wall, "rows": rows, "storage": storage}
    if rows:
        best = rows[0]
        params = {d: best[d] for d in dims}
        config = spec.config_for(params, spec.seeds[0]).to_dict()
        config.pop("seed")
        write_yaml(out_dir / "best.yaml", config)  # trains as is: signlens train --config best.yaml --seed N
        summary["best"] = params
    write_json(out_dir / "study.json", summary)
    return summary
