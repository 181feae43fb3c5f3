"""Sign MNIST benchmark: the default recipe over several seeds, plus the scratch architectures.

Each training runs as its own `signlens train` process, so its peak memory is its own.
Prints test accuracy (official test split), training seconds and peak RSS per run.

    SIGNLENS_DATA=../shared/data python benchmarks/sign_mnist.py [--seeds 0,1,2] [--models baseline-cnn,custom-cnn,mlp]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def train(args: list[str], out: Path) -> tuple[dict, float]:
    """Run one training; returns (metrics.json, peak RSS of that process in MiB)."""
    cmd = [
        sys.executable,
        "-m",
        "signlens",
        "train",
        "--data",
        "sign-mnist",
        "--out",
        str(out),
        "--quiet",
        *args,
    ]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the max over all children
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"training failed: {' '.join(cmd)}")
    return json.loads((out / "metrics.json").read_text()), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--models",
        default="",
        help="also train these architectures, one seed each (e.g. baseline-cnn,custom-cnn,mlp)",
    )
    parser.add_argument("--model-epochs", type=int, default=15, help="epochs for the --models runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep run directories here")
    args = parser.parse_args()
    if "SIGNLENS_DATA" not in os.environ:
        sys.exit("set SIGNLENS_DATA (e.g. ../shared/data)")

    root = args.keep or Path(tempfile.mkdtemp(prefix="signlens-bench-"))
    print(f"# {time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  "
          f"{os.cpu_count()} cores visible, torch threads {args.threads}")  # fmt: skip
    print(
        f"{'run':<28}{'params':>9}{'epochs':>8}{'test acc':>10}{'correct':>13}{'train s':>9}{'peak MiB':>10}"
    )
    rows = []
    runs = [(f"default seed {s}", ["--seed", s]) for s in args.seeds.split(",") if s]
    runs += [
        (f"{m} seed 0", ["--model", m, "--seed", "0", "--epochs", str(args.model_epochs)])
        for m in args.models.split(",")
        if m
    ]
    for label, extra in runs:
        out = root / label.replace(" ", "-")
        metrics, peak = train([*extra, "--threads", str(args.threads), "--exist-ok"], out)
        t = metrics["test"]
        rows.append((label, metrics, peak))
        print(
            f"{label:<28}{metrics['parameters']:>9,}{metrics['epochs_run']:>8}{100 * t['accuracy']:>9.2f}%"
            f"{t['num_correct']:>7,}/{t['num_samples']:,}{metrics['train_seconds']:>9.1f}{peak:>10.0f}",
            flush=True,
        )
    print(f"run directories: {root}")


if __name__ == "__main__":
    main()
