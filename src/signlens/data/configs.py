"""The data blocks of a training config: image augmentation and landmark features, plain dataclasses.

They live apart from the code that uses them (data.augment, data.landmarks: torch), so that the CLI's
flags, `--help` and the YAML checks (engine.config) load without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from signlens.errors import SignlensError


@dataclass
class AugmentConfig:
    enabled: bool = True
    rotation: float = 10.0  # degrees, uniform in [-r, r]
    scale: float = 0.10  # zoom factor uniform in [1 - s, 1 + s]
    translate: float = 0.10  # fraction of the image size
    shear: float = 0.0  # degrees
    brightness: float = 0.20  # additive, fraction of the full range
    contrast: float = 0.20  # multiplicative around the image mean
    color: float = 0.0  # per-channel gain in [1 - c, 1 + c]: skin tone and white balance differ by signer
    hflip: float = 0.0  # probability
    gray: float = 0.0  # probability of an image turned gray (its luminance in every channel): gray photos


@dataclass
class LandmarkConfig:
    """Training-config block for landmark data: which features (data.landmarks.LandmarkFeatures.of), and
    how to augment the points (LandmarkAugment.of)."""

    points: str = "world"
    rotation_free: bool = False
    form: str = "vector"  # "vector" for landmark-mlp; "mask" for a CNN over the drawn skeleton
    mask_size: int = 32
    augment: bool = True
    rotation: float = 15.0
    scale: float = 0.15
    finger_jitter: float = 0.04
    noise: float = 0.01
    mirror: float = 0.0
    bone_scale: float = 0.0

    def check(self) -> None:
        if self.form not in ("vector", "mask"):
            raise SignlensError(f"landmark form must be vector or mask, got {self.form!r}")
