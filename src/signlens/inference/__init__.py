"""Inference layer: load any trained model (checkpoint, ONNX, TorchScript; image or landmark model,
single or ensemble) and run it behind one interface, `Classifier`."""

from signlens.inference.images import OnnxClassifier, TorchClassifier, TorchScriptClassifier
from signlens.inference.landmarks import LandmarkClassifier
from signlens.inference.load import load_classifier
from signlens.inference.protocol import Classifier, softmax

__all__ = [
    "Classifier",
    "LandmarkClassifier",
    "OnnxClassifier",
    "TorchClassifier",
    "TorchScriptClassifier",
    "load_classifier",
    "softmax",
]
