"""Models over hand-landmark feature vectors (see signlens.data.landmarks)."""

from __future__ import annotations

from torch import nn

from signlens.models.registry import register


@register("landmark-mlp")
def landmark_mlp(
    num_classes: int, in_chans: int = 1, in_features: int = 297, hidden=(256, 128), dropout: float = 0.3
) -> nn.Module:
    """BN on the raw features standardises them (distances and cosines live on different scales), then
    two hidden layers. `in_chans` is accepted for the registry's uniform signature and unused."""
    layers: list[nn.Module] = [nn.BatchNorm1d(in_features)]
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
