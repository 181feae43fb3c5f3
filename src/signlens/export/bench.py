"""Measure a model the way a deployer needs: latency percentiles, throughput, size, MACs, memory.

Each (format, batch size) cell runs on a pre-allocated float32 input (pre-processing excluded):
warm-up first (at least `warmup_s` seconds and 20 calls), then calls are timed one by one with
`time.perf_counter_ns` until both `min_time_s` seconds and `min_iters` calls are reached, so p99
rests on at least a few hundred samples. images/s = images processed / total timed seconds. Memory is
the peak RSS during the timed calls (unknown, None, where the peak mark cannot be reset); on CUDA,
torch's allocator peak for torch formats only.
"""

from __future__ import annotations

import gc
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from signlens.errors import SignlensError
from signlens.export.exporter import accuracy, labels_for, sample_data
from signlens.export.memory import measure_peak
from signlens.export.runners import DEFAULT_FORMATS, build_runners
from signlens.export.tables import human_bytes, human_count, human_time, results_table
from signlens.export.timing import summarise, time_calls

__all__ = [
    "human_bytes",
    "human_count",
    "human_time",
    "results_table",
    "run_benchmark",
    "summarise",
    "time_calls",
]


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def versions() -> dict[str, str]:
    import onnxruntime as ort
    import torch

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
    }


def run_benchmark(
    weights: str | Path,
    formats: list[str] | None = None,
    batch_sizes: list[int] | None = None,
    threads: int = 2,
    device: str = "cpu",
    data: str | None = None,
    with_accuracy: bool = False,
    min_time_s: float = 1.0,
    log: Callable[[str], None] = lambda _: None,
    cooldown_s: float = 0.5,
) -> dict[str, Any]:
    """Benchmark `weights` (checkpoint or ONNX) in each format and batch size; returns the JSON record.

    Cells run one after another with `cooldown_s` of idle time before each, so one runtime's spinning
    worker threads do not steal the next one's cores."""
    import torch

    weights = Path(weights)
    formats = list(formats or DEFAULT_FORMATS)
    batch_sizes = list(batch_sizes or [1, 32, 256])
    if any(b < 1 for b in batch_sizes):
        raise SignlensError(f"batch sizes must be positive, got {batch_sizes}")
    if device not in ("cpu", "cuda"):
        raise SignlensError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise SignlensError("--device cuda asked for, but no CUDA device is available")
    if threads < 1:
        raise SignlensError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    results = []
    with tempfile.TemporaryDirectory(prefix="signlens-bench-") as tmp:
        gc.collect()
        runners, facts, clf = build_runners(weights, formats, device, threads, Path(tmp), data, log)
        test = None
        if with_accuracy:
            _, test, note = sample_data(data, clf, need=True)
            if test is None:
                raise SignlensError(f"no test split to score accuracy on ({note})")
        for runner in runners:
            for batch in batch_sizes:
                log(f"{runner.name} batch {batch} ...")
                step = runner.make_step(batch)
                gc.collect()
                # Let the previous cell's worker threads (OpenMP, ORT) stop spinning before timing.
                time.sleep(cooldown_s)
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                times, peak, delta = measure_peak(lambda step=step: time_calls(step, min_time_s=min_time_s))
                row = {"format": runner.name, "device": runner.device, "precision": runner.precision,
                       "batch": batch, **summarise(times, batch), "file_bytes": runner.file_bytes,
                       "peak_rss_mib": peak, "peak_rss_delta_mib": delta}  # fmt: skip
                if device == "cuda":
                    # torch's allocator sees only torch's memory: ONNX Runtime's CUDA arena is not in it.
                    row["cuda_peak_mib"] = (
                        round(torch.cuda.max_memory_allocated() / 2**20, 2)
                        if runner.torch_allocator
                        else None
                    )
                results.append(row)
                del step
            if test is not None and runner.accuracy_model is not None:
                acc = accuracy(runner.accuracy_model.logits(test.images), labels_for(clf, test))
                for row in results:
                    if row["format"] == runner.name:
                        row["accuracy"] = acc
    return {
        "weights": str(weights),
        "model": facts.get("model"),
        "params": facts.get("params"),
        "macs": facts.get("macs"),
        "input": [clf.in_chans, clf.img_size, clf.img_size],
        "threads": threads,
        "device": device,
        "machine": machine_info(),
        "load_avg_before": None if load_before is None else [round(v, 2) for v in load_before],
        "load_avg_after": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": versions(),
        "method": (
            f"pre-allocated float32 input (pre-processing excluded); warm-up >= 0.2 s, then >= {min_time_s} s "
            "and >= 300 calls timed one by one with perf_counter_ns; ONNX Runtime through IO binding, "
            f"sequential execution, 1 inter-op thread, intra-op threads = threads; {cooldown_s} s idle before each cell"
        ),
        "results": results,
    }
