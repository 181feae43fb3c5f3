"""Inference layer: load any trained model (checkpoint, ONNX, TorchScript; image or landmark model,
single or ensemble; a recogniser graph) and run it behind one interface, `Classifier`.

The names below load on first use, so the runtime (a recogniser graph in ONNX Runtime) imports no
torch: only a checkpoint or TorchScript model brings it in.
"""

from importlib import import_module

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


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'signlens.inference' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
