"""Research verbs: `study` (sweeps, ablations and seeds with Optuna)."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli.app import app, console
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
    specs = [s for s in specs if not part or s.name in part]
    root = out or Path("runs") / "studies" / config.stem
    if root.exists() and not root.is_dir():
        raise SignlensError(f"--out {root} exists and is not a directory")

    def log(line: str) -> None:
        if not quiet:
            console.print(line, highlight=False, markup=False, soft_wrap=True)

    for spec in specs:
        out_dir = root / spec.name if len(specs) > 1 else root
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
