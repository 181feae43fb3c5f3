"""Any model file -> the one `Classifier` interface (see `signlens.inference.protocol`)."""

from __future__ import annotations

import sys
from pathlib import Path

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
    default); torch uses its global setting. `payload`: the checkpoint at `path` already loaded. An
    ONNX recogniser graph (export.recognizer_graph) loads as a LandmarkGraph; only a checkpoint or
    TorchScript file imports torch."""
    fmt = model_format(path)
    if fmt == "onnx":
        from signlens.inference.graph import LandmarkGraph, graph_session, is_recognizer_graph
        from signlens.inference.images import OnnxClassifier

        if Path(path).is_file():
            session = graph_session(path, threads or 1)
            if is_recognizer_graph(session):
                return LandmarkGraph(path, session=session)
        return OnnxClassifier(path, threads=threads)
    from signlens.engine.checkpoint import load_checkpoint
    from signlens.inference.images import TorchClassifier, TorchScriptClassifier
    from signlens.inference.landmarks import LandmarkClassifier

    _apply_torch_threads()
    if fmt == "torchscript":
        return TorchScriptClassifier(path)
    payload = payload if payload is not None else load_checkpoint(path)  # the one schema check
    if payload["preprocess"].get("kind") == "landmarks":
        return LandmarkClassifier.from_checkpoint(path, payload)
    return TorchClassifier.from_checkpoint(path, payload)


_single_torch_thread = False  # a program's entry point asked for it (single_torch_thread)


def single_torch_thread() -> None:
    """For a program that classifies one hand at a time while MediaPipe runs beside it (predict, live,
    the server): one hand is far too small a tensor to split across threads, so a second intra-op
    thread only spins against MediaPipe's; parallelism comes from several readers instead. torch's
    setting is the whole process's, so only those entry points call this, never a library load. A
    program that runs no torch model never imports torch for it: the setting is applied when a torch
    model loads (load_classifier), or now if torch is already in."""
    global _single_torch_thread
    _single_torch_thread = True
    if "torch" in sys.modules:
        _apply_torch_threads()


def _apply_torch_threads() -> None:
    if _single_torch_thread:
        import torch

        torch.set_num_threads(1)
