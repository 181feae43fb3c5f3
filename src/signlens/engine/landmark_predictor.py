"""Inference for landmark models: canonical hand points in, class probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from signlens.data.landmarks import LandmarkConfig, landmark_features
from signlens.engine.checkpoint import build_model_from_checkpoint, load_checkpoint


class LandmarkClassifier:
    """A landmark-mlp checkpoint with its feature settings and (when fitted) its calibration temperature."""

    kind = "landmarks"

    def __init__(self, model: torch.nn.Module, class_names, config: LandmarkConfig, temperature: float = 1.0):
        self.model = model.eval()
        self.class_names = list(class_names)
        self.config = config
        self.features = config.features()
        self.temperature = float(temperature)

    @classmethod
    def from_checkpoint(cls, path: str | Path | dict) -> LandmarkClassifier:
        payload = path if isinstance(path, dict) else load_checkpoint(path)
        config = LandmarkConfig(**payload["preprocess"]["landmarks"])
        temperature = payload.get("calibration", {}).get("temperature", 1.0)
        return cls(build_model_from_checkpoint(payload), payload["class_names"], config, temperature)

    def points(self, hands_points: np.ndarray) -> torch.Tensor:
        views = 2 if self.config.points == "both" else 1
        return torch.as_tensor(np.asarray(hands_points, dtype=np.float32).reshape(-1, 21 * views, 3))

    @torch.inference_mode()
    def logits(
        self, canonical_points: np.ndarray, mirror_tta: bool = False, batch_size: int = 4096
    ) -> np.ndarray:
        """canonical_points: (N, 21, 3) mirrored to MediaPipe's "Right" chirality (see canonical_points);
        `mirror_tta` averages the logits with those of the mirrored hand (for mirror-trained models)."""
        x = self.points(canonical_points)
        if len(x) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        views = [x, x * torch.tensor([-1.0, 1.0, 1.0])] if mirror_tta else [x]
        total = 0
        for view in views:
            total = total + torch.cat(
                [
                    self.model(landmark_features(view[i : i + batch_size], self.features))
                    for i in range(0, len(view), batch_size)
                ]
            )
        return (total / len(views)).numpy()

    def predict_proba(self, canonical_points: np.ndarray, mirror_tta: bool = False) -> np.ndarray:
        """Calibrated probabilities: softmax of the (test-time-augmented) logits over the fitted temperature."""
        return _softmax(self.logits(canonical_points, mirror_tta) / self.temperature)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
