"""Benchmark records as people read them: sizes, times and counts in units, and one Rich table."""

from __future__ import annotations

from typing import Any


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1024:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


def human_time(us: float) -> str:
    if us < 1000:
        return f"{us:.1f} µs"
    ms = us / 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def human_count(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k"


def results_table(record: dict[str, Any], name: str):
    """A Rich table of one `run_benchmark` record."""
    from rich import box
    from rich.table import Table

    model = record["model"] or {}
    table = Table(
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
        title=(
            f"{name}  {model.get('name', '?')}  {record['params'] or 0:,} params  "
            f"{human_count(record['macs'])} MACs/image  {record['threads']} thread(s)  {record['device']}"
        ),
        caption=(
            "p50/p95/p99: latency of one call (one batch); mem: peak RSS above the RSS before the cell "
            "(CUDA: torch's allocator peak, torch formats only; '-': unknown); acc: test accuracy"
        ),
    )
    has_acc = any("accuracy" in r for r in record["results"])
    columns = ["format", "batch", "p50", "p95", "p99", "img/s", "size", "mem"]
    for column in columns + (["acc"] if has_acc else []):
        table.add_column(column, justify="left" if column == "format" else "right", no_wrap=True)
    for r in record["results"]:
        delta = r.get("cuda_peak_mib", r["peak_rss_delta_mib"])
        cells = [
            r["format"] + ("" if r["device"] == "cpu" else f" ({r['device']})"),
            str(r["batch"]),
            *(human_time(r[k]) for k in ("p50_us", "p95_us", "p99_us")),
            f"{r['images_per_s']:,.0f}",
            human_bytes(r["file_bytes"]),
            "-" if delta is None else f"{delta:.1f} MiB",
        ]
        if has_acc:
            cells.append(f"{100 * r['accuracy']:.2f}%" if "accuracy" in r else "-")
        table.add_row(*cells)
    return table
