"""Hand verbs: `landmarks extract` and `live`."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli import options as o
from signlens.cli.app import app, console, progress_wanted, quote, stderr_console
from signlens.errors import SignlensError
from signlens.pipeline.session import SETTINGS as LIVE

landmarks_app = typer.Typer(
    no_args_is_help=True, help="Hand-landmark data sets (MediaPipe Hands, 21 x 3 points per hand)."
)
app.add_typer(landmarks_app, name="landmarks")


@landmarks_app.command("extract")
def landmarks_extract(
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="Named data set (asl-dataset, sign-mnist-source, sign-mnist) or a path to class folders or a CSV.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output .npz landmark file (train on it with --data landmarks:FILE)."
    ),
    show_failures: int = typer.Option(10, "--show-failures", help="How many undetected files to list."),
    views: str = typer.Option(
        "photo",
        "--views",
        help="photo, or photo,mirrored: also read each hand from the mirrored image (a second, independent landmark estimate; one row per view).",
    ),
):
    """Detect one hand per image as `predict` does (the same search of views and detector settings) and save its landmarks with label, handedness, source file and group; misses are counted and listed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from signlens.study.recognizer.extract import extract_landmarks

    o.check("--show-failures", show_failures, 0)
    o.output_file("--out", out)
    columns = (TextColumn("detecting hands"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=stderr_console(), disable=not progress_wanted()) as bar:
        task = bar.add_task("detect", total=None)
        report = extract_landmarks(
            data,
            out,
            progress=lambda: bar.advance(task),
            views=tuple(v.strip() for v in views.split(",") if v.strip()),
            on_total=lambda total: bar.update(task, total=total),
        )
    console.print(
        f"{quote(out)}: {report['num_detected']}/{report['num_images']} images with a hand "
        f"({100 * report['detection_rate']:.1f}%) in {report['seconds']:.1f}s"
    )
    if report["failures"] and show_failures:
        console.print(
            f"no hand in {len(report['failures'])} images, e.g.: "
            + quote(", ".join(report["failures"][:show_failures]))
        )


@app.command()
def live(
    source: str = typer.Option(
        "0", "--source", "-s", help="Camera index (0, 1, ...), a video file, or a folder of frames."
    ),
    weights: Path = typer.Option(
        None, "--weights", "-w", help="Landmark model [default: the bundled recogniser]."
    ),
    show: bool = typer.Option(False, "--show", help="Open a window with the overlay (q or Esc quits)."),
    save: Path = typer.Option(None, "--save", help="Write the annotated video here (.mp4)."),
    jsonl: Path = typer.Option(
        None,
        "--jsonl",
        help="Write one JSON line per frame: frame, time, raw and smoothed label, confidence, hand box, text.",
    ),
    threshold: float = typer.Option(
        None,
        "--threshold",
        help="Calibrated confidence below which a frame votes 'unsure' [default: the recogniser's own live "
        "threshold, chosen on held-out signers and recorded in its checkpoint].",
    ),
    window: float = typer.Option(LIVE["window"].default, "--window", help=f"{LIVE['window'].what}."),
    min_share: float = typer.Option(
        LIVE["min_share"].default, "--min-share", help=f"{LIVE['min_share'].what}."
    ),
    hold: float = typer.Option(LIVE["hold"].default, "--hold", help=f"{LIVE['hold'].what}."),
    pause: float = typer.Option(LIVE["pause"].default, "--pause", help=f"{LIVE['pause'].what}."),
    no_mirror: bool = typer.Option(
        False,
        "--no-mirror",
        help="Turn off mirrored test-time augmentation (on for models trained with mirrored hands, as the bundled one is).",
    ),
    model_complexity: int = typer.Option(
        1, "--model-complexity", help="MediaPipe landmark model: 0 (faster) or 1 (more accurate)."
    ),
    max_frames: int = typer.Option(None, "--max-frames", help="Stop after this many frames."),
):
    """Recognise signs live: track the hand, classify each frame, smooth by majority vote, and spell letters into text."""
    from signlens.inference import single_torch_thread
    from signlens.pipeline.live import run_live
    from signlens.pipeline.recognizer import Recognizer, RunningMode

    if threshold is not None:
        o.check("--threshold", threshold, 0, 1)
    spelling = {"window": window, "min_share": min_share, "hold": hold, "pause": pause}
    for name, value in spelling.items():  # the live session's one set of limits (pipeline.session)
        o.check(f"--{name.replace('_', '-')}", value, LIVE[name].low, LIVE[name].high)
    o.check("--max-frames", max_frames, 0)
    if model_complexity not in (0, 1):  # MediaPipe aborts the process on anything else
        raise SignlensError(f"--model-complexity must be 0 or 1, got {model_complexity}")
    o.output_file("--jsonl", jsonl)
    o.output_file("--save", save)
    if save is not None and save.suffix.lower() not in (".mp4", ".avi", ".mov", ".mkv"):
        raise SignlensError(f"--save {save}: give a video file name (.mp4)")
    if show:
        window_check()

    single_torch_thread()  # one hand a frame, beside MediaPipe's threads (see its doc)
    recognizer = Recognizer(
        weights,
        running_mode=RunningMode.VIDEO,
        threshold=threshold,
        mirror_tta=False if no_mirror else None,
        model_complexity=model_complexity,
    )
    if recognizer.kind != "landmarks":  # an image classifier: live tracks a hand and spells its letters
        recognizer.close()
        raise SignlensError(f"{weights} is an image classifier; live needs a landmark model (the recogniser)")
    try:
        summary = run_live(
            recognizer, source, jsonl=jsonl, save=save, show=show, settings=spelling, max_frames=max_frames
        )
    finally:
        recognizer.close()
    total = summary["latency_ms"].get("total", {"p50": 0.0, "p95": 0.0})
    console.print(
        f"{summary['frames']} frames, per-frame latency p50 {total['p50']:.1f} ms, p95 {total['p95']:.1f} ms; "
        f"text: {summary['text']!r}"
    )


def window_check() -> None:
    """OpenCV's Qt back-end aborts the whole process when it cannot reach a display, so open (and
    close) a window in a child process first; a failure there is one line, not a core dump."""
    import subprocess
    import sys

    probe = "import cv2; cv2.namedWindow('signlens'); cv2.waitKey(1); cv2.destroyAllWindows()"
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=20)
        ok = done.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        raise SignlensError("--show needs a display that OpenCV can open a window on (none here)")
