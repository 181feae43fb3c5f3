"""uint8 image arrays -> uint8 NCHW tensors at a model's input size and channel count."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# ITU-R 601 luma, what PIL's convert("L") uses, so RGB photos match gray training data.
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def to_model_tensor(images: np.ndarray | torch.Tensor, img_size: int, in_chans: int) -> torch.Tensor:
    """(N, H, W, C) uint8 -> (N, in_chans, img_size, img_size) uint8, resized and channel-converted."""
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x.unsqueeze(-1)
    x = x.permute(0, 3, 1, 2)
    channels = x.shape[1]
    if channels == in_chans and x.shape[-2:] == (img_size, img_size):
        return x.contiguous()
    out = []
    for start in range(0, len(x), 4096):  # chunks keep float copies small
        chunk = x[start : start + 4096].float()
        if chunk.shape[1] == 4:
            chunk = chunk[:, :3]
        if chunk.shape[1] == 3 and in_chans == 1:
            chunk = (chunk * LUMA).sum(1, keepdim=True)
        elif chunk.shape[1] == 1 and in_chans == 3:
            chunk = chunk.expand(-1, 3, -1, -1)
        if chunk.shape[-2:] != (img_size, img_size):
            chunk = F.interpolate(
                chunk, size=(img_size, img_size), mode="bilinear", antialias=True, align_corners=False
            )
        out.append(chunk.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out).contiguous()


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 NCHW images, on the 0..1 scale."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1).double() / 255.0
    return flat.mean(1).tolist(), flat.std(1).clamp_min(1e-3).tolist()
