"""Turn stored samples into model inputs, for training (augmented) and evaluation (not).

The trainer holds one adapter and never asks which data kind it has: the adapter stores a sample set
(`prepare`), says what shape the model must take (`model_shape`), normalises (`fit`), builds batches
(`train_batch`, `eval_batch`) and describes its preprocessing for the checkpoint (`preprocess`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from signlens.data.augment import BatchAugment
from signlens.data.configs import AugmentConfig, LandmarkConfig
from signlens.data.landmarks import LandmarkAugment, LandmarkFeatures, landmark_features
from signlens.data.tensors import channel_stats, to_model_tensor
from signlens.data.types import ImageSet


@dataclass
class Stored:
    """One split as the trainer keeps it: uint8 NCHW images or float32 canonical points, and labels."""

    x: torch.Tensor
    y: torch.Tensor


def samples_kind(samples: ImageSet) -> str:
    """Landmark samples are canonical points (N, 21|42, 3); images are (N, H, W, C)."""
    return "landmarks" if samples.images.ndim == 3 else "image"


class ImageInputs:
    """uint8 NCHW images -> float, batch-augmented in [0, 1], then normalised by training statistics."""

    kind = "image"
    channels_last_ok = True  # NHWC weights suit convolutions over images

    def __init__(
        self, img_size: int | None, in_chans: int | None, augment: AugmentConfig, device: torch.device
    ):
        self.img_size, self.in_chans = img_size, in_chans
        self.augment = BatchAugment(augment)
        self.device = device
        self.mean: list[float] = []
        self.std: list[float] = []

    def prepare(self, samples: ImageSet) -> Stored:
        # The first set prepared (the training set) fixes the size and channels when not configured.
        self.img_size = self.img_size or samples.images.shape[1]
        self.in_chans = self.in_chans or samples.images.shape[3]
        x = to_model_tensor(samples.images, self.img_size, self.in_chans)
        return Stored(x, torch.as_tensor(samples.labels))

    def fit(self, train: Stored, fixed: tuple[list[float], list[float]] | None = None) -> None:
        """Normalise by `fixed` statistics (ImageNet weights expect ImageNet's) or the training set's."""
        self.mean, self.std = fixed if fixed is not None else channel_stats(train.x)
        self._mean = torch.tensor(self.mean, device=self.device).view(1, -1, 1, 1)
        self._std = torch.tensor(self.std, device=self.device).view(1, -1, 1, 1)

    def model_shape(self) -> dict:
        return {"in_chans": self.in_chans, "img_size": self.img_size}

    def preprocess(self) -> dict:
        return {
            "img_size": self.img_size, "in_chans": self.in_chans, "mean": self.mean, "std": self.std,
            "kind": self.kind, "landmarks": {},
        }  # fmt: skip

    def _to_unit(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, non_blocking=True).float().div_(255.0)

    def train_batch(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return (self.augment(self._to_unit(x), generator) - self._mean) / self._std

    def eval_batch(self, x: torch.Tensor) -> torch.Tensor:
        return (self._to_unit(x) - self._mean) / self._std


class LandmarkInputs:
    """Stored canonical points -> (augmented) feature vectors or skeleton masks. The landmark models
    standardise their features themselves, so there are no statistics to fit."""

    kind = "landmarks"
    channels_last_ok = False

    def __init__(self, config: LandmarkConfig, device: torch.device):
        self.config = config
        self.spec, self.augment, self.device = LandmarkFeatures.of(config), LandmarkAugment.of(config), device
        self.mean: list[float] = []
        self.std: list[float] = []

    def prepare(self, samples: ImageSet) -> Stored:
        x = torch.as_tensor(samples.images, dtype=torch.float32)
        return Stored(x, torch.as_tensor(samples.labels))

    def fit(self, train: Stored, fixed: tuple[list[float], list[float]] | None = None) -> None:
        pass

    def model_shape(self) -> dict:
        if self.spec.form == "mask":
            return {"in_chans": self.spec.mask_channels, "img_size": self.spec.mask_size}
        return {"in_features": self.spec.dim}

    def preprocess(self) -> dict:
        return {
            "img_size": None, "in_chans": None, "mean": [], "std": [], "kind": self.kind,
            "landmarks": dataclasses.asdict(self.config),
        }  # fmt: skip

    def train_batch(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.augment is not None:
            x = self.augment(x, generator)
        return landmark_features(x, self.spec).to(self.device)

    def eval_batch(self, x: torch.Tensor) -> torch.Tensor:
        return landmark_features(x, self.spec).to(self.device)


def input_adapter(
    kind: str,
    img_size: int | None,
    in_chans: int | None,
    augment: AugmentConfig,
    landmarks: LandmarkConfig,
    device: torch.device,
) -> ImageInputs | LandmarkInputs:
    """The adapter for a data kind: the one place that tells images and landmarks apart."""
    if kind == "landmarks":
        return LandmarkInputs(landmarks, device)
    return ImageInputs(img_size, in_chans, augment, device)
