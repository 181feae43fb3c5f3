"""Study verbs: cross-validation (`cv`) and the leakage audit (`audit`)."""

from __future__ import annotations

from pathlib import Path

import typer

from signlens.cli import options as o
from signlens.cli.app import app, console, prepare_out_dir, quote
from signlens.cli.training import TrainingFlags, training_command
from signlens.errors import SignlensError, check_range


@training_command(app)
def cv(
    flags: TrainingFlags,
    folds: int = typer.Option(5, "--folds", help="Number of folds (2 or more)."),
    group_by: str = typer.Option(
        "none",
        "--group-by",
        help="none (stratified by class) | take (hand + view + class) | signer (hand1..hand5: "
        "leave-signers-out) | duplicates (clusters of near-duplicate images, e.g. Sign MNIST's variants).",
    ),
    group_pattern: str = typer.Option(
        None,
        "--group-pattern",
        help="Regex on file names whose first capture group names the group [signer: (hand\\d+)].",
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory [default: runs/cv, runs/cv2, ...]."),
    exist_ok: o.ExistOk = False,
    quiet: o.Quiet = False,
):
    """Cross-validate a recipe: one run directory per fold, then OUT/cv.json, cv.md and a pooled confusion matrix."""
    import re

    from signlens.evaluation.cv import GROUP_BY, run_cv

    check_range("--folds", folds, 2, 1000)
    if group_by not in GROUP_BY:
        raise SignlensError(f"--group-by must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
    if group_pattern is not None:
        try:
            re.compile(group_pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise SignlensError(
                f"--group-pattern {group_pattern!r} is not a valid regular expression: {exc}"
            ) from None
    cfg = flags.build()
    out_dir = prepare_out_dir(out, exist_ok, "cv", stale=())

    def report(record: dict) -> None:
        for line in record.get("init", []):
            console.print(quote(line))
        console.print(
            f"fold {record['fold']}/{folds}: accuracy {100 * record['accuracy']:.2f}%  macro F1 "
            f"{record['macro_f1']:.4f}  test {record['num_test']}  {record['fold_seconds']:.0f}s"
        )

    result = run_cv(cfg, out_dir, folds, group_by, group_pattern, progress=not quiet, on_fold=report)
    m, s = result["mean"], result["std"]
    console.print(
        f"[bold]{quote(out_dir)}[/bold]  {cfg.model}, {folds} folds, group by {group_by}: accuracy "
        f"{100 * m['accuracy']:.2f} +- {100 * s['accuracy']:.2f}%  macro F1 {m['macro_f1']:.4f} +- "
        f"{s['macro_f1']:.4f}  {m['fold_seconds']:.0f}s per fold"
    )


@app.command()
def audit(
    data: str = typer.Option(..., "--data", "-d", help="Named data set or path, as for train."),
    threshold: int = typer.Option(
        16, "--threshold", help="Near-duplicate: dHash distance at most this many of 256 bits."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Output directory [default: runs/audit, runs/audit2, ...]."
    ),
    exist_ok: bool = typer.Option(False, "--exist-ok", help="Reuse a non-empty --out."),
):
    """Leakage audit: near-duplicate images across the train/val/test splits that `train` would draw."""
    from signlens.evaluation.audit import run_audit

    if not 0 <= threshold < 256:
        raise SignlensError(f"--threshold must lie in 0..255, got {threshold}")
    out_dir = prepare_out_dir(out, exist_ok, "audit", stale=())
    result = run_audit(data, out_dir, threshold)
    console.print(
        f"[bold]{quote(out_dir)}[/bold]  {quote(result['data'])}: {result['sizes']}  ({quote(result['split'])})"
    )
    sections = [("splits train uses", result["pairs"])]
    if "per_image_random_split" in result:
        sections.append(("per-image random split, for comparison", result["per_image_random_split"]))
    for title, pairs in sections:
        console.print(title + ":")
        for name, counts in pairs.items():
            later = name.split("-")[1]
            near = counts[f"{later}_images_with_a_near_duplicate_in_{name.split('-')[0]}"]
            console.print(
                f"  {name}: {counts['pairs']:,} pairs <= {threshold} bits "
                f"({counts['pairs_with_the_same_label']:,} with the same label); {near:,} of "
                f"{counts[f'{later}_images']:,} {later} images have one (median nearest distance "
                f"{counts['median_nearest_distance']:.0f} bits)",
                highlight=False,
            )
