"""Which landmarks and fingers drove a landmark model's answer: integrated gradients (Sundararajan et
al., 2017) over the 21 canonical hand points, from a baseline hand (the mean hand of the explained set)
to each hand. The features are computed in torch from the points, so the gradient reaches every point;
the attributions of a hand add up to its class score minus the baseline's (completeness).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from signlens.data.landmarks import FINGERS, NUM_POINTS, landmark_features

PARTS = {
    "wrist": [0],
    **{name: f for name, f in zip(("thumb", "index", "middle", "ring", "pinky"), FINGERS, strict=True)},
}
MIRROR = torch.tensor([-1.0, 1.0, 1.0])  # the same chirality flip the classifier's test-time view uses


def log_probs(classifier, points: torch.Tensor) -> torch.Tensor:
    """The classifier's averaged log-probabilities, differentiable in `points` (N, 21[*2], 3): the same
    members, features and mirrored views as LandmarkClassifier.logits."""
    total = 0
    n = len(points)
    for model, config, features in classifier.members:
        views = 2 if config.mirror > 0 else 1
        both = torch.cat([points, points * MIRROR])[: views * n]
        logits = model(landmark_features(both, features)).view(views, n, -1).mean(0)
        total = total + F.log_softmax(logits, dim=1)
    return total / len(classifier.members)


def integrated_gradients(classifier, points: np.ndarray, baseline: np.ndarray, targets=None, steps: int = 48):
    """(attributions (N, P, 3), scores (N,), baseline scores (N,)) for the `targets` class (default: the
    predicted one) of each hand. Midpoint rule over `steps` points of the straight path."""
    for model, _, _ in classifier.members:
        model.eval()
    x = torch.as_tensor(np.asarray(points, np.float32))
    x0 = torch.as_tensor(np.asarray(baseline, np.float32)).expand_as(x)
    with torch.no_grad():
        scores = log_probs(classifier, x)
        chosen = scores.argmax(1) if targets is None else torch.as_tensor(targets, dtype=torch.long)
        base_scores = log_probs(classifier, x0)
    total = torch.zeros_like(x)
    for alpha in (torch.arange(steps, dtype=torch.float32) + 0.5) / steps:
        path = (x0 + alpha * (x - x0)).requires_grad_(True)
        with torch.enable_grad():
            score = log_probs(classifier, path).gather(1, chosen.view(-1, 1)).sum()
            (grad,) = torch.autograd.grad(score, path)
        total += grad
    attributions = (x - x0) * total / steps
    pick = chosen.view(-1, 1)
    return (
        attributions.numpy(),
        scores.gather(1, pick)[:, 0].numpy(),
        base_scores.gather(1, pick)[:, 0].numpy(),
    )


def by_landmark(attributions: np.ndarray) -> np.ndarray:
    """(N, 21): each landmark's attribution, summed over x, y, z (and over both views of 42-point hands)."""
    per_point = attributions.sum(-1)
    return per_point.reshape(len(per_point), -1, NUM_POINTS).sum(1)


def by_part(per_landmark: np.ndarray) -> dict[str, np.ndarray]:
    """{wrist, thumb, index, middle, ring, pinky: (N,)} sums of the landmark attributions."""
    return {name: per_landmark[:, idx].sum(1) for name, idx in PARTS.items()}


def describe_features(classifier) -> list[str]:
    return [str(dataclasses.asdict(features)) for _, _, features in classifier.members]
