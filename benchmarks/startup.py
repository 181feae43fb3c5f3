"""`signlens predict photo.jpg` as a whole process: seconds from launch to exit (interpreter start, imports,
model load, MediaPipe's graphs, one photo read and answered), its CPU seconds (user + system, all its
threads) and its peak resident memory.

With `--baseline SRC` an older checkout's code (its `src` folder, e.g. from `git worktree add`) runs in
the same venv, alternating with this one `--rounds` times (on a shared machine the load drifts, so only
back-to-back pairs compare); the medians are reported side by side, and both must print the same answer.

    .venv/bin/python benchmarks/startup.py [--photo tests/fixtures/hands/A.jpg] [--rounds 5]
        [--baseline /tmp/old/src] [--out runs/startup.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(photo: Path, src: str | None) -> dict:
    """One `signlens predict PHOTO` in a child process; with `src`, that code instead of ours."""
    command = [str(Path(sys.executable).with_name("signlens")), "predict", str(photo)]
    env = dict(os.environ, PYTHONPATH=src) if src else None  # PYTHONPATH comes before the editable install
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)  # the child's own peak memory, not earlier children's
        seconds = time.perf_counter() - start
        child.stdout.close()
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"startup: {' '.join(command)} failed: {err.read().strip()[-500:]}")
    cpu = usage.ru_utime + usage.ru_stime  # all its threads: less swayed by other work than the wall clock
    return {"seconds": seconds, "cpu_s": cpu, "answer": out.strip(), "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=ROOT / "tests" / "fixtures" / "hands" / "A.jpg")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=None, help="an older checkout's src folder, timed alternately")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    builds = {"this": None, **({"baseline": args.baseline} if args.baseline else {})}
    load_before = os.getloadavg()  # other work on the machine sways the wall clock: say how much
    one_run(args.photo, None)  # a first run warms the page cache for both builds' shared files
    runs: dict[str, list[dict]] = {name: [] for name in builds}
    for _ in range(args.rounds):
        for name, src in builds.items():
            runs[name].append(one_run(args.photo, src))
    report = {
        "photo": str(args.photo),
        "rounds": args.rounds,
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    for name, rows in runs.items():
        seconds = [r["seconds"] for r in rows]
        report[name] = {
            "median_s": round(statistics.median(seconds), 3),
            "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3),
            "cpu_median_s": round(statistics.median(r["cpu_s"] for r in rows), 3),
            "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rows)),
            "answers": sorted({r["answer"] for r in rows}),
        }
        print(f"{name:>8}: median {statistics.median(seconds):.2f} s  (min {min(seconds):.2f}, max "
              f"{max(seconds):.2f}; {len(seconds)} runs), CPU {report[name]['cpu_median_s']:.2f} s, peak RSS {report[name]['peak_rss_mb']} MB  {rows[0]['answer']}")  # fmt: skip
    answers = {a for name in runs for a in report[name]["answers"]}
    report["same_answer"] = len(answers) == 1
    print(f"same answer from every run: {report['same_answer']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if report["same_answer"] else 1


if __name__ == "__main__":
    sys.exit(main())
