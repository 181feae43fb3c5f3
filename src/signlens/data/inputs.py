"""Turn stored samples into model inputs, for training (augmented) and evaluation (not).

The trainer only calls `train_batch` and `eval_batch`; each data kind (images now, hand landmarks
later) brings its own storage format, augmentation and normalisation.
"""

from __future__ import annotations

import torch

from signlens.data.augment import AugmentConfig, BatchAugment


class ImageInputs:
    """uint8 NCHW images -> float, batch-augmented in [0, 1], then normalised by training statistics."""

    kind = "image"

    def __init__(self, mean: list[float], std: list[float], augment: AugmentConfig, device: torch.device):
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.augment = BatchAugment(augment)
        self.device = device

    def _to_unit(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True).float().div_(255.0)

    def train_batch(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return (self.augment(self._to_unit(x), generator) - self.mean) / self.std

    def eval_batch(self, x: torch.Tensor) -> torch.Tensor:
        return (self._to_unit(x) - self.mean) / self.std
