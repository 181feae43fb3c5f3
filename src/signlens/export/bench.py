"""Measure a model the way a deployer needs: latency percentiles, throughput, size, MACs, memory.

Each (format, batch size) cell runs on a pre-allocated float32 input (pre-processing excluded):
warm-up first (at least `warmup_s` seconds and 20 calls), then calls are timed one by one with
`time.perf_counter_ns` until both `min_time_s` seconds and `min_iters` calls are reached, so p99
rests on at least a few hundred samples. images/s = images processed / total timed seconds.
"""

from __future__ import annotations

import gc
import io
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signlens.errors import SignlensError

CPU_FORMATS = ("torch", "torchscript", "onnx", "onnx-int8")
DEFAULT_FORMATS = ("torch", "onnx", "onnx-int8")


# ---------------------------------------------------------------- model size and cost


def count_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def count_macs(model, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates per image of every Conv and Linear layer, counted with forward hooks
    (batch norm, activations, pooling and additions are not MACs and are left out)."""
    import torch
    from torch import nn

    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        kernel = int(np.prod(module.kernel_size))
        total += output.numel() // output.shape[0] * (module.in_channels // module.groups) * kernel

    def linear_hook(module, inputs, output):
        nonlocal total
        total += output.numel() // output.shape[0] * module.in_features

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        with torch.inference_mode():
            model(torch.zeros(*input_shape))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return int(total)


# ---------------------------------------------------------------- memory (Linux /proc)


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


# ---------------------------------------------------------------- timing


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


# ---------------------------------------------------------------- runners


@dataclass
class Runner:
    """One format ready to run: `make_step(batch)` returns a zero-argument call on a fixed input."""

    name: str
    device: str
    precision: str
    make_step: Callable[[int], Callable[[], Any]]
    file_bytes: int | None
    accuracy_model: Any = None  # an object with .logits(uint8 images), for optional accuracy
    notes: list[str] = field(default_factory=list)


def torch_runner(
    model, shape, name="torch", device="cpu", dtype="fp32", file_bytes=None, accuracy_model=None
) -> Runner:
    import torch

    dev = torch.device(device)
    torch_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    model = model.to(dev, torch_dtype).eval()
    cuda = dev.type == "cuda"

    def make_step(batch: int):
        x = torch.randn(batch, *shape, device=dev, dtype=torch_dtype)

        def step():
            with torch.inference_mode():
                y = model(x)
            if cuda:
                torch.cuda.synchronize()
            return y

        return step

    return Runner(name, device, dtype, make_step, file_bytes, accuracy_model)


def onnx_runner(path: Path, threads: int, name: str, device: str = "cpu") -> Runner:
    """ONNX Runtime with IO binding: input and output live in pre-allocated numpy buffers, so a call is
    just the graph run (no per-call allocation or name lookup)."""
    import onnxruntime as ort

    from signlens.engine.predictor import OnnxClassifier

    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise SignlensError("onnxruntime here has no CUDAExecutionProvider (install onnxruntime-gpu)")
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    clf = OnnxClassifier(path, threads=threads, providers=providers)
    session = clf.session
    shape = (clf.in_chans, clf.img_size, clf.img_size)

    def make_step(batch: int):
        x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
        y = np.empty((batch, clf.num_classes), np.float32)
        binding = session.io_binding()
        if device == "cuda":
            binding.bind_cpu_input(clf.input_name, x)
            binding.bind_output(clf.output_name, "cpu")
        else:
            binding.bind_input(clf.input_name, "cpu", 0, np.float32, x.shape, x.ctypes.data)
            binding.bind_output(clf.output_name, "cpu", 0, np.float32, y.shape, y.ctypes.data)

        def step():
            session.run_with_iobinding(binding)
            return x, y  # keep the buffers alive with the binding

        return step

    precision = clf.meta.get("precision", "fp32")
    return Runner(name, device, precision, make_step, path.stat().st_size, clf)


# ---------------------------------------------------------------- the benchmark


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


def _state_dict_bytes(model) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def build_runners(
    weights: Path, formats: list[str], device: str, threads: int, workdir: Path, data: str | None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[list[Runner], dict[str, Any], Any]:  # fmt: skip
    """Runners for the asked formats, model facts (params, MACs), and the checkpoint classifier."""
    import torch

    from signlens.engine.predictor import Classifier, OnnxClassifier, load_classifier
    from signlens.export import metadata as md
    from signlens.export.exporter import (
        base_metadata,
        pick,
        rewrite_onnx_metadata,
        sample_data,
        torch_to_onnx,
    )

    is_onnx = weights.suffix.lower() == ".onnx"
    clf = load_classifier(weights, threads=threads)
    shape = (clf.in_chans, clf.img_size, clf.img_size)
    runners: list[Runner] = []
    if is_onnx:
        bad = [f for f in formats if f in ("torch", "torchscript")]
        if bad:
            raise SignlensError(f"{weights} is an ONNX export: format(s) {bad} need the checkpoint (.pt)")
        facts = {
            "params": clf.meta.get("params"),
            "macs": clf.meta.get("macs"),
            "model": clf.meta.get("model"),
        }
        fp32_path = weights if clf.meta.get("precision", "fp32") == "fp32" else None
    elif isinstance(clf, Classifier):
        model = clf.model
        meta = base_metadata(clf, weights, model)
        facts = {"params": meta["params"], "macs": meta["macs"], "model": meta["model"]}
        fp32_path = None
        if any(f.startswith("onnx") for f in formats):
            fp32_path = torch_to_onnx(
                model, clf.in_chans, clf.img_size, workdir / "fp32.onnx", md.encode(meta)
            )
    else:
        raise SignlensError(f"benchmark takes a checkpoint (.pt) or an ONNX export (.onnx), got {weights}")

    for fmt in formats:
        if fmt == "torch":
            if device == "cuda":
                dtypes = ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])
                for dtype in dtypes:
                    m = Classifier.from_checkpoint(weights).model
                    runners.append(
                        torch_runner(m, shape, f"torch-{dtype}", "cuda", dtype, _state_dict_bytes(m))
                    )
            else:
                runners.append(
                    torch_runner(clf.model, shape, "torch", "cpu", "fp32", _state_dict_bytes(clf.model), clf)
                )
        elif fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(clf.model.eval(), torch.zeros(1, *shape))
                frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
                buffer = io.BytesIO()
                torch.jit.save(traced, buffer)
            runners.append(torch_runner(frozen, shape, "torchscript", device, "fp32", len(buffer.getvalue())))
        elif fmt == "onnx":
            if fp32_path is None:  # the given .onnx is already int8
                runners.append(onnx_runner(weights, threads, "onnx-int8", device))
            else:
                runners.append(onnx_runner(fp32_path, threads, "onnx", device))
        elif fmt == "onnx-int8":
            if is_onnx and fp32_path is None:
                if "onnx" not in formats:
                    runners.append(onnx_runner(weights, threads, "onnx-int8", device))
                continue
            from signlens.export.quantize import quantize_int8

            log("calibrating int8 ...")
            calib_set, _, note = sample_data(data, clf, need=True)
            if calib_set is None:
                raise SignlensError(f"no training images to calibrate int8 on ({note})")
            ref = OnnxClassifier(fp32_path)
            int8_path = workdir / "int8.onnx"
            settings = quantize_int8(
                fp32_path, int8_path, ref.prepare(calib_set.images[pick(len(calib_set), 512, seed=1)])
            )
            meta = dict(ref.meta, precision="int8", quantization=settings)
            rewrite_onnx_metadata(int8_path, md.encode(meta))
            runners.append(onnx_runner(int8_path, threads, "onnx-int8", device))
        else:
            raise SignlensError(f"unknown format {fmt!r}; choose from {', '.join(CPU_FORMATS)}")
    return runners, facts, clf


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
            from signlens.export.exporter import sample_data

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
                base = rss_mib()
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                reset_peak_rss()
                times = time_calls(step, min_time_s=min_time_s)
                peak = peak_rss_mib()
                row = {"format": runner.name, "device": runner.device, "precision": runner.precision,
                       "batch": batch, **summarise(times, batch), "file_bytes": runner.file_bytes,
                       "peak_rss_mib": None if peak is None else round(peak, 1),
                       "peak_rss_delta_mib": None if peak is None or base is None else round(peak - base, 2)}  # fmt: skip
                if device == "cuda":
                    row["cuda_peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 2)
                results.append(row)
                del step
            if test is not None and runner.accuracy_model is not None:
                from signlens.export.exporter import accuracy, labels_for

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


# ---------------------------------------------------------------- presentation


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
        caption="p50/p95/p99: latency of one call (one batch); mem: peak RSS (CUDA: allocated) above the RSS before the cell; acc: test accuracy",
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
