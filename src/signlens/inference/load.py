"""Any model file -> the one `Classifier` interface (see `signlens.inference.protocol`)."""

from __future__ import annotations

from pathlib import Path

from signlens.engine.checkpoint import load_checkpoint
from signlens.inference.images import OnnxClassifier, TorchClassifier, TorchScriptClassifier
from signlens.inference.landmarks import LandmarkClassifier
from signlens.inference.protocol import Classifier

# The one table of model files by suffix: an export carries its metadata and no checkpoint; any other
# file is a signlens checkpoint (best.pt, or whatever name torch.save was given).
EXPORT_SUFFIXES = {".onnx": "onnx", ".torchscript": "torchscript"}
CHECKPOINT = "checkpoint"


def model_format(path: str | Path) -> str:
    """How the file at `path` loads: "onnx", "torchscript" or "checkpoint", by its suffix."""
    return EXPORT_SUFFIXES.get(Path(path).suffix.lower(), CHECKPOINT)


def is_export(path: str | Path) -> bool:
    return model_format(path) != CHECKPOINT


def export_suffix(fmt: str) -> str:
    """The suffix an export in format `fmt` ("onnx", "torchscript") is written with."""
    return {name: suffix for suffix, name in EXPORT_SUFFIXES.items()}[fmt]


def load_classifier(path: str | Path, threads: int | None = None, payload: dict | None = None) -> Classifier:
    """A checkpoint (.pt: an image or landmark model, an ensemble), an ONNX export (.onnx, fp32 or int8)
    or a TorchScript export (.torchscript). `threads` sets ONNX Runtime's intra-op threads (None: its
    default); torch uses its global setting. `payload`: the checkpoint at `path` already loaded."""
    fmt = model_format(path)
    if fmt == "onnx":
        return OnnxClassifier(path, threads=threads)
    if fmt == "torchscript":
        return TorchScriptClassifier(path)
    payload = payload if payload is not None else load_checkpoint(path)  # the one schema check
    if payload["preprocess"].get("kind") == "landmarks":
        return LandmarkClassifier.from_checkpoint(path, payload)
    return TorchClassifier.from_checkpoint(path, payload)


def single_torch_thread() -> None:
    """For a program that classifies one hand at a time while MediaPipe runs beside it (predict, live,
    the server): one hand is far too small a tensor to split across threads, so a second intra-op
    thread only spins against MediaPipe's; parallelism comes from several readers instead. torch's
    setting is the whole process's, so only those entry points call this, never a library load."""
    import torch

    torch.set_num_threads(1)
