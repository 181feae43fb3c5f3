"""`signlens predict` speed on a folder of 416x416 photos: photos per second, end to end (decode, the
reading path's search, the second reading where the first is unsure, classification, JSON out).

The folder is made now from shared photos of both sets (resized to 416x416), half of them with an
everyday change from the stress set (gray, blur, shear, mirror, the hand cut or filling the frame), so
the search's later views are paid for as often as real photos need them. The command runs as users run
it, in a child process pinned to `--cores` cores; photos/s counts from its first answer to its last
(the model load before the first is reported apart).

    SIGNLENS_DATA=../shared/data python benchmarks/predict_speed.py [--photos 400] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from signlens.data.photo_sets import list_photo_set  # noqa: E402
from signlens.data.sources import data_root  # noqa: E402
from signlens.pipeline.hands import read_rgb  # noqa: E402
from stress_set import CHANGES, changed  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_folder(folder, args.photos)
        signlens = Path(sys.executable).with_name("signlens")
        command = [str(signlens), "predict", str(folder), "--json"]
        if args.weights:
            command += ["--weights", args.weights]
        cores = sorted(os.sched_getaffinity(0))[: args.cores]
        start = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cores)
        )
        times = [time.perf_counter() for _ in iter(child.stdout.readline, "")]
        child.wait()
        end = time.perf_counter()
    answers = len(times)
    rate = (answers - 1) / (times[-1] - times[0]) if answers > 1 else float("nan")
    print(
        f"predict on {answers} photos 416x416, {len(cores)} cores (os.cpu_count {os.cpu_count()}): "
        f"{rate:.1f} photos/s after the first answer; start-up to first answer {times[0] - start:.1f} s; "
        f"whole command {args.photos / (end - start):.1f} photos/s ({end - start:.1f} s); load average "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
