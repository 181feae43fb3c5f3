"""Research verbs: `study` (sweeps, ablations and seeds with Optuna)."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli.app import app, console
from signlens.cli.options import output_file
from signlens.errors import SignlensError


@app.command()
def study(
    config: Path = typer.Option(..., "--config", "-c", help="Study file (studies/NAME.yaml)."),
    storage: str = typer.Option(
        None,
        "--storage",
        help="Where trials are kept [default: sqlite:///OUT/PART/study.db]; postgresql://USER:PW@HOST/DB "
        "lets any number of workers on any machines share the study.",
    ),
    n_trials: int = typer.Option(
        None,
        "--n-trials",
        help="Run at most this many trials in this process, then stop [default: until done].",
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Study directory [default: runs/studies/NAME]."),
    part: list[str] = typer.Option(
        [], "--part", help="Only these parts of a study file with several (repeatable) [default: all]."
    ),
    heartbeat: int = typer.Option(
        30,
        "--heartbeat",
        help="Seconds between a running trial's heartbeats; 3x without one marks it failed.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-trial lines."),
):
    """Run (or continue) a study: every trial a run directory; OUT/PART/results.csv, results.md, best.yaml."""
    from signlens.study import load_study_file, run_study

    if n_trials is not None and n_trials < 1:
        raise SignlensError(f"--n-trials must be at least 1, got {n_trials}")
    if heartbeat < 1:
        raise SignlensError(f"--heartbeat must be at least 1 second, got {heartbeat}")
    specs = load_study_file(config)
    names = [s.name for s in specs]
    unknown = sorted(set(part) - set(names))
    if unknown:
        raise SignlensError(f"--part {unknown[0]!r} is not in {config}; its parts: {', '.join(names)}")
    several = len(specs) > 1  # a file with parts keeps each in its own folder, whichever run now
    specs = [s for s in specs if not part or s.name in part]
    root = out or Path("runs") / "studies" / config.stem
    if root.exists() and not root.is_dir():
        raise SignlensError(f"--out {root} exists and is not a directory")

    def log(line: str) -> None:
        if not quiet:
            console.print(line, highlight=False, markup=False, soft_wrap=True)

    for spec in specs:
        out_dir = root / spec.name if several else root
        summary = run_study(spec, out_dir, storage, n_trials, heartbeat, log)
        counts = ", ".join(f"{v} {k}" for k, v in summary["counts"].items() if v)
        console.print(
            f"[bold]{out_dir}[/bold]  {spec.name}: {counts}; ran {summary['ran_here']} here", soft_wrap=True
        )
        if summary.get("best") is not None:
            row = summary["rows"][0]
            console.print(
                f"best {summary['best']}: {spec.protocol.select} {100 * row['objective_mean']:.2f} +- "
                f"{100 * row['objective_std']:.2f}%  test {100 * row['test_mean']:.2f} +- {100 * row['test_std']:.2f}% "
                f"({row['seeds']} seeds)",
                highlight=False,
                soft_wrap=True,
            )


@app.command()
def explain(
    images: list[str] = typer.Argument(None, help="Photos or folders of photos to explain."),
    weights: Path = typer.Option(..., "--weights", "-w", help="An image model's checkpoint (best.pt)."),
    data: str = typer.Option(
        None, "--data", "-d", help="Explain a split of this data set instead of photos."
    ),
    split: str = typer.Option("test", "--split", help="With --data: test | val | all."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory [default: runs/explain, ...]."),
    limit: int = typer.Option(200, "--limit", help="At most this many images (spread evenly over a split)."),
    exist_ok: bool = typer.Option(False, "--exist-ok", help="Reuse a non-empty --out."),
):
    """Grad-CAM: OUT/overlays/*.png per image, OUT/class_means.png (mean map per class), OUT/explain.json."""
    from signlens.cli.app import expand_images, prepare_out_dir
    from signlens.evaluation.explain import run_explain

    if images and data:
        raise SignlensError("give photos or --data, not both")
    if split not in ("test", "val", "all"):
        raise SignlensError(f"--split must be test, val or all, got {split!r}")
    if limit < 1:
        raise SignlensError(f"--limit must be at least 1, got {limit}")
    files = expand_images(images) if images else []
    out_dir = prepare_out_dir(out, exist_ok, "explain", stale=())
    summary = run_explain(weights, files, data, split, out_dir, limit)
    correct = [r for r in summary["images"] if r["label"] is not None and r["label"] == r["predicted"]]
    labelled = [r for r in summary["images"] if r["label"] is not None]
    note = f"; {len(correct)}/{len(labelled)} predicted right" if labelled else ""
    console.print(
        f"[bold]{out_dir}[/bold]  {'Landmark attributions' if 'class_parts' in summary else 'Grad-CAM'} "
        f"for {len(summary['images'])} images{note}",
        soft_wrap=True,
    )


@app.command()
def report(
    target: Path = typer.Argument(..., help="A run, cross-validation (cv) or study directory."),
    out: Path = typer.Option(
        None, "--out", "-o", help="HTML file [default: TARGET/report.html]; a .md twin beside it."
    ),
):
    """One self-contained HTML page (and Markdown twin): comparison, curves, confusion, confused pairs,
    errors with top-3, Grad-CAM, reliability with ECE before/after temperature scaling, latency."""
    from signlens.study.report import build_report

    if not target.is_dir():
        raise SignlensError(f"not a directory: {target}")
    out = out or target / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise SignlensError(f"--out must name an .html file, got {out}")
    output_file("--out", out)  # before the analysis: an impossible --out fails at once
    summary = build_report(target, out)
    cal = summary["calibration"]
    extra = (
        f"  ECE {cal['ece_before']:.4f} -> {cal['ece_after']:.4f} (T={cal['temperature']:.3f})" if cal else ""
    )
    console.print(
        f"[bold]{out}[/bold]  {summary['kind']} report, {summary['bytes'] / 1e6:.2f} MB in {summary['seconds']:.1f}s; "
        f"analysed model's test accuracy {100 * summary['accuracy']:.2f}%{extra}",
        soft_wrap=True,
    )
