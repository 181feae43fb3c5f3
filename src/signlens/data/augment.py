"""Augmentation on whole batches as tensors: one affine_grid/grid_sample call per batch.

Per-image Python transforms would cost more than the small models they feed. Horizontal flip is off
by default: a mirrored handshape is the other hand, and for some letters a different sign.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from signlens.data.configs import AugmentConfig


class BatchAugment:
    def __init__(self, config: AugmentConfig):
        self.config = config

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x: float (N, C, H, W) in [0, 1]. Returns an augmented batch of the same shape and range."""
        c = self.config
        if not c.enabled:
            return x
        n, device = x.shape[0], x.device

        def uniform(low: float, high: float) -> torch.Tensor:
            return torch.rand(n, generator=generator).to(device) * (high - low) + low

        if c.rotation or c.scale or c.translate or c.shear or c.hflip:
            angle = uniform(-c.rotation, c.rotation) * (math.pi / 180)
            shear = uniform(-c.shear, c.shear) * (math.pi / 180)
            # The grid maps output to input coordinates, so dividing by the zoom enlarges the content.
            inv_zoom = 1.0 / uniform(1 - c.scale, 1 + c.scale)
            flip = torch.where(uniform(0, 1) < c.hflip, -1.0, 1.0)
            cos, sin = torch.cos(angle) * inv_zoom, torch.sin(angle) * inv_zoom
            theta = torch.stack(
                [
                    torch.stack(
                        [cos * flip, -sin + torch.tan(shear) * cos, uniform(-1, 1) * c.translate * 2], 1
                    ),
                    torch.stack([sin * flip, cos, uniform(-1, 1) * c.translate * 2], 1),
                ],
                1,
            )
            grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
            # Border padding repeats the background instead of inventing black corners.
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if c.contrast:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * uniform(1 - c.contrast, 1 + c.contrast).view(n, 1, 1, 1) + mean
        if c.brightness:
            x = x + uniform(-c.brightness, c.brightness).view(n, 1, 1, 1)
        if c.color and x.shape[1] > 1:
            gain = torch.rand(n, x.shape[1], generator=generator).to(device) * (2 * c.color) + (1 - c.color)
            x = x * gain.to(x.dtype).view(n, -1, 1, 1)
        if c.gray and x.shape[1] == 3:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=device).view(1, 3, 1, 1)
            luminance = (x * weights).sum(1, keepdim=True).expand_as(x)
            x = torch.where((uniform(0, 1) < c.gray).view(n, 1, 1, 1), luminance, x)
        return x.clamp_(0.0, 1.0)
