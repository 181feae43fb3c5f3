"""Inference benchmark for issue 4: the default Sign MNIST model against the seed study's CustomCNN.

One run, same machine, same settings (`--threads`, default 2):
- both models in torch eager, ONNX Runtime fp32 and ONNX Runtime int8 (static QDQ), at batch 1 and 256,
  with test accuracy of every format on the official test split;
- the headline figures and targets: batch-1 p50 (best format), images/s at 256, speed ratios against
  s0-customcnn, int8 accuracy drop and int8 speed-up;
- a speed/accuracy table of the architectures tried (params, MACs, latency, throughput, test accuracy).

Missing runs are trained first with `signlens train` when `--train-missing` is given (the default model
with exactly `signlens train --data sign-mnist --seed 0 --out runs/default --threads 2 --quiet`).

    SIGNLENS_DATA=../shared/data python benchmarks/inference.py --train-missing [--min-time 2] [--wait-quiet 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from signlens.engine.config import RECIPES
from signlens.export.bench import human_count, results_table, run_benchmark
from signlens.io import write_json

console = Console(width=130)

# The architectures tried besides the default: (model, changes to the default recipe's model args,
# extra train flags). All use the default recipe (sign-mnist-fast) but with short runs (3 epochs; 2 for
# s0-customcnn, which is ~30x the default's compute): they are here for their speed and to place the
# default on the frontier, and the table lists the epochs next to each accuracy.
CANDIDATES: dict[str, tuple[str, dict, list[str]]] = {
    "fast-cnn 8,16,32": ("fast-cnn", {"widths": [8, 16, 32]}, ["--epochs", "3"]),
    "mlp 784-300-100": ("mlp", {}, ["--epochs", "3"]),
    "s0-customcnn": ("s0-customcnn", {}, ["--epochs", "2"]),
}


def slug(name: str) -> str:
    return name.replace(" ", "-").replace(",", "-")


def train(out: Path, extra: list[str], threads: int) -> None:
    cmd = [sys.executable, "-m", "signlens", "train", "--data", "sign-mnist", "--seed", "0", "--out", str(out),
           "--threads", str(threads), "--quiet", *extra]  # fmt: skip
    console.print("[dim]" + " ".join(cmd[2:]) + "[/dim]")
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit(f"training failed: {' '.join(cmd)}")


def candidate_args(model: str, delta: dict, extra: list[str]) -> list[str]:
    recipe = RECIPES["sign-mnist-fast"]
    args = dict(recipe.get("model_args", {})) if model == recipe["model"] else {}
    args.update(delta)
    flags = ["--recipe", "sign-mnist-fast", "--model", model, *extra]
    for key, value in args.items():
        flags += ["--model-arg", f"{key}={json.dumps(value)}"]
    return flags


def wait_quiet(limit_s: float, threshold: float = 1.5) -> float:
    """Wait (up to limit_s) until the 1-minute load average drops below threshold; returns it."""
    end = time.time() + limit_s
    load = os.getloadavg()[0]
    while load > threshold and time.time() < end:
        console.print(f"[dim]load average {load:.2f} > {threshold}: waiting ...[/dim]")
        time.sleep(20)
        load = os.getloadavg()[0]
    return load


def cell(record: dict, fmt: str, batch: int) -> dict:
    return next(r for r in record["results"] if r["format"] == fmt and r["batch"] == batch)


def pruning_study(weights: Path, threads: int, min_time: float, log) -> list[dict]:
    """Global L1 magnitude pruning of every conv/linear weight, 1 epoch of fine-tuning with the masks
    held, then ONNX Runtime fp32 latency (median of 3 interleaved rounds) and test accuracy against the
    unpruned model."""
    import copy
    import tempfile

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch.nn.utils import prune

    from signlens.export.exporter import accuracy, base_metadata, labels_for, sample_data, torch_to_onnx
    from signlens.export.runners import onnx_runner
    from signlens.export.timing import summarise, time_calls
    from signlens.inference import TorchClassifier
    from signlens.inference import metadata as md

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    clf = TorchClassifier.from_checkpoint(weights)
    train, test, _ = sample_data(None, clf, need=True)
    x = torch.from_numpy(clf.prepare(train.images))
    y = torch.from_numpy(labels_for(clf, train))
    labels = labels_for(clf, test)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for amount in (0.0, 0.5, 0.8):
            model = copy.deepcopy(clf.model)
            if amount:
                params = [
                    (m, "weight") for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
                ]
                prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
                model.train()
                opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0)
                for idx in torch.randperm(len(x)).split(128):  # one epoch of fine-tuning
                    opt.zero_grad()
                    F.cross_entropy(model(x[idx]), y[idx]).backward()
                    opt.step()
                for module, name in params:
                    prune.remove(module, name)
                model.eval()
            zeros = sum(int((p == 0).sum()) for p in model.parameters())
            path = Path(tmp) / f"p{amount}.onnx"
            torch_to_onnx(
                model, clf.in_chans, clf.img_size, path, md.encode(base_metadata(clf, weights, model))
            )
            runner = onnx_runner(path, threads, "onnx")
            rows.append({
                "pruned": amount, "zero_weights": zeros, "runner": runner,
                "test_accuracy": accuracy(runner.accuracy_model.logits(test.images), labels),
            })  # fmt: skip
        # Dense kernels do not skip zeros, so any speed difference would be noise: time the models in
        # turns (3 rounds) and keep the median, so load changes hit all of them alike.
        rounds: dict[float, list[tuple[float, float]]] = {r["pruned"]: [] for r in rows}
        for _ in range(3):
            for r in rows:
                b1 = summarise(time_calls(r["runner"].make_step(1), min_time_s=min_time), 1)
                b256 = summarise(
                    time_calls(r["runner"].make_step(256), min_time_s=min_time, min_iters=50), 256
                )
                rounds[r["pruned"]].append((b1["p50_us"], b256["images_per_s"]))
        for r in rows:
            del r["runner"]
            r["onnx_b1_p50_us"] = float(np.median([t[0] for t in rounds[r["pruned"]]]))
            r["onnx_256_images_per_s"] = float(np.median([t[1] for t in rounds[r["pruned"]]]))
            log(f"pruning {r['pruned']}: {r}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", type=Path, default=Path("runs/default"), help="default model's run dir")
    parser.add_argument("--runs", type=Path, default=Path("runs/bench"), help="run dirs of the candidates")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=2.0, help="timed seconds per cell")
    parser.add_argument("--train-missing", action="store_true", help="train runs that are not there yet")
    parser.add_argument(
        "--train-only", action="store_true", help="train missing candidate runs (not the default), then stop"
    )
    parser.add_argument("--wait-quiet", type=float, default=0, help="wait up to this many s for load < 1.5")
    parser.add_argument("--pruning", action="store_true", help="also run the magnitude-pruning study")
    parser.add_argument("--json", type=Path, default=Path("runs/bench/inference.json"))
    args = parser.parse_args()
    if "SIGNLENS_DATA" not in os.environ:
        sys.exit("set SIGNLENS_DATA (e.g. ../shared/data)")

    runs = {"default": args.default} | {name: args.runs / slug(name) for name in CANDIDATES}
    for name, run in runs.items():
        if (run / "best.pt").exists() and (run / "metrics.json").exists():
            continue
        if args.train_only and name == "default":
            continue
        if not (args.train_missing or args.train_only):
            sys.exit(f"{run}/best.pt missing: pass --train-missing to train it")
        train(run, [] if name == "default" else candidate_args(*CANDIDATES[name]), args.threads)
    if args.train_only:
        return

    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    log = lambda msg: console.print(f"[dim]{msg}[/dim]")  # noqa: E731
    side_by_side = {}
    for name in ("default", "s0-customcnn"):
        side_by_side[name] = run_benchmark(
            runs[name] / "best.pt", ["torch", "onnx", "onnx-int8"], [1, 256], args.threads,
            with_accuracy=True, min_time_s=args.min_time, log=log,
        )  # fmt: skip
        console.print(results_table(side_by_side[name], f"{name}: {runs[name] / 'best.pt'}"))

    d, s = side_by_side["default"], side_by_side["s0-customcnn"]
    formats = ("torch", "onnx", "onnx-int8")
    best1 = min(formats, key=lambda f: cell(d, f, 1)["p50_us"])
    best256 = max(formats, key=lambda f: cell(d, f, 256)["images_per_s"])
    d_ort256 = max(cell(d, f, 256)["images_per_s"] for f in ("onnx", "onnx-int8"))
    figures = {
        "batch1_p50_us": cell(d, best1, 1)["p50_us"],
        "batch1_best_format": best1,
        "images_per_s_256": cell(d, best256, 256)["images_per_s"],
        "images_per_s_256_format": best256,
        "speedup_vs_s0_eager_batch1": cell(s, "torch", 1)["p50_us"] / cell(d, best1, 1)["p50_us"],
        "throughput_vs_s0_ort_256": d_ort256 / cell(s, "onnx", 256)["images_per_s"],
        "test_accuracy_torch": cell(d, "torch", 1)["accuracy"],
        "int8_drop_points": 100 * (cell(d, "onnx", 1)["accuracy"] - cell(d, "onnx-int8", 1)["accuracy"]),
        "int8_speedup_batch1": cell(d, "onnx", 1)["p50_us"] / cell(d, "onnx-int8", 1)["p50_us"],
        "int8_speedup_256": cell(d, "onnx-int8", 256)["images_per_s"] / cell(d, "onnx", 256)["images_per_s"],
        "s0_int8_drop_points": 100 * (cell(s, "onnx", 1)["accuracy"] - cell(s, "onnx-int8", 1)["accuracy"]),
        "s0_int8_speedup_256": cell(s, "onnx-int8", 256)["images_per_s"]
        / cell(s, "onnx", 256)["images_per_s"],
    }
    targets = [
        ("batch-1 p50 <= 30 µs (best format)", f"{figures['batch1_p50_us']:.1f} µs ({best1})",
         figures["batch1_p50_us"] <= 30),
        (">= 30,000 images/s at batch 256", f"{figures['images_per_s_256']:,.0f} ({best256})",
         figures["images_per_s_256"] >= 30_000),
        (">= 25x s0-customcnn eager at batch 1", f"{figures['speedup_vs_s0_eager_batch1']:.1f}x",
         figures["speedup_vs_s0_eager_batch1"] >= 25),
        (">= 6x s0-customcnn ORT throughput at 256", f"{figures['throughput_vs_s0_ort_256']:.1f}x",
         figures["throughput_vs_s0_ort_256"] >= 6),
        ("test accuracy 100.00% (torch)", f"{100 * figures['test_accuracy_torch']:.2f}%",
         figures["test_accuracy_torch"] >= 1.0),
        ("int8 drop <= 0.1 pt", f"{figures['int8_drop_points']:+.2f} pt", figures["int8_drop_points"] <= 0.1),
    ]  # fmt: skip
    table = Table(title="issue 4 targets (default Sign MNIST model)")
    for column in ("target", "measured", "met"):
        table.add_column(column)
    for target, measured, met in targets:
        table.add_row(target, measured, "yes" if met else "NO")
    console.print(table)
    console.print(
        f"int8 vs fp32 ONNX Runtime: batch-1 p50 x{figures['int8_speedup_batch1']:.2f}, "
        f"images/s at 256 x{figures['int8_speedup_256']:.2f} "
        f"(s0-customcnn: x{figures['s0_int8_speedup_256']:.2f} at 256, drop {figures['s0_int8_drop_points']:+.2f} pt)"
    )

    frontier = []
    for name, run in runs.items():
        record = run_benchmark(
            run / "best.pt", ["torch", "onnx"], [1, 256], args.threads, min_time_s=args.min_time / 2, log=log
        )
        metrics = json.loads((run / "metrics.json").read_text())
        frontier.append({
            "name": name if name != "default" else f"default ({record['model']['name']} {record['model'].get('args', {})})",
            "params": record["params"], "macs": record["macs"],
            "torch_b1_p50_us": cell(record, "torch", 1)["p50_us"],
            "onnx_b1_p50_us": cell(record, "onnx", 1)["p50_us"],
            "onnx_256_images_per_s": cell(record, "onnx", 256)["images_per_s"],
            "test_accuracy": metrics["test"]["accuracy"], "epochs": metrics["epochs_run"],
            "load_avg_before": record["load_avg_before"],
        })  # fmt: skip
    frontier.sort(key=lambda r: r["macs"])
    table = Table(title=f"architectures tried (sign-mnist-fast recipe, seed 0, {args.threads} threads)")
    for column in (
        "model",
        "params",
        "MACs",
        "torch b1 p50",
        "ORT b1 p50",
        "ORT img/s @256",
        "test acc",
        "epochs",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in frontier:
        table.add_row(
            r["name"], f"{r['params']:,}", human_count(r["macs"]), f"{r['torch_b1_p50_us']:.1f} µs",
            f"{r['onnx_b1_p50_us']:.1f} µs", f"{r['onnx_256_images_per_s']:,.0f}",
            f"{100 * r['test_accuracy']:.2f}%", str(r["epochs"]),
        )  # fmt: skip
    console.print(table)
    pruning = []
    if args.pruning:
        pruning = pruning_study(runs["default"] / "best.pt", args.threads, args.min_time / 2, log)
        table = Table(
            title="global L1 magnitude pruning of the default model + 1 epoch fine-tuning (ORT fp32)"
        )
        for column in ("pruned", "zero weights", "ORT b1 p50", "ORT img/s @256", "test acc"):
            table.add_column(column, justify="right")
        for r in pruning:
            table.add_row(
                f"{100 * r['pruned']:.0f}%", f"{r['zero_weights']:,}", f"{r['onnx_b1_p50_us']:.1f} µs",
                f"{r['onnx_256_images_per_s']:,.0f}", f"{100 * r['test_accuracy']:.2f}%",
            )  # fmt: skip
        console.print(table)
    load = [round(v, 2) for v in os.getloadavg()]
    console.print(f"load average after: {load}")
    record = {"side_by_side": side_by_side, "figures": figures, "frontier": frontier, "pruning": pruning}
    write_json(args.json, {**record, "load_after": load})
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
