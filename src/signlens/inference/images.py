"""Image classifiers on three backends: uint8 images in, class logits and probabilities out.

A signlens checkpoint (`.pt`, run by torch), an ONNX export (`.onnx`, fp32 or int8, run by ONNX
Runtime) or a TorchScript export (`.torchscript`) share the pre-processing and batching below and
differ only in `forward(float32 NCHW) -> logits`. `signlens.inference.load_classifier` picks one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from signlens.data.tensors import to_model_tensor
from signlens.engine.checkpoint import build_model_from_checkpoint, load_checkpoint
from signlens.errors import SignlensError
from signlens.inference.graph import graph_session
from signlens.inference.metadata import decode, temperature
from signlens.inference.protocol import normalised, softmax


class ImageClassifier:
    """Shared pre-processing and batching; backends implement `forward(float32 NCHW) -> logits`."""

    kind = "image"
    backend = "base"
    views = ("photo",)  # read the photo as it is

    def __init__(self, class_names, img_size, in_chans, mean, std, source: str = "", config=None, meta=None):
        self.class_names = list(class_names)
        self.img_size, self.in_chans = int(img_size), int(in_chans)
        self.mean_values = [float(v) for v in mean]
        self.std_values = [float(v) for v in std]
        self._mean_np = np.asarray(self.mean_values, np.float32).reshape(1, -1, 1, 1)
        self._std_np = np.asarray(self.std_values, np.float32).reshape(1, -1, 1, 1)
        self.source = source
        self.train_config: dict[str, Any] = dict(config or {})  # the training config, when known
        self.meta: dict[str, Any] = dict(meta or {})
        # Fitted on validation when the run finished (evaluation.calibration); exports carry it too.
        self.temperature = temperature(self.meta, source)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_uint8_nchw(self, images) -> np.ndarray:
        """(N, H, W[, C]) uint8 at any size/channels -> (N, in_chans, img_size, img_size) uint8."""
        x = np.asarray(images) if not hasattr(images, "numpy") else images.numpy()
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise SignlensError(f"expected images shaped (N, H, W[, C]), got {tuple(x.shape)}")
        if x.shape[1:] == (self.img_size, self.img_size, self.in_chans) and x.dtype == np.uint8:
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        x = x if x.flags.writeable else x.copy()  # torch wants writable memory
        return to_model_tensor(x, self.img_size, self.in_chans).numpy()

    def prepare(self, images) -> np.ndarray:
        """uint8 images -> the normalised float32 NCHW array every export takes as input."""
        return normalised(self.to_uint8_nchw(images), self._mean_np, self._std_np)

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits(self, images, batch_size: int = 1024) -> np.ndarray:
        """images: uint8 (N, H, W, C) at any size or channel count; returns float32 (N, classes)."""
        n = len(images)
        if n == 0:
            return np.zeros((0, self.num_classes), np.float32)
        out = [self.forward(self.prepare(images[i : i + batch_size])) for i in range(0, n, batch_size)]
        return np.concatenate(out).astype(np.float32, copy=False)

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits / self.temperature)

    def predict_proba(self, images, batch_size: int = 1024) -> np.ndarray:
        return self.calibrated(self.logits(images, batch_size))

    def describe(self) -> str:
        return (
            f"{self.source} ({self.backend}, {self.num_classes} classes, {self.in_chans}x{self.img_size}px)"
        )


class TorchClassifier(ImageClassifier):
    """A PyTorch model (from a checkpoint) with its pre-processing and class names."""

    backend = "torch"

    def __init__(
        self, model, class_names, img_size, in_chans, mean, std, source: str = "", config=None, meta=None
    ):
        import torch

        super().__init__(class_names, img_size, in_chans, mean, std, source, config, meta)
        self.model = model.eval()
        self.mean = torch.tensor(self.mean_values, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(self.std_values, dtype=torch.float32).view(1, -1, 1, 1)

    @classmethod
    def from_checkpoint(cls, path: str | Path, payload: dict | None = None) -> TorchClassifier:
        """A checkpoint file (or its already loaded and validated `payload`)."""
        payload = payload if payload is not None else load_checkpoint(path)
        pre = payload["preprocess"]
        if pre.get("kind") == "landmarks":
            raise SignlensError(f"{path}: a landmark model (it reads hand points, not images)")
        model = build_model_from_checkpoint(payload)
        meta = {
            "model": payload["model"],
            "epoch": payload.get("epoch"),
            "calibration": payload.get("calibration"),
        }
        classifier = cls(
            model,
            payload["class_names"],
            pre["img_size"],
            pre["in_chans"],
            pre["mean"],
            pre["std"],
            str(path),
            config=payload.get("config", {}),
            meta=meta,
        )
        return classifier

    def normalise(self, x_uint8):
        return (x_uint8.float() / 255.0 - self.mean) / self.std

    def forward(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(x)).float().numpy()

    def logits(self, images, batch_size: int = 1024) -> np.ndarray:
        import torch

        if isinstance(images, np.ndarray) and not images.flags.writeable:
            images = images.copy()  # torch wants writable memory
        x = to_model_tensor(images, self.img_size, self.in_chans)
        with torch.inference_mode():
            out = [self.model(self.normalise(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        return torch.cat(out).float().numpy() if out else np.zeros((0, self.num_classes), np.float32)


class OnnxClassifier(ImageClassifier):
    """An exported ONNX model (fp32 or int8) run by ONNX Runtime; pre-processing from its metadata."""

    backend = "onnx"

    def __init__(self, path: str | Path, threads: int | None = None, providers: list[str] | None = None):
        path = Path(path)
        if not path.is_file():
            raise SignlensError(f"ONNX model not found: {path}")
        self.session = graph_session(path, threads, providers)
        meta = decode(self.session.get_modelmeta().custom_metadata_map, str(path))
        super().__init__(
            meta["class_names"], meta["img_size"], meta["in_chans"], meta["mean"], meta["std"],
            str(path), meta.get("config", {}), meta,
        )  # fmt: skip
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        if meta.get("precision", "fp32") != "fp32":
            self.backend = f"onnx-{meta['precision']}"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(x, np.float32)})[0]


class TorchScriptClassifier(ImageClassifier):
    """A TorchScript export; its metadata travels as the extra file `signlens.json`."""

    backend = "torchscript"

    def __init__(self, path: str | Path):
        import warnings

        import torch

        path = Path(path)
        if not path.is_file():
            raise SignlensError(f"TorchScript model not found: {path}")
        extra = {"signlens.json": ""}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.model = torch.jit.load(str(path), map_location="cpu", _extra_files=extra).eval()
        except Exception as exc:  # torch raises RuntimeError/ValueError variants for non-archives
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise SignlensError(f"{path} is not a loadable TorchScript model ({first[:200]})") from None
        try:
            props = json.loads(extra["signlens.json"] or "{}")
        except ValueError:
            props = {}
        meta = decode(props, str(path))
        super().__init__(
            meta["class_names"], meta["img_size"], meta["in_chans"], meta["mean"], meta["std"],
            str(path), meta.get("config", {}), meta,
        )  # fmt: skip

    def forward(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(x)).float().numpy()
