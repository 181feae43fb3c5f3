"""Landmark classifiers: canonical hand points in, calibrated class probabilities out.

A classifier is one landmark model or an ensemble of them (say, the landmark-mlp and the mask CNN):
each member turns the points into its own features, and their log-probabilities are averaged, so
members with differently scaled logits weigh the same. One calibration temperature applies to the
average.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from signlens.data.configs import LandmarkConfig
from signlens.data.landmarks import LandmarkFeatures, landmark_features, to_canonical
from signlens.engine.checkpoint import build_model_from_checkpoint, load_checkpoint, validate_payload
from signlens.errors import SignlensError
from signlens.inference.protocol import softmax

MIRROR = torch.tensor([-1.0, 1.0, 1.0])  # flips a canonical hand's chirality


class LandmarkClassifier:
    """Landmark model(s) with their feature settings and (when fitted) a calibration temperature."""

    kind = "landmarks"
    backend = "torch"
    img_size = in_chans = None  # reads points, not images

    def __init__(
        self,
        members: list[tuple[torch.nn.Module, LandmarkConfig]],
        class_names,
        temperature=1.0,
        views=("photo",),
        source: str = "",
        train_config: dict | None = None,
        meta: dict | None = None,
    ):
        if len({config.points for _, config in members}) != 1:
            raise SignlensError("ensemble members must all read the same landmark points (world/image/both)")
        self.members = [(model.eval(), config, LandmarkFeatures.of(config)) for model, config in members]
        self.config = members[0][1]  # the points every member reads
        self.class_names = list(class_names)
        self.temperature = float(temperature)
        self.views = tuple(views)  # photo views a recogniser reads (see study.recognizer.extract.photo_views)
        self.source = source
        self.train_config = dict(train_config or {})
        self.meta = dict(meta or {})

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"{self.source} (landmarks, {len(self.members)} member(s), {self.num_classes} classes)"

    @classmethod
    def from_checkpoint(cls, path: str | Path | dict, payload: dict | None = None) -> LandmarkClassifier:
        """A landmark checkpoint file (or its loaded `payload`, or a payload in memory such as
        `engine.ensemble.ensemble_checkpoint` builds); an ensemble's further members are full payloads
        under "ensemble"."""
        if isinstance(path, dict):
            path, payload = "", validate_payload(path, "checkpoint in memory")
        payload = payload if payload is not None else load_checkpoint(path)
        if payload["preprocess"].get("kind") != "landmarks":
            raise SignlensError(f"{path}: an image classifier, not a landmark model")
        members = []
        for member in [payload, *payload.get("ensemble", [])]:
            if member["class_names"] != payload["class_names"]:
                raise SignlensError("ensemble members disagree on the class names")
            config = LandmarkConfig(**member["preprocess"]["landmarks"])
            members.append((build_model_from_checkpoint(member), config))
        temperature = payload.get("calibration", {}).get("temperature", 1.0)
        meta = {"model": payload["model"], "epoch": payload.get("epoch"), "members": len(members)}
        return cls(
            members, payload["class_names"], temperature, payload.get("views", ["photo"]),
            str(path), payload.get("config", {}), meta,
        )  # fmt: skip

    def points(self, hands_points: np.ndarray) -> torch.Tensor:
        views = 2 if self.config.points == "both" else 1
        return torch.as_tensor(np.asarray(hands_points, dtype=np.float32).reshape(-1, 21 * views, 3))

    @torch.inference_mode()
    def logits(
        self, canonical_points: np.ndarray, batch_size: int = 1024, *, mirror_tta: bool | None = None
    ) -> np.ndarray:
        """canonical_points: (N, 21, 3) mirrored to MediaPipe's "Right" chirality (see canonical_points).
        Returns averaged log-probabilities (logits up to a per-row constant, so softmax is unchanged).
        `mirror_tta` also averages over the mirrored hand; None leaves it to each member (on for those
        trained with mirrored hands)."""
        x = self.points(canonical_points)
        n = len(x)
        if n == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        both = torch.cat([x, x * MIRROR])  # the hand and its mirror image, in one batch
        inputs: dict[tuple, list[torch.Tensor]] = {}  # members with the same features share them
        total = 0
        for model, config, features in self.members:
            views = 2 if (config.mirror > 0 if mirror_tta is None else mirror_tta) else 1
            key = (*dataclasses.astuple(features), views)
            if key not in inputs:
                points = both[: views * n]
                inputs[key] = [
                    landmark_features(points[i : i + batch_size], features)
                    for i in range(0, len(points), batch_size)
                ]
            logits = torch.cat([model(chunk) for chunk in inputs[key]]).view(views, n, -1).mean(0)
            total = total + F.log_softmax(logits, dim=1)
        return (total / len(self.members)).numpy()

    def hand_logits(self, world, image, handedness, *, mirror_tta: bool | None = None) -> np.ndarray:
        """MediaPipe hands as given ((N, 21, 3) world points, image points in pixels, N handedness
        labels) -> `logits` of their canonical points (as inference.graph.LandmarkGraph reads them)."""
        points = to_canonical(world, image, handedness, self.config.points)
        return self.logits(points, mirror_tta=mirror_tta)

    def predict_proba(
        self, canonical_points: np.ndarray, batch_size: int = 1024, *, mirror_tta: bool | None = None
    ) -> np.ndarray:
        """Calibrated probabilities: softmax of the averaged log-probabilities over the fitted temperature."""
        return self.calibrated(self.logits(canonical_points, batch_size, mirror_tta=mirror_tta))

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits / self.temperature)
