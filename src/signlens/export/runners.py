"""What each benchmark row runs: one format of one model, ready to be called on a fixed input."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signlens.errors import SignlensError
from signlens.export.exporter import (
    base_metadata,
    export_model,
    pick,
    rewrite_onnx_metadata,
    sample_data,
    torch_to_onnx,
)
from signlens.export.quantize import quantize_int8
from signlens.inference import (
    OnnxClassifier,
    TorchClassifier,
    TorchScriptClassifier,
    load_classifier,
    model_format,
)
from signlens.inference import metadata as md

CPU_FORMATS = ("torch", "torchscript", "onnx", "onnx-int8")
DEFAULT_FORMATS = ("torch", "onnx", "onnx-int8")


@dataclass
class Runner:
    """One format ready to run: `make_step(batch)` returns a zero-argument call on a fixed input."""

    name: str
    device: str
    precision: str
    make_step: Callable[[int], Callable[[], Any]]
    file_bytes: int | None  # the size of the file this format is deployed as (torch: its state dict)
    accuracy_model: Any = None  # an object with .logits(uint8 images), for optional accuracy
    torch_allocator: bool = False  # on CUDA, torch's allocator holds its memory (ONNX Runtime's does not)
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

    return Runner(name, device, dtype, make_step, file_bytes, accuracy_model, torch_allocator=True)


def onnx_runner(path: Path, threads: int, name: str, device: str = "cpu") -> Runner:
    """ONNX Runtime with IO binding: input and output live in pre-allocated numpy buffers, so a call is
    just the graph run (no per-call allocation or name lookup)."""
    import onnxruntime as ort

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


def _state_dict_bytes(model) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


def build_runners(
    weights: Path, formats: list[str], device: str, threads: int, workdir: Path, data: str | None,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[list[Runner], dict[str, Any], Any]:  # fmt: skip
    """Runners for the asked formats, model facts (params, MACs), and the loaded model. Each exported
    format is written by the exporter's own functions, so a row times and sizes the file `export`
    writes."""
    import torch

    is_onnx = model_format(weights) == "onnx"
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
    elif model_format(weights) == "checkpoint" and clf.kind == "image":
        model = clf.model
        meta = base_metadata(clf, weights, model)
        facts = {"params": meta["params"], "macs": meta["macs"], "model": meta["model"]}
        fp32_path = None
        if any(f.startswith("onnx") for f in formats):
            fp32_path = torch_to_onnx(
                model, clf.in_chans, clf.img_size, workdir / "fp32.onnx", md.encode(meta)
            )
    else:
        raise SignlensError(
            f"benchmark takes an image classifier checkpoint (.pt) or ONNX export (.onnx), got {weights}"
        )

    for fmt in formats:
        if fmt == "torch":
            if device == "cuda":
                dtypes = ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])
                for dtype in dtypes:
                    m = TorchClassifier.from_checkpoint(weights).model
                    runners.append(
                        torch_runner(m, shape, f"torch-{dtype}", "cuda", dtype, _state_dict_bytes(m))
                    )
            else:
                runners.append(
                    torch_runner(clf.model, shape, "torch", "cpu", "fp32", _state_dict_bytes(clf.model), clf)
                )
        elif fmt == "torchscript":
            log("exporting torchscript ...")
            path = workdir / "model.torchscript"  # exactly what `signlens export --format torchscript` writes
            export_model(weights, "torchscript", path, calib_data=data)
            scripted = TorchScriptClassifier(path)
            runners.append(
                torch_runner(
                    scripted.model, shape, "torchscript", device, "fp32", path.stat().st_size, scripted
                )
            )
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
