"""`landmark_features` rewritten for a small ONNX graph, with the same arithmetic in the same order.

The training code builds features with one small op per bone, joint and coordinate, and draws the
skeleton mask over (x, y) pairs on a last axis of two. Exported as is, that is ~480 ONNX nodes, and
the broadcasts over a size-2 innermost axis are the slowest kernels in ONNX Runtime (half the frame
time). Here each family is one gather, and the mask is drawn with x and y kept apart. The values agree
with signlens.data.landmarks to float rounding (tests/test_ondevice.py compares them), and the
export's parity check compares the whole graph with the Python recogniser.

A mirrored hand's mask is the mask flipped left-right (the pixel grid is symmetric about the box
centre, and negating x is exact in floating point), so it is flipped, not drawn again.
"""

from __future__ import annotations

import torch

from signlens.data.landmarks import (
    BONE_CHILDREN,
    BONE_PARENTS,
    MIDDLE_MCP,
    NUM_POINTS,
    PAIRS,
    WRIST,
    LandmarkFeatures,
    palm_frame,
)

JOINT_A = [f * 4 + j for f in range(5) for j in range(3)]  # consecutive bones of a finger
JOINT_B = [a + 1 for a in JOINT_A]
PAIR_ROWS, PAIR_COLS = (list(map(int, side)) for side in PAIRS)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def vector_features(points: torch.Tensor, spec: LandmarkFeatures) -> torch.Tensor:
    """(B, 21, 3) canonical points -> (B, dim), as landmark_features with form "vector"."""
    p = points - points[:, WRIST : WRIST + 1]
    palm = p[:, MIDDLE_MCP].norm(dim=-1).clamp_min(1e-6)
    p = p / palm.view(-1, 1, 1)
    frame = palm_frame(p)
    coords = torch.einsum("bij,bnj->bni", frame, p) if spec.rotation_free else p
    bones = _unit(p[:, BONE_CHILDREN] - p[:, BONE_PARENTS])  # (B, 20, 3)
    angles = (bones[:, JOINT_A] * bones[:, JOINT_B]).sum(-1)
    distances = (p[:, PAIR_ROWS] - p[:, PAIR_COLS]).norm(dim=-1)
    return torch.cat([coords.flatten(1), frame.flatten(1), angles, distances], dim=1)


def skeleton_mask(points: torch.Tensor, size: int, width: float = 1.2) -> torch.Tensor:
    """(B, 21, 3) -> (B, 6, size, size), as signlens.data.landmarks.skeleton_mask, x and y apart."""
    x, y, z = points.unbind(-1)  # (B, 21) each
    lx, hx = x.amin(1, keepdim=True), x.amax(1, keepdim=True)
    ly, hy = y.amin(1, keepdim=True), y.amax(1, keepdim=True)
    half = torch.maximum(hx - lx, hy - ly).clamp_min(1e-6) / 2 * 1.1  # (B, 1)
    qx, qy = (x - (lx + hx) / 2) / half, (y - (ly + hy) / 2) / half
    depth = (z - z[:, WRIST : WRIST + 1]) / half
    axis = (torch.arange(size, dtype=points.dtype) + 0.5) / size * 2 - 1
    gx = axis.repeat(size).view(1, -1, 1)  # pixel p = row * size + column, x along the row
    gy = axis.repeat_interleave(size).view(1, -1, 1)
    ax, ay = qx[:, BONE_PARENTS].unsqueeze(1), qy[:, BONE_PARENTS].unsqueeze(1)  # (B, 1, 20)
    abx, aby = qx[:, BONE_CHILDREN].unsqueeze(1) - ax, qy[:, BONE_CHILDREN].unsqueeze(1) - ay
    dx, dy = gx - ax, gy - ay  # (B, P, 20)
    t = ((dx * abx + dy * aby) / (abx * abx + aby * aby).clamp_min(1e-9)).clamp(0, 1)
    d2 = (dx - t * abx) ** 2 + (dy - t * aby) ** 2
    ink = torch.exp((-d2 / (2 * (width * 2 / size) ** 2)).clamp_min(-30))
    fingers = ink.unflatten(-1, (5, 4)).amax(-1)
    bone_depth = depth[:, BONE_PARENTS].unsqueeze(1) * (1 - t) + depth[:, BONE_CHILDREN].unsqueeze(1) * t
    strongest, nearest = ink.max(-1, keepdim=True)
    depth_channel = bone_depth.gather(-1, nearest) * strongest
    return torch.cat([fingers, depth_channel], -1).transpose(1, 2).unflatten(-1, (size, size))


def features(points: torch.Tensor, spec: LandmarkFeatures, mirrored: bool) -> torch.Tensor:
    """Features of the hands, then (when `mirrored`) of their mirror images, in one batch: what
    LandmarkClassifier.logits feeds a member trained with mirrored hands."""
    if points.shape[1] == 2 * NUM_POINTS:  # world and image views: features side by side, as in training
        halves = [features(half, spec, mirrored) for half in points.split(NUM_POINTS, dim=1)]
        return torch.cat(halves, dim=1)
    if spec.form == "mask":
        mask = skeleton_mask(points, spec.mask_size)
        return torch.cat([mask, mask.flip(-1)]) if mirrored else mask
    if mirrored:
        points = torch.cat([points, points * torch.tensor([-1.0, 1.0, 1.0])])
    return vector_features(points, spec)
