"""Inference layer: load any trained model (checkpoint, ONNX, TorchScript; image or landmark model,
single or ensemble; a recogniser graph) and run it behind one interface, `Classifier`.

The names below load on first use, so the runtime (a recogniser graph in ONNX Runtime) imports no
torch: only a checkpoint or TorchScript model brings it in.
"""

from signlens.io import lazy_exports

# Public name -> the module that defines it.
_LAZY = {
    "OnnxClassifier": "signlens.inference.images",
    "TorchClassifier": "signlens.inference.images",
    "TorchScriptClassifier": "signlens.inference.images",
    "LandmarkClassifier": "signlens.inference.landmarks",
    "LandmarkGraph": "signlens.inference.graph",
    "EXPORT_SUFFIXES": "signlens.inference.load",
    "export_suffix": "signlens.inference.load",
    "is_export": "signlens.inference.load",
    "load_classifier": "signlens.inference.load",
    "model_format": "signlens.inference.load",
    "single_torch_thread": "signlens.inference.torch_threads",
    "Classifier": "signlens.inference.protocol",
    "softmax": "signlens.inference.protocol",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
