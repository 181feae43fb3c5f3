"""Layers the architectures share."""

from __future__ import annotations

from torch import nn


class SqueezeExcite(nn.Module):
    """Channel attention: reweight channels by a gate computed from their global averages.

    `identity_start` gates with `2 * sigmoid(.)` and a last layer that starts at zero, so the gate starts
    at exactly 1: inserted into a pretrained network it changes nothing until training moves it. Without
    it, a plain `sigmoid(.)` gate with the usual initialisation, for networks trained from scratch."""

    def __init__(self, channels: int, reduction: int = 4, identity_start: bool = False):
        super().__init__()
        self.identity_start = identity_start
        self.fc1 = nn.Conv2d(channels, max(8, channels // reduction), 1)
        self.fc2 = nn.Conv2d(self.fc1.out_channels, channels, 1)
        if identity_start:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        self.fc1.reset_parameters()
        if self.identity_start:
            nn.init.zeros_(self.fc2.weight)
            nn.init.zeros_(self.fc2.bias)
        else:
            self.fc2.reset_parameters()

    def forward(self, x):
        gate = self.fc2(nn.functional.relu(self.fc1(x.mean((2, 3), keepdim=True)), inplace=True))
        return x * (2.0 * gate.sigmoid() if self.identity_start else gate.sigmoid())
