"""How a `Recognizer` is built (`RecognizerOptions`, `RunningMode`) and the checks on what it is given:
every bad value is a SignlensError that names it, never a crash inside MediaPipe or torch."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from signlens.errors import SignlensError


class RunningMode(str, Enum):
    """IMAGE: photos, each on its own (the full search for a hand, a second reading where unsure).
    VIDEO: the frames of one video, in order (MediaPipe's tracker keeps the hand from frame to frame)."""

    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class RecognizerOptions:
    """Everything fixed when a recogniser is built. What may change from call to call (the threshold,
    how many classes to list) is an argument of `recognize` / `recognize_frame` instead."""

    weights: str | Path | None = None  # a model file (.pt, .onnx, .torchscript); None: the bundled one
    running_mode: RunningMode = RunningMode.IMAGE
    threshold: float | None = None  # below it the label is None; None: the model's own for the mode
    top_k: int = 3  # classes listed in `top`
    model_complexity: int = 1  # MediaPipe's landmark model: 0 faster, 1 more accurate
    mirror_tta: bool | None = None  # average with the mirrored hand; None: if the model trained on both

    def __post_init__(self) -> None:
        try:
            mode = RunningMode(self.running_mode)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in RunningMode)
            raise SignlensError(f"running_mode must be one of {choices}, got {self.running_mode!r}") from None
        object.__setattr__(self, "running_mode", mode)
        if self.threshold is not None:
            object.__setattr__(self, "threshold", checked_threshold(self.threshold))
        checked_top_k(self.top_k)
        if isinstance(self.model_complexity, bool) or self.model_complexity not in (0, 1):
            # MediaPipe aborts the whole process on anything else.
            raise SignlensError(f"model_complexity must be 0 or 1, got {self.model_complexity!r}")
        if self.mirror_tta not in (None, True, False):
            raise SignlensError(f"mirror_tta must be True, False or None, got {self.mirror_tta!r}")
        if self.weights is not None and not isinstance(self.weights, str | Path):
            raise SignlensError(f"weights must be a file path or None, got {type(self.weights).__name__}")


def checked_threshold(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise SignlensError(f"threshold must be a number from 0 to 1, got {value!r}")
    return float(value)


def checked_top_k(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise SignlensError(f"top_k must be a whole number of at least 1, got {value!r}")
    return int(value)


def checked_seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise SignlensError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def checked_timestamp(value, last: float | None) -> float:
    """A frame's time in seconds: a finite number, never before the last frame's."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SignlensError(f"timestamp must be a finite number of seconds, got {value!r}")
    if last is not None and value < last:
        raise SignlensError(f"frames must come in time order: timestamp {value} is before the last, {last}")
    return float(value)


def checked_rgb(image) -> np.ndarray:
    """An RGB image as MediaPipe and the models take it: uint8, (height, width, 3)."""
    if not isinstance(image, np.ndarray):
        raise SignlensError(
            "an image is a file path, encoded image bytes or an RGB array of uint8, shape (height, width, 3);"
            f" got {type(image).__name__}"
        )
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise SignlensError(
            f"an image array must be RGB uint8 of shape (height, width, 3); got {image.dtype} {image.shape}"
        )
    return image
