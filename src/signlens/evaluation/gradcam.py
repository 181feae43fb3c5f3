"""Grad-CAM (Selvaraju et al., 2017) with torch hooks: which part of the image drove a class score.

The map is the ReLU of the last convolution's activations weighted by the spatial mean of the class
score's gradient with respect to them, upsampled to the input and scaled to [0, 1] per image.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from signlens.errors import SignlensError


def last_conv(model: torch.nn.Module) -> torch.nn.Module:
    """The deepest Conv2d: the most semantic layer that still has a spatial layout."""
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise SignlensError("Grad-CAM needs a convolutional model; this one has no Conv2d layer")
    return convs[-1]


def grad_cam(
    model: torch.nn.Module, x: torch.Tensor, targets: np.ndarray | None = None, layer=None
) -> tuple[np.ndarray, np.ndarray]:
    """(maps (N, H, W) in [0, 1], logits (N, classes)) for normalised inputs x (N, C, H, W); the map of
    each image is for its `targets` class (default: the predicted one)."""
    layer = layer if layer is not None else last_conv(model)
    captured = {}

    def hook(_module, _inputs, output):
        captured["a"] = output
        # Hand later layers a copy: an in-place ReLU after the conv must not overwrite what we read.
        return output.clone()

    handle = layer.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x.float())
            chosen = logits.argmax(1) if targets is None else torch.as_tensor(targets, dtype=torch.long)
            score = logits.gather(1, chosen.view(-1, 1)).sum()
            (grads,) = torch.autograd.grad(score, captured["a"])
    finally:
        handle.remove()
        model.train(was_training)
    activations = captured["a"].detach()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activations).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).max(1).values.clamp_min(1e-12).view(-1, 1, 1)
    return (cam / peak).numpy(), logits.detach().numpy()


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """uint8 RGB (H, W, 3): the image in gray with the map in a heat colour scale on top."""
    from matplotlib import colormaps

    gray = image.astype(np.float32)
    gray = gray.mean(-1) if gray.ndim == 3 else gray
    gray = np.repeat(gray[..., None], 3, -1) / 255.0
    if cam.shape != gray.shape[:2]:
        cam = F.interpolate(torch.as_tensor(cam)[None, None], size=gray.shape[:2], mode="bilinear")[
            0, 0
        ].numpy()
    heat = colormaps["jet"](np.clip(cam, 0, 1))[..., :3]
    return (255 * ((1 - alpha) * gray + alpha * heat)).clip(0, 255).astype(np.uint8)
