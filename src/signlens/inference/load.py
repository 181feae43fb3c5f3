"""Any model file -> the one `Classifier` interface (see `signlens.inference.protocol`)."""

from __future__ import annotations

from pathlib import Path

from signlens.engine.checkpoint import load_checkpoint
from signlens.inference.images import OnnxClassifier, TorchClassifier, TorchScriptClassifier
from signlens.inference.landmarks import LandmarkClassifier
from signlens.inference.protocol import Classifier


def load_classifier(path: str | Path, threads: int | None = None, payload: dict | None = None) -> Classifier:
    """A checkpoint (.pt: an image or landmark model, an ensemble), an ONNX export (.onnx, fp32 or int8)
    or a TorchScript export (.torchscript). `threads` sets ONNX Runtime's intra-op threads (None: its
    default); torch uses its global setting. `payload`: the checkpoint at `path` already loaded."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        return OnnxClassifier(path, threads=threads)
    if suffix == ".torchscript":
        return TorchScriptClassifier(path)
    payload = payload if payload is not None else load_checkpoint(path)  # the one schema check
    if payload["preprocess"].get("kind") == "landmarks":
        return LandmarkClassifier.from_checkpoint(path, payload)
    return TorchClassifier.from_checkpoint(path, payload)
