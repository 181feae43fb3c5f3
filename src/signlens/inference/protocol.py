"""The one interface every loaded model offers, whatever its file and whatever it reads.

`kind` says what `logits` takes: "image" models take uint8 images (N, H, W[, C]) at any size,
"landmarks" models canonical hand points (N, 21 or 42, 3) (see `signlens.data.landmarks`). Callers
pass a data set's samples (`ImageSet.images` holds either) and read class names, logits and calibrated
probabilities the same way for both; a hand-sign reader (`signlens.pipeline`) uses `kind` once to
decide whether a photo is read whole or through its hand's landmarks.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Classifier(Protocol):
    kind: str  # "image" | "landmarks": what logits() reads
    backend: str  # "torch", "onnx", "onnx-int8", "torchscript"
    source: str  # the file it came from
    class_names: list[str]
    img_size: int | None  # image models' input size and channels; None for landmark models
    in_chans: int | None
    temperature: float  # calibration temperature (1.0 when none was fitted)
    views: tuple[str, ...]  # photo readings it was built for: "photo", and "mirrored" (a second read)
    train_config: dict[str, Any]  # the training config, when known
    meta: dict[str, Any]

    @property
    def num_classes(self) -> int: ...

    def logits(self, inputs, batch_size: int = 1024) -> np.ndarray: ...

    def calibrated(self, logits: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, inputs, batch_size: int = 1024) -> np.ndarray: ...

    def describe(self) -> str: ...


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def normalised(uint8_nchw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """uint8 NCHW images -> the float32 input every image export takes: (value / 255 - mean) / std, with
    `mean` and `std` float32 shaped (1, C, 1, 1)."""
    return (uint8_nchw.astype(np.float32) / np.float32(255.0) - mean) / std
