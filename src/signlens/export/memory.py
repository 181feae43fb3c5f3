"""Peak memory of a measured stretch of code, from Linux /proc, or None where it cannot be known."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _status_mib(field_name: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def rss_mib() -> float | None:
    return _status_mib("VmRSS")


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading is the peak of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float | None:
    return _status_mib("VmHWM")


def measure_peak(run: Callable[[], Any]) -> tuple[Any, float | None, float | None]:
    """(run's result, peak RSS MiB during run, peak minus the RSS before it). Both figures are None
    (unknown) when the peak mark cannot be reset: the mark would then be the process's lifetime peak,
    which says nothing about `run`."""
    base = rss_mib()
    reset = reset_peak_rss()
    result = run()
    peak = peak_rss_mib() if reset else None
    delta = None if peak is None or base is None else round(peak - base, 2)
    return result, None if peak is None else round(peak, 1), delta
