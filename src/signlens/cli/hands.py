"""Hand verbs: `landmarks extract` and `live`."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli.app import app, console

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
        help="Named data set (asl-dataset, sign-mnist) or a path to class folders or a CSV.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output .npz landmark file (train on it with --data landmarks:FILE)."
    ),
    pad: float = typer.Option(
        0.5,
        "--pad",
        help="On a miss, retry with a black border of this fraction of the image size (0: never).",
    ),
    min_confidence: float = typer.Option(
        0.3, "--min-confidence", help="MediaPipe minimum detection confidence."
    ),
    show_failures: int = typer.Option(10, "--show-failures", help="How many undetected files to list."),
):
    """Detect one hand per image and save its landmarks with label, handedness, source file and group; misses are counted and listed."""
    from rich.progress import Progress

    from signlens.pipeline.extract import extract_landmarks

    with Progress(transient=True) as bar:
        task = bar.add_task("detecting hands", total=None)
        report = extract_landmarks(
            data, out, pad=pad, min_confidence=min_confidence, progress=lambda: bar.advance(task)
        )
    console.print(
        f"{out}: {report['num_detected']}/{report['num_images']} images with a hand "
        f"({100 * report['detection_rate']:.1f}%) in {report['seconds']:.1f}s"
    )
    if report["failures"]:
        console.print(
            f"no hand in {len(report['failures'])} images, e.g.: "
            + ", ".join(report["failures"][:show_failures])
        )
