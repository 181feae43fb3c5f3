"""Deployment verbs: export (ONNX / TorchScript, int8) and benchmark (latency, throughput, size)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from signlens.cli import options as o
from signlens.cli.app import app, console, quote
from signlens.errors import SignlensError

FORMATS = ("onnx", "torchscript")
BENCH_FORMATS = ("torch", "torchscript", "onnx", "onnx-int8")
CALIBRATION = ("minmax", "percentile", "entropy")


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SignlensError(f"{option} expects comma-separated integers, got {text!r}") from None
    if not values or any(not 1 <= v <= 65536 for v in values):
        raise SignlensError(f"{option} expects integers in 1..65536, got {text!r}")
    return values


@app.command()
def export(
    weights: Path = typer.Option(..., "--weights", "-w", help="Checkpoint (best.pt) to export."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx | torchscript."),
    int8: bool = typer.Option(
        False,
        "--int8",
        help="ONNX only: int8 by ONNX Runtime static quantisation (QDQ), calibrated on training images.",
    ),
    calib_data: str = typer.Option(
        None,
        "--calib-data",
        help="Data (name or path) for calibration, the parity check and accuracy [default: the model's training data]; for a landmark recogniser, a landmark file (.npz) for the parity check.",
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Output file [default: beside the checkpoint: best.onnx, best.int8.onnx, best.torchscript].",
    ),
    parity_samples: int = typer.Option(512, "--parity-samples", help="Test images for the parity check."),
    calib_samples: int = typer.Option(512, "--calib-samples", help="Training images for int8 calibration."),
    calib_method: str = typer.Option("minmax", "--calib-method", help="minmax | percentile | entropy."),
    as_json: bool = typer.Option(False, "--json", help="Print the export report as JSON."),
):
    """Export a checkpoint with its pre-processing and class names; check parity; optionally int8."""
    from signlens.export.bench import human_bytes, human_count
    from signlens.export.exporter import export_model

    if parity_samples < 1 or calib_samples < 1:
        raise SignlensError("--parity-samples and --calib-samples must be at least 1")
    if fmt not in FORMATS:
        raise SignlensError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if calib_method not in CALIBRATION:
        raise SignlensError(f"--calib-method must be one of {', '.join(CALIBRATION)}, got {calib_method!r}")
    if int8 and fmt != "onnx":
        raise SignlensError("--int8 needs --format onnx")
    o.output_file("--out", out)
    from signlens.export import recognizer_graph as rg

    if rg.is_landmark_checkpoint(weights):  # a recogniser: one graph from landmarks to probabilities
        report = rg.export_recognizer(weights, out, calib_data, parity_samples, fmt=fmt, int8=int8)
        if as_json:
            print(json.dumps(report, indent=2))
        for line in [] if as_json else rg.summary(report):
            console.print(line)
        if not report["parity"]["passed"]:
            raise typer.Exit(1)
        return
    report = export_model(
        weights, fmt, out, int8=int8, calib_data=calib_data, parity_samples=parity_samples,
        calib_samples=calib_samples, calib_method=calib_method,
    )  # fmt: skip
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        p = report["parity"]
        console.print(
            f"[bold]{report['out']}[/bold]  {report['format']} {report['precision']}  "
            f"{human_bytes(report['bytes'])}  {report['params']:,} params  {human_count(report['macs'])} MACs"
        )
        if "parity_fp32" in report:
            q = report["parity_fp32"]
            console.print(
                f"parity fp32 vs torch on {q['samples']} images: max |logit diff| {q['max_abs_logit_diff']:.2e}, "
                f"top-1 agreement {100 * q['top1_agreement']:.2f}% -> {'ok' if q['passed'] else 'FAILED'}"
            )
        verdict = "" if "passed" not in p else (" -> ok" if p["passed"] else " -> FAILED")
        console.print(
            f"parity {report['precision']} vs torch on {p['samples']} images ({report['parity_data']}): "
            f"max |logit diff| {p['max_abs_logit_diff']:.2e}, top-1 agreement {100 * p['top1_agreement']:.2f}%{verdict}"
        )
        if "accuracy" in report:
            a = report["accuracy"]
            console.print(
                f"accuracy on {a['split']} ({a['samples']:,} images): torch {100 * a['torch_fp32']:.2f}%  "
                f"onnx fp32 {100 * a['onnx_fp32']:.2f}%  onnx int8 {100 * a['onnx_int8']:.2f}%  "
                f"(drop {a['drop_points']:+.2f} pt)"
            )
        console.print(f"report: {report['out']}.json")
    failed = [k for k in ("parity", "parity_fp32") if not report.get(k, {}).get("passed", True)]
    if failed:
        raise typer.Exit(1)


@app.command()
def benchmark(
    weights: Path = typer.Option(..., "--weights", "-w", help="Checkpoint (.pt) or ONNX export (.onnx)."),
    formats: str = typer.Option(
        "torch,onnx,onnx-int8", "--formats", help="Comma-separated: torch, torchscript, onnx, onnx-int8."
    ),
    batch_sizes: str = typer.Option("1,32,256", "--batch-sizes", help="Comma-separated batch sizes."),
    threads: int = typer.Option(2, "--threads", help="CPU threads for torch and ONNX Runtime (intra-op)."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda (cuda: torch fp32, fp16 and bf16)."),
    data: str = typer.Option(
        None, "--data", help="Data for int8 calibration and --accuracy [default: the model's training data]."
    ),
    accuracy: bool = typer.Option(False, "--accuracy", help="Also score each format on the test split."),
    min_time: float = typer.Option(
        1.0, "--min-time", help="Seconds of timed calls per cell (at least 300 calls)."
    ),
    cooldown: float = typer.Option(
        0.5,
        "--cooldown",
        help="Idle seconds before each cell, so the last cell's worker threads stop spinning.",
    ),
    json_out: Path = typer.Option(None, "--json-out", help="Also write the full results to this JSON file."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the full results as JSON instead of the table (as val and export do)."
    ),
):
    """Latency (p50/p95/p99), images/s, params, MACs, file size and peak memory per format and batch."""
    from signlens.export.bench import results_table, run_benchmark
    from signlens.io import write_json

    fmt_list = [f.strip() for f in formats.split(",") if f.strip()]
    if not fmt_list:
        raise SignlensError("--formats is empty")
    unknown = [f for f in fmt_list if f not in BENCH_FORMATS]
    if unknown:
        raise SignlensError(f"--formats: unknown {unknown}; choose from {', '.join(BENCH_FORMATS)}")
    o.check("--min-time", min_time, 0, 600, low_open=True)
    o.check("--cooldown", cooldown, 0, 600)
    o.check("--threads", threads, 1, 1024)
    if device not in ("cpu", "cuda"):
        raise SignlensError(f"--device must be cpu or cuda, got {device!r}")
    o.output_file("--json-out", json_out)
    log = (lambda msg: None) if as_json else (lambda msg: console.print(f"[dim]{quote(msg)}[/dim]"))
    record = run_benchmark(
        weights, fmt_list, _int_list(batch_sizes, "--batch-sizes"), threads, device, data, accuracy,
        min_time, log=log, cooldown_s=max(0.0, cooldown),
    )  # fmt: skip
    if json_out:
        write_json(json_out, record)
    if as_json:
        print(json.dumps(record, indent=2))
        return
    console.print(results_table(record, quote(weights)))
    load = record["load_avg_before"]
    if load:
        console.print(f"load average before: {load[0]:.2f} (1 min) on {record['machine']['cores']} cores")
    if json_out:
        console.print(f"wrote {quote(json_out)}")
