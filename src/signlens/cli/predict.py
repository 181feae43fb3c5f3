"""`signlens predict`: one answer per photo, whatever model reads it, and every good photo answered.

A bad photo (missing, not an image, over the limits) gets one line on stderr, and with --json a JSON
line with an `error` field, and the others go on; the exit code is 2 at the end if any failed. The
bundled model is loaded when the first photo decodes, so a run whose every input is bad costs no
model load; a model named with --weights is loaded first, so its own problem is reported once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from signlens.cli import options as o
from signlens.cli.app import app, console, expand_images, progress_wanted, quote, stderr_console
from signlens.errors import SignlensError


@app.command()
def predict(
    images: list[str] = typer.Argument(..., help="Photos (any size) or folders of photos."),
    weights: Path = typer.Option(
        None,
        "--weights",
        "-w",
        help="Model to use [default: the bundled hand-landmark recogniser]. A landmark model detects the hand "
        "first; an image-classifier checkpoint or .onnx classifies the whole image.",
    ),
    top_k: int = typer.Option(3, "--top-k", "-k", help="How many labels to list per image (1 or more)."),
    threshold: float = typer.Option(
        None,
        "--threshold",
        help="Calibrated confidence in 0..1 below which the answer is 'unsure' (label null) [default: the "
        "recogniser's own, chosen by its build on signers it held out; 0.5 for a model without one].",
    ),
    annotate: Path = typer.Option(
        None, "--annotate", help="Write each photo with its hand box (if any) and label into this folder."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="One JSON object per line: path, label (null: no hand or unsure), confidence, top, hand, "
        "handedness; or path and error for a photo that cannot be read.",
    ),
):
    """Recognise the sign in each photo: detect the hand, read its landmarks, classify; one result per image."""
    o.check("--top-k", top_k, 1, 1000)
    o.check("--threshold", threshold, 0, 1)
    o.output_dir("--annotate", annotate)
    errors: list[tuple[Path, str]] = []
    files = expand_images(images, errors)
    for path, problem in errors:
        report_error(path, problem, as_json)
    failed = len(errors)
    reader = LazyRecognizer(weights, threshold, top_k)
    if weights is not None and files:
        reader.load()  # a named model is checked first: its problem is reported once, before any photo
    show = progress_wanted(as_json=as_json) and len(files) > 1
    try:
        with progress_bar(show, len(files)) as advance:
            for path, result in reader.answers(files, annotate):
                if isinstance(result, SignlensError):
                    failed += 1
                    report_error(path, str(result), as_json)
                else:
                    print_result(result, as_json)
                advance()
    finally:
        reader.close()
    if failed:
        raise typer.Exit(2)


def report_error(path: Path, problem: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"path": str(path), "error": problem}), flush=True)
    print(f"signlens: error: {' '.join(problem.split())}", file=sys.stderr, flush=True)


def print_result(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result), flush=True)
        return
    top = "  ".join(f"{name} {prob:.3f}" for name, prob in result["top"])
    label = result["label"] or ("no hand" if result["top"] == [] else "unsure")
    console.print(f"{quote(result['path'])}: [bold]{quote(label)}[/bold]  {quote(top)}", highlight=False)


class LazyRecognizer:
    """The recogniser (or image classifier), loaded for the first photo that decodes. One output
    schema for both kinds: the path and `Recognition.to_dict()`."""

    def __init__(self, weights: Path | None, threshold: float | None, top_k: int):
        self.weights, self.threshold, self.top_k = weights, threshold, top_k
        self.recognizer = None
        self.fatal = False
        self.written: set[str] = set()  # annotated names so far: photo.jpg in two folders get two files

    def load(self):
        from signlens.inference import single_torch_thread
        from signlens.pipeline.recognizer import Recognizer

        self.fatal = True  # an error while loading ends the run: it is about the model, not a photo
        single_torch_thread()  # predict's readers run on threads of their own (see its doc)
        self.recognizer = Recognizer(self.weights, threshold=self.threshold, top_k=self.top_k)
        self.fatal = False
        return self.recognizer

    def answers(self, files: list[Path], annotate: Path | None):
        """(path, answer dict or SignlensError) per photo, in order. Photos are decoded one by one until
        the first good one loads the model; the rest go through the recogniser's threads (two readers
        on two cores), in order."""
        from signlens.pipeline.hands import read_rgb

        rest = iter(files)
        for path in rest:
            try:
                rgb = read_rgb(path)
            except SignlensError as exc:
                yield path, exc
                continue
            recognizer = self.recognizer or self.load()

            def decoded(first=(path, rgb)):
                yield first
                for other in rest:
                    yield other, None

            def load(item):
                return item[1] if item[1] is not None else read_rgb(item[0])

            for (p, _), image, result in recognizer.recognize_all(decoded(), load=load):
                if isinstance(result, SignlensError):
                    yield p, result
                    continue
                if annotate is not None:
                    self.annotate(annotate, p, image, result)
                yield p, {"path": str(p), **result.to_dict()}
            return

    def annotate(self, annotate: Path, path: Path, rgb, result) -> None:
        name = f"{path.stem}.jpg"
        n = 2
        while name in self.written:
            name, n = f"{path.stem}_{n}.jpg", n + 1
        self.written.add(name)
        write_annotated(annotate / name, path, rgb, result)

    def close(self) -> None:
        if self.recognizer is not None:
            self.recognizer.close()


def write_annotated(target: Path, path: Path, rgb, result) -> None:
    """The photo as `Recognition.draw` annotates it (hand box, skeleton, label), as a JPEG."""
    import cv2

    from signlens.io import atomic_write

    bgr = result.draw(rgb[..., ::-1], bgr=True)
    ok, encoded = cv2.imencode(".jpg", bgr)
    if not ok:
        raise SignlensError(f"cannot encode the annotated copy of {path}")
    data = encoded.tobytes()
    atomic_write(target, lambda tmp: tmp.write_bytes(data))


class progress_bar:  # noqa: N801 - used as a context manager, like rich's own
    """A bar on stderr over the photos when a person watches (never with --json); else nothing."""

    def __init__(self, show: bool, total: int):
        self.show, self.total, self.bar = show, total, None

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("photos"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.bar = Progress(*columns, console=stderr_console(), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("photos", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
