"""`signlens predict` speed on a folder of 416x416 photos: photos per second, end to end (decode, the
reading path's search, the second reading where the first is unsure, classification, JSON out).

The folder is made now from shared photos of both sets (resized to 416x416), half of them with an
everyday change from the stress set (gray, blur, shear, mirror, the hand cut or filling the frame), so
the search's later views are paid for as often as real photos need them. The command runs as users run
it, in a child process pinned to `--cores` cores; photos/s counts from its first answer to its last
(the model load before the first is reported apart); so does the child's CPU time a photo (user +
system, all its threads), also given over the whole command.

`--baseline SRC` also times an older checkout's code (its `src` folder, e.g. from `git worktree add`)
in the same venv, alternating with this one `--rounds` times (on a shared machine the load drifts, so
only back-to-back pairs compare), and checks that both print the same answers.

    SIGNLENS_DATA=../shared/data python benchmarks/predict_speed.py [--photos 400] [--cores 2]
        [--folder DIR] [--baseline /tmp/old/src --rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from signlens.data.changes import CHANGES, changed
from signlens.data.photo_sets import list_photo_set
from signlens.data.sources import data_root
from signlens.pipeline.hands import read_rgb


def make_folder(folder: Path, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    photos = list_photo_set("sign-mnist-source", data_root()) + list_photo_set("asl-dataset", data_root())
    for n, k in enumerate(rng.permutation(len(photos))[:count]):
        photo = photos[k]
        rgb = read_rgb(photo.path)
        change = CHANGES[rng.integers(1, len(CHANGES))] if n % 2 else "as-taken"
        image = changed(rgb, change, photo.box, rng)
        image = cv2.resize(rgb if image is None else image, (416, 416), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{n:04d}.jpg"), image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])


def timed_run(folder: Path, cores: list[int], weights: str | None, src: str | None) -> dict:
    """One `signlens predict FOLDER --json` in a child process; with `src`, that code instead of ours."""
    signlens = Path(sys.executable).with_name("signlens")
    command = [str(signlens), "predict", str(folder), "--json"]
    if weights:
        command += ["--weights", weights]
    env = dict(os.environ, PYTHONPATH=src) if src else None  # PYTHONPATH comes before the editable install
    start = time.perf_counter()
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
    )
    lines, times, cpu_at_first = [], [], float("nan")
    for line in iter(child.stdout.readline, ""):
        times.append(time.perf_counter())
        lines.append(line)
        if len(times) == 1:
            cpu_at_first = cpu_seconds(child.pid)
    _, status, usage = os.wait4(child.pid, 0)  # the child's own CPU time, not earlier children's
    end = time.perf_counter()
    answers = len(times)
    return {
        "rate": (answers - 1) / (times[-1] - times[0]) if answers > 1 else float("nan"),
        "startup": times[0] - start if times else float("nan"),
        "whole": end - start,
        "cpu_ms": 1000 * (usage.ru_utime + usage.ru_stime) / max(1, answers),
        "cpu_ms_after": 1000 * (usage.ru_utime + usage.ru_stime - cpu_at_first) / max(1, answers - 1),
        "answers": answers,
        "lines": lines,
        "status": os.waitstatus_to_exitcode(status),
        "load": os.getloadavg()[0],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process, all its threads (NaN where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, run: dict) -> None:
    print(
        f"{name}: {run['answers']} answers, {run['rate']:.1f} photos/s after the first answer; start-up to "
        f"first answer {run['startup']:.1f} s; whole command {run['answers'] / run['whole']:.1f} photos/s "
        f"({run['whole']:.1f} s); CPU {run['cpu_ms_after']:.1f} ms a photo after the first answer "
        f"({run['cpu_ms']:.1f} with start-up); load average {run['load']:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--weights", default=None)
    parser.add_argument(
        "--folder", type=Path, help="make the photos here and keep them; if it has some, use those"
    )
    parser.add_argument("--baseline", help="the src folder of older code to alternate with")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[: args.cores]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.glob("*.jpg")):
            make_folder(folder, args.photos)
        photos = len(list(folder.glob("*.jpg")))
        print(f"{photos} photos in {folder}, {len(cores)} cores (os.cpu_count {os.cpu_count()})", flush=True)
        sides = {"this code": None, **({f"baseline {args.baseline}": args.baseline} if args.baseline else {})}
        runs: dict[str, list[dict]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, src in sides.items():
                run = timed_run(folder, cores, args.weights, src)
                report(name, run)
                if run["status"] != 0 or run["answers"] != photos:
                    sys.exit(f"predict exited {run['status']} with {run['answers']} answers")
                runs[name].append(run)
    for name, done in runs.items():
        if len(done) > 1:
            rates, cpu = [r["rate"] for r in done], [r["cpu_ms_after"] for r in done]
            print(
                f"{name}, median of {len(done)}: {statistics.median(rates):.1f} photos/s, "
                f"CPU {statistics.median(cpu):.1f} ms a photo"
            )
    if args.baseline:
        same = all(a["lines"] == b["lines"] for a, b in zip(*runs.values(), strict=True))
        print(f"answers {'identical' if same else 'DIFFERENT'} between this code and the baseline")


if __name__ == "__main__":
    main()
