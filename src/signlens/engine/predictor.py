"""One inference interface over a trained model: uint8 images in, class probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from signlens.data.tensors import to_model_tensor
from signlens.engine.checkpoint import build_model_from_checkpoint, load_checkpoint


class Classifier:
    """Holds a model with its pre-processing (input size, channels, normalisation) and class names."""

    def __init__(self, model: torch.nn.Module, class_names, img_size, in_chans, mean, std, source: str = ""):
        self.model = model.eval()
        self.class_names = list(class_names)
        self.img_size, self.in_chans = int(img_size), int(in_chans)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.source = source

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> Classifier:
        payload = load_checkpoint(path)
        pre = payload["preprocess"]
        model = build_model_from_checkpoint(payload)
        return cls(
            model,
            payload["class_names"],
            pre["img_size"],
            pre["in_chans"],
            pre["mean"],
            pre["std"],
            str(path),
        )

    def normalise(self, x_uint8: torch.Tensor) -> torch.Tensor:
        return (x_uint8.float() / 255.0 - self.mean) / self.std

    @torch.inference_mode()
    def logits(self, images: np.ndarray | torch.Tensor, batch_size: int = 1024) -> np.ndarray:
        """images: uint8 (N, H, W, C) at any size or channel count; returns float32 (N, classes)."""
        x = to_model_tensor(images, self.img_size, self.in_chans)
        out = [self.model(self.normalise(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        return torch.cat(out).float().numpy() if out else np.zeros((0, len(self.class_names)), np.float32)

    def predict_proba(self, images, batch_size: int = 1024) -> np.ndarray:
        return softmax(self.logits(images, batch_size))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def load_classifier(path: str | Path) -> Classifier:
    return Classifier.from_checkpoint(path)
