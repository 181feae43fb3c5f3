"""Live pipeline speed at 640x480 on this machine: frames per second and per-stage latency.

A video is generated from shared ayuraj photos (a signing hand pasted on a textured background, held
for a while, then moved away), and `signlens live` processes it end to end: decode, MediaPipe tracking,
landmark classification with mirrored test-time augmentation, smoothing, spelling, overlay.

    SIGNLENS_DATA=../shared/data python benchmarks/live.py [--frames 300] [--model-complexity 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from signlens.data.sources import data_root
from signlens.inference import single_torch_thread
from signlens.pipeline.hands import read_rgb
from signlens.pipeline.live import run_live
from signlens.pipeline.recognizer import Recognizer, RunningMode


def make_video(path: Path, frames: int, word: str = "signlens") -> None:
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 200, (480, 640, 3), dtype=np.uint8), (0, 0), 9)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    letters = [c for c in word if c not in "jz"]
    for i in range(frames):
        frame = background.copy()
        letter = letters[(i // 30) % len(letters)]
        if i % 30 < 24:  # the hand is in view most of the time
            hand = cv2.resize(
                read_rgb(data_root() / "asl_dataset" / letter / f"hand2_{letter}_bot_seg_1_cropped.jpeg"),
                (260, 260),
            )
            x, y = (
                190 + int(10 * np.sin(i / 7)),
                110 + int(6 * np.cos(i / 5)),
            )  # a little drift, as a held hand has
            mask = hand.max(axis=2, keepdims=True) > 25  # the photos are segmented on black
            frame[y : y + 260, x : x + 260] = np.where(mask, hand[..., ::-1], frame[y : y + 260, x : x + 260])
        writer.write(frame)
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--model-complexity", type=int, default=1)
    parser.add_argument("--save", action="store_true", help="also draw and encode the annotated video")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="signlens-live-"))
    video = work / "input.mp4"
    make_video(video, args.frames)
    single_torch_thread()  # as `signlens live` runs
    recognizer = Recognizer(running_mode=RunningMode.VIDEO, model_complexity=args.model_complexity)
    start = time.perf_counter()
    summary = run_live(recognizer, str(video), save=work / "out.mp4" if args.save else None)
    wall = time.perf_counter() - start
    recognizer.close()
    lat = summary["latency_ms"]
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores visible, load {os.getloadavg()[0]:.1f}, "
          f"640x480, model_complexity {args.model_complexity}, annotate+encode {args.save}")  # fmt: skip
    print(f"frames {summary['frames']}  end-to-end {summary['frames'] / wall:.1f} frames/s (decode included)")
    for stage in ("detect", "classify", "total"):
        print(f"  {stage:<9} p50 {lat[stage]['p50']:6.2f} ms   p95 {lat[stage]['p95']:6.2f} ms")
    print(
        f"  pipeline-only rate at p50: {1000 / lat['total']['p50']:.0f} frames/s; text: {summary['text']!r}"
    )


if __name__ == "__main__":
    main()
