"""The timing harness: warm-up, then calls timed one by one, then percentiles and throughput."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def time_calls(
    step: Callable[[], Any], warmup_s: float = 0.2, min_time_s: float = 1.0, min_iters: int = 300,
    max_iters: int = 200_000,
) -> np.ndarray:  # fmt: skip
    """Per-call wall times in nanoseconds after warm-up: at least `min_iters` calls and `min_time_s`
    seconds, unless the calls are so slow that max(20 x `min_time_s`, 2 s) pass first (then at least 30)."""
    clock = time.perf_counter_ns
    end = clock() + int(warmup_s * 1e9)
    n = 0
    while n < 20 or clock() < end:
        step()
        n += 1
    times = np.empty(max_iters, np.int64)
    budget = int(min_time_s * 1e9)
    cap = max(20 * budget, int(2e9))  # a very slow cell (a loaded machine, a big model) stops at >= 30 calls
    spent, i = 0, 0
    while i < max_iters and (i < min_iters or spent < budget) and (i < 30 or spent < cap):
        t0 = clock()
        step()
        dt = clock() - t0
        times[i] = dt
        spent += dt
        i += 1
    return times[:i]


def summarise(times_ns: np.ndarray, batch: int) -> dict[str, float]:
    p50, p95, p99 = np.percentile(times_ns, [50, 95, 99]) / 1e3
    return {
        "p50_us": round(float(p50), 2),
        "p95_us": round(float(p95), 2),
        "p99_us": round(float(p99), 2),
        "mean_us": round(float(times_ns.mean() / 1e3), 2),
        "images_per_s": round(float(batch * len(times_ns) / (times_ns.sum() / 1e9)), 1),
        "iterations": int(len(times_ns)),
    }
