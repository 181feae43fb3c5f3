"""Inference layer: load any trained model (checkpoint, ONNX, TorchScript; image or landmark model,
single or ensemble) and run it behind one interface, `Classifier`."""

from signlens.inference.images import OnnxClassifier, TorchClassifier, TorchScriptClassifier
from signlens.inference.landmarks import LandmarkClassifier
from signlens.inference.load import (
    EXPORT_SUFFIXES,
    export_suffix,
    is_export,
    load_classifier,
    model_format,
    single_torch_thread,
)
from signlens.inference.protocol import Classifier, softmax

__all__ = [
    "EXPORT_SUFFIXES",
    "Classifier",
    "LandmarkClassifier",
    "OnnxClassifier",
    "TorchClassifier",
    "TorchScriptClassifier",
    "export_suffix",
    "is_export",
    "load_classifier",
    "model_format",
    "single_torch_thread",
    "softmax",
]
