"""`signlens report`: one self-contained HTML page (images inlined) and its Markdown twin for a run,
a cross-validation or a study directory. Tables come from the directory's own files (metrics.json,
cv.json, study.json); the analysis sections from the model they name (see study.analysis).
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

from signlens.errors import SignlensError
from signlens.io import atomic_write, write_text

SECTIONS = [
    ("comparison", "Comparison"), ("curves", "Training curves"), ("confusion", "Confusion matrix"),
    ("pairs", "Most confused pairs"), ("errors", "Error gallery (top-3)"), ("gradcam", "Grad-CAM"),
    ("calibration", "Reliability and calibration"), ("latency", "Latency"),
]  # fmt: skip


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SignlensError(f"{path}: cannot read ({exc})") from None


def _pm(mean: float | None, std: float | None) -> str:
    return "-" if mean is None else f"{100 * mean:.2f} +- {100 * (std or 0):.2f}%"


def describe(target: Path) -> dict:
    """What kind of directory this is, its comparison table, and the run (and fold) to analyse."""
    try:
        return _describe(target)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        # A hand-edited or truncated study.json / cv.json / metrics.json: one line naming the folder.
        raise SignlensError(
            f"{target}: its records (study.json, cv.json or metrics.json) are damaged: "
            f"{exc.__class__.__name__}: {exc}"
        ) from None


def _describe(target: Path) -> dict:
    if (target / "study.json").is_file():
        study = _load(target / "study.json")
        if not study.get("rows"):
            raise SignlensError(f"{target}: the study has no complete trial yet")
        keys = [k for k in study["rows"][0] if k not in _ROW_FIELDS]
        header = [*keys, "seeds", "test (mean +- std)", "selection (mean +- std)", "s/run"]
        rows = [[*(str(r.get(k)) for k in keys), str(r["seeds"]), _pm(r.get("test_mean"), r.get("test_std")),
                 _pm(r.get("objective_mean"), r.get("objective_std")), f"{r['seconds_per_run']:.0f}"]
                for r in study["rows"]]  # fmt: skip
        best = target / study["rows"][0]["run_dirs"][0]
        title = f"Study {study['name']}: {len(rows)} configurations, wall {study['wall_seconds']:.0f} s"
        inner = _describe(best)  # the best configuration's first seed: a run or a cross-validation
        return {"kind": "study", "title": title, "header": header, "rows": rows} | {
            k: inner[k] for k in ("run", "cv", "fold", "curves", "confusion", "test_accuracy")
        }
    if (target / "cv.json").is_file():
        cv = _load(target / "cv.json")
        header = ["fold", "held out", "test", "accuracy", "macro F1", "seconds"]
        rows = [[str(f["fold"]), ", ".join(f["held_out_groups"]) if isinstance(f["held_out_groups"], list)
                 else str(f["held_out_groups"]), str(f["num_test"]), f"{100 * f['accuracy']:.2f}%",
                 f"{f['macro_f1']:.4f}", f"{f['fold_seconds']:.0f}"] for f in cv["folds"]]  # fmt: skip
        rows.append(["mean +- std", "", "", _pm(cv["mean"]["accuracy"], cv["std"]["accuracy"]),
                     f"{cv['mean']['macro_f1']:.4f} +- {cv['std']['macro_f1']:.4f}", ""])  # fmt: skip
        title = f"{cv['model']} on {cv['data']}: {cv['num_folds']}-fold CV, group by {cv['group_by']}"
        return {"kind": "cv", "title": title, "header": header, "rows": rows, "run": target / "fold1",
                "cv": cv, "fold": 1, "curves": target / "fold1" / "curves.png",
                "confusion": target / "confusion_matrix.png", "test_accuracy": cv["folds"][0]["accuracy"]}  # fmt: skip
    if (target / "metrics.json").is_file() and (target / "best.pt").is_file():
        metrics = _load(target / "metrics.json")
        test = metrics["test"]
        header = ["split", "images", "accuracy", "macro F1", "epochs (best)", "train seconds"]
        rows = [[test.get("split", "test"), str(test["num_samples"]), f"{100 * test['accuracy']:.2f}%",
                 f"{test['macro_f1']:.4f}", f"{metrics['epochs_run']} ({metrics['best_epoch']})",
                 f"{metrics['train_seconds']:.1f}"]]  # fmt: skip
        return {"kind": "run", "title": f"Run {target.name}", "header": header, "rows": rows, "run": target,
                "cv": None, "fold": None, "curves": target / "curves.png",
                "confusion": target / "confusion_matrix.png", "test_accuracy": test["accuracy"]}  # fmt: skip
    raise SignlensError(
        f"{target}: not a run (metrics.json + best.pt), cross-validation (cv.json) or study (study.json) directory"
    )


_ROW_FIELDS = {"seeds", "test_mean", "test_std", "val_mean", "val_std", "objective_mean", "objective_std",
               "seconds_per_run", "seed_list", "trials", "run_dirs", "fold_std"}  # fmt: skip


def _table_html(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_md(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def build_report(target: Path, out: Path) -> dict:
    """Write OUT (HTML) and OUT with .md (plus OUT_files/ for the Markdown's images); returns a summary."""
    from signlens.study.analysis import analyse

    start = time.perf_counter()
    info = describe(target)
    analysis = analyse(info["run"], info["cv"], info["fold"])
    figures = dict(analysis["figures"])
    for name in ("curves", "confusion"):
        if info[name].is_file():
            figures[name] = info[name].read_bytes()
    m, cal = analysis["metrics"], analysis.get("calibration")
    note = f"Model analysed: {info['run']}" + (
        f" (fold {info['fold']}'s held-out signers or images)" if info["fold"] else ""
    )
    note += f"; its test accuracy {100 * m['accuracy']:.2f}% ({m['num_correct']}/{m['num_samples']})."
    blocks: dict[str, list] = {key: [] for key, _ in SECTIONS}
    blocks["comparison"] = [("table", info["header"], info["rows"]), ("text", note)]
    blocks["curves"] = [("figure", "curves")]
    blocks["confusion"] = [("figure", "confusion")]
    pair_rows = [
        [p["true"], p["predicted"], str(p["count"]), f"{100 * p['share_of_true']:.1f}%"]
        for p in analysis["pairs"]
    ]
    blocks["pairs"] = [
        ("table", ["true", "read as", "images", "share of true"], pair_rows),
        ("figure", "pairs"),
    ]
    blocks["errors"] = [
        ("text", f"{m['num_samples'] - m['num_correct']} errors; the most confident first."),
        ("figure", "errors"),
    ]
    blocks["gradcam"] = [
        ("text", "Grad-CAM on the last convolution, evenly spaced test images (true -> predicted)."),
        ("figure", "gradcam"),
    ]
    if cal:
        rows = [
            [
                f"{cal['temperature']:.4f}",
                f"{cal['ece_before']:.4f}",
                f"{cal['ece_after']:.4f}",
                cal["fitted_on"],
            ]
        ]
        blocks["calibration"] = [
            ("table", ["temperature", "ECE before", "ECE after", "fitted on"], rows),
            ("figure", "reliability"),
        ]
    else:
        blocks["calibration"] = [("text", "No validation split to fit a temperature on.")]
    lat = [
        [str(r["batch"]), f"{r['ms_per_batch']:.3f}", f"{r['images_per_s']:.0f}", str(r["repeats"])]
        for r in analysis["latency"]
    ]
    blocks["latency"] = [("table", ["batch", "ms per batch (median)", "images/s", "repeats"], lat),
                         ("text", "PyTorch on this machine's CPU, in process; `signlens benchmark` for exports.")]  # fmt: skip
    files = out.with_name(out.stem + "_files")
    html_parts, md_parts = [], [f"# {info['title']}", ""]
    for key, title in SECTIONS:
        html_parts.append(f'<section id="{key}"><h2>{html.escape(title)}</h2>')
        md_parts += [f"## {title}", ""]
        for block in blocks[key]:
            if block[0] == "table":
                html_parts.append(_table_html(block[1], block[2]))
                md_parts += [_table_md(block[1], block[2]), ""]
            elif block[0] == "text":
                html_parts.append(f"<p>{html.escape(block[1])}</p>")
                md_parts += [block[1], ""]
            elif block[1] in figures:
                data = base64.b64encode(figures[block[1]]).decode()
                html_parts.append(f'<img alt="{block[1]}" src="data:image/png;base64,{data}">')
                atomic_write(files / f"{block[1]}.png", lambda tmp, b=figures[block[1]]: tmp.write_bytes(b))
                md_parts += [f"![{block[1]}]({files.name}/{block[1]}.png)", ""]
        html_parts.append("</section>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(info["title"]) + "</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}table{border-collapse:"
        "collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}"
        "</style></head><body><h1>"
        + html.escape(info["title"])
        + "</h1>"
        + "".join(html_parts)
        + "</body></html>"
    )
    write_text(out, page)
    write_text(out.with_suffix(".md"), "\n".join(md_parts))
    seconds = round(time.perf_counter() - start, 2)
    return {"html": str(out), "bytes": out.stat().st_size, "seconds": seconds, "kind": info["kind"],
            "accuracy": m["accuracy"], "calibration": cal, "latency": analysis["latency"]}  # fmt: skip
