"""Any model file -> the one `Classifier` interface (see `signlens.inference.protocol`)."""

from __future__ import annotations

from pathlib import Path

from signlens.engine.checkpoint import load_checkpoint
from signlens.inference.graph import LandmarkGraph, graph_session, is_recognizer_graph
from signlens.inference.images import OnnxClassifier, TorchClassifier, TorchScriptClassifier
from signlens.inference.landmarks import LandmarkClassifier
from signlens.inference.protocol import Classifier
from signlens.inference.torch_threads import apply_torch_threads

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
    default); torch uses its global setting. `payload`: the checkpoint at `path` already loaded. An
    ONNX recogniser graph (export.recognizer_graph) loads as a LandmarkGraph. (This module imports
    torch; the runtime's bundled recogniser loads through inference.graph alone.)"""
    fmt = model_format(path)
    if fmt == "onnx":
        if Path(path).is_file():
            session = graph_session(path, threads or 1)
            if is_recognizer_graph(session):
                return LandmarkGraph(path, session=session)
        return OnnxClassifier(path, threads=threads)
    apply_torch_threads()  # the program's choice (torch_threads), now that torch is in
    if fmt == "torchscript":
        return TorchScriptClassifier(path)
    payload = payload if payload is not None else load_checkpoint(path)  # the one schema check
    if payload["preprocess"].get("kind") == "landmarks":
        return LandmarkClassifier.from_checkpoint(path, payload)
    return TorchClassifier.from_checkpoint(path, payload)
