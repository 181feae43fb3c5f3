"""Transfer-learning benchmark on the ayuraj photos (36 classes): scratch models against MobileNetV2 and
ResNet18, each under stratified 5-fold CV and leave-one-signer-out CV (folds by hand1..hand5).

Every cell is the mean +- sample std over folds of held-out accuracy, from `signlens cv` (model selection
on a validation split inside each fold's training part), and beside it the handshape accuracy, which
counts 0/O, 2/V and 6/W as one sign. ASL draws each of those pairs with one handshape, so a model that
reads only the hand can expect at most half of their 420 photos right: 36-class accuracy is capped near
1 - 210 / 2,515 = 91.65% unless it learns how the photos of a pair happened to be taken.

No ImageNet weights are reachable here, so the ResNet18 row starts from domain pretraining instead: the
same network trained on Sign MNIST first (`signlens train --data sign-mnist`), then fine-tuned in
stages (head -> layer4 -> layer3).

    SIGNLENS_DATA=../shared/data python benchmarks/transfer.py [--rows mlp,cnn,fast,fast-wide,mobilenet,resnet,resnet64] [--keep DIR]

The landmark rows of docs/benchmarks.md (leave-one-signer-out only) come from
`benchmarks/recognizer_loso.py --classes all`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name -> (label, input, init note, extra `signlens cv` arguments). Sizes and epochs are chosen so a
# whole 5-fold run of one model takes minutes on 2 CPU cores (see docs/benchmarks.md).
ROWS = {
    "mlp": ("scratch MLP 784-300-100", "28 px gray", "scratch",
            ["--model", "mlp", "--img-size", "28", "--in-chans", "1", "--epochs", "10", "--lr", "1e-3"]),
    "cnn": ("custom CNN (4 conv blocks, BN)", "32 px gray", "scratch",
            ["--model", "custom-cnn", "--img-size", "32", "--in-chans", "1", "--epochs", "8", "--lr", "3e-3"]),
    "fast": ("fast CNN (3 stride-2 conv-BN, dense head)", "64 px RGB", "scratch",
             ["--model", "fast-cnn", "--img-size", "64", "--epochs", "30", "--batch-size", "64", "--lr", "3e-3"]),
    "fast-wide": ("fast CNN, widths 32/64/128", "64 px RGB", "scratch",
                  ["--model", "fast-cnn", "--model-arg", "widths=[32,64,128]", "--img-size", "64", "--epochs", "40",
                   "--batch-size", "64", "--lr", "3e-3"]),
    "mobilenet": ("MobileNetV2 0.35, dense 64", "96 px gray", "scratch (no ImageNet weights offline)",
                  ["--recipe", "mobilenetv2-gray96", "--epochs", "30"]),
    "resnet": ("ResNet18 staged head->layer4->layer3", "32 px gray", "Sign MNIST pretraining",
               ["--recipe", "resnet18-staged", "--img-size", "32",
                "--stages", "head:2e-3:3,layer4:5e-4:3,layer3:5e-4:4"]),
    "resnet64": ("ResNet18 staged head->layer4->layer3", "64 px gray", "Sign MNIST pretraining",
                 ["--recipe", "resnet18-staged", "--img-size", "64",
                  "--stages", "head:2e-3:3,layer4:5e-4:3,layer3:5e-4:4"]),
}  # fmt: skip
SPLITS = {"stratified": ["--group-by", "none"], "signer": ["--group-by", "signer"]}


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}")


def signlens(*args: str) -> list[str]:
    return [sys.executable, "-m", "signlens", *args]


def pretrain_resnet(root: Path, threads: int, epochs: int) -> Path:
    """ResNet18 on Sign MNIST at its native 28 px (convolutions do not care that fine-tuning uses 32):
    the body learns hand shapes in gray. Its own test score is printed; ayuraj is never seen here."""
    out = root / "pretrain-resnet18-sign-mnist"
    if not (out / "best.pt").exists():
        run(signlens("train", "--data", "sign-mnist", "--model", "resnet18", "--img-size", "28", "--in-chans", "1",
                     "--epochs", str(epochs), "--lr", "2e-3", "--threads", str(threads), "--out", str(out),
                     "--exist-ok", "--quiet"))  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    print(f"  Sign MNIST pretraining: test {100 * metrics['test']['accuracy']:.2f}%, "
          f"{metrics['train_seconds']:.0f}s", flush=True)  # fmt: skip
    return out / "best.pt"


def handshape_cell(out: Path, cv: dict) -> str:
    """Mean +- std of handshape accuracy over folds; runs made before `cv` wrote it are scored from
    their predictions.csv with the same function."""
    if "handshape_accuracy" not in cv["mean"]:
        from signlens.engine.metrics import confusion_matrix, handshape_accuracy

        rows = list(csv.DictReader((out / "predictions.csv").open()))
        names = sorted({r["label"] for r in rows} | {r["predicted"] for r in rows})
        index = {n: i for i, n in enumerate(names)}
        scores = []
        for fold in sorted({r["fold"] for r in rows}, key=int):
            part = [r for r in rows if r["fold"] == fold]
            confusion = confusion_matrix([index[r["label"]] for r in part],
                                         [index[r["predicted"]] for r in part], len(names))  # fmt: skip
            scores.append(handshape_accuracy(confusion, names))
        cv["mean"]["handshape_accuracy"] = statistics.mean(scores)
        cv["std"]["handshape_accuracy"] = statistics.stdev(scores)  # sample std, as cv.json
    return f"{100 * cv['mean']['handshape_accuracy']:.2f} +- {100 * cv['std']['handshape_accuracy']:.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="mlp,cnn,fast,fast-wide,mobilenet,resnet,resnet64")
    parser.add_argument("--splits", default=",".join(SPLITS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep run directories here (reused if present)"
    )
    args = parser.parse_args()
    if "SIGNLENS_DATA" not in os.environ:
        sys.exit("set SIGNLENS_DATA (e.g. ../shared/data)")
    root = args.keep or Path(tempfile.mkdtemp(prefix="signlens-transfer-"))
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()}  {os.cpu_count()} cores visible, "
          f"torch threads {args.threads}, load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    results = {}
    for name in args.rows.split(","):
        label, size, init, extra = ROWS[name]
        if name.startswith("resnet"):
            extra = [*extra, "--init", str(pretrain_resnet(root, args.threads, args.pretrain_epochs))]
        for split in args.splits.split(","):
            out = root / f"{name}-{split}"
            if not (out / "cv.json").exists():
                run(signlens("cv", "--data", "asl-dataset", *extra, *SPLITS[split], "--folds", str(args.folds),
                             "--threads", str(args.threads), "--out", str(out), "--exist-ok", "--quiet"))  # fmt: skip
            cv = json.loads((out / "cv.json").read_text())
            cv["handshape_cell"] = handshape_cell(out, cv)
            results[(name, split)] = cv
            m, s = cv["mean"], cv["std"]
            print(f"  {name} {split}: {100 * m['accuracy']:.2f} +- {100 * s['accuracy']:.2f}% "
                  f"(handshape {cv['handshape_cell']})  {m['fold_seconds']:.0f}s/fold  "
                  f"load {cv['load_average'][0]}", flush=True)  # fmt: skip
    lines = [
        "| model | input | starting weights | stratified 5-fold | handshape | leave-one-signer-out | handshape "
        "| s/fold strat. | s/fold LOSO |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in args.rows.split(","):
        label, size, init, _ = ROWS[name]
        cells = []
        for split in SPLITS:
            cv = results.get((name, split))
            cells.append(
                f"{100 * cv['mean']['accuracy']:.2f} +- {100 * cv['std']['accuracy']:.2f}% | {cv['handshape_cell']}"
                if cv
                else "- | -"
            )
        secs = [
            f"{results[(name, s)]['mean']['fold_seconds']:.0f}" if (name, s) in results else "-"
            for s in SPLITS
        ]
        lines.append(f"| {label} | {size} | {init} | {cells[0]} | {cells[1]} | {secs[0]} | {secs[1]} |")
    table = "\n".join(lines)
    (root / "transfer.md").write_text(table + "\n")
    print(table)
    print(f"run directories: {root}")


if __name__ == "__main__":
    main()
