"""Hand landmarks as a data kind: the `.npz` file format, canonical points, features and augmentation.

MediaPipe gives 21 points per hand (wrist 0; thumb 1-4; index 5-8; middle 9-12; ring 13-16; pinky
17-20). Raw coordinates depend on where the hand is, how big, how turned and which hand it is; the
features below remove position, scale and chirality, and describe the handshape with joint angles and
inter-point distances, which carry over to other signers and rooms far better than pixels do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from signlens.data.configs import LandmarkConfig
from signlens.errors import SignlensError
from signlens.io import atomic_write

NUM_POINTS = 21
WRIST, THUMB_CMC, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 1, 5, 9, 17
FINGERS = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]
# Bones as (parent, child): each finger chains from the wrist.
BONES = [(WRIST if i == 0 else f[i - 1], f[i]) for f in FINGERS for i in range(4)]
BONE_PARENTS, BONE_CHILDREN = (list(side) for side in zip(*BONES, strict=True))
PAIRS = np.triu_indices(NUM_POINTS, k=1)
LANDMARK_FILE_VERSION = 1
MAX_UNPACKED = 2 * 1024**3  # a landmark file's arrays: 100,000 hands take about 60 MB


@dataclass
class LandmarkFeatures:
    """Which landmark coordinates and features a model reads."""

    points: str = "world"  # "world" (MediaPipe metric 3-D), "image" (pixels, z scaled like x) or "both"
    rotation_free: bool = False  # express the shape in the palm's own frame (orientation kept separately)
    form: str = "vector"  # "vector" (coordinates, angles, distances) or "mask" (a drawn skeleton image)
    mask_size: int = 32  # pixels per side of the mask

    @classmethod
    def of(cls, config: LandmarkConfig) -> LandmarkFeatures:
        """The features a training config's landmarks block asks for."""
        config.check()
        return cls(config.points, config.rotation_free, config.form, config.mask_size)

    @property
    def dim(self) -> int:
        return feature_dim(self)

    @property
    def mask_channels(self) -> int:
        return MASK_CHANNELS * (2 if self.points == "both" else 1)


def save_landmark_file(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    arrays = {**arrays, "meta": np.array(json.dumps({"version": LANDMARK_FILE_VERSION, **meta}))}
    return atomic_write(path, lambda tmp: np.savez_compressed(open(tmp, "wb"), **arrays))


def load_landmark_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise SignlensError(f"landmark file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)  # no pickled objects: nothing in the file runs
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        unpacked = sum(info.file_size for info in loaded.zip.infolist())
        if unpacked > MAX_UNPACKED:  # checked before any array is read: a small file can claim a lot
            loaded.close()
            raise ValueError(f"its arrays unpack to {unpacked:,} bytes, over the {MAX_UNPACKED:,}-byte limit")
        with loaded as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.get("meta", "{}")))
    except MemoryError:
        raise SignlensError(f"{path} is not a signlens landmark file: too large to load") from None
    except Exception as exc:  # noqa: BLE001 - a damaged archive raises anything from zipfile or numpy
        first = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        raise SignlensError(f"{path} is not a signlens landmark file: {first}") from None
    needed = {"image_points", "world_points", "labels", "class_names", "handedness", "sources", "meta"}
    if not needed <= set(data):
        raise SignlensError(f"{path} is not a signlens landmark file (missing {sorted(needed - set(data))})")
    if not isinstance(meta, dict):
        raise SignlensError(f"{path} is not a signlens landmark file: its meta is not a mapping")
    data["meta"] = meta
    return data


def photo_coverage(data: dict, class_names) -> tuple[set[str], list[str]]:
    """As `predict` reads photos: (sources whose photo view shows a hand, sources of `class_names` where
    it shows none). The mirrored view only re-reads a hand found in the photo, so a photo found only in
    the mirrored view is a miss, like a photo with no hand in any view."""
    views = data.get("views", np.full(len(data["sources"]), "photo"))
    in_photo = {str(s) for s, v in zip(data["sources"], views, strict=True) if v == "photo"}
    names = [str(c) for c in data["class_names"]]
    wanted = set(class_names)
    rows = zip(data["sources"], data["labels"], strict=True)
    failures = zip(data["failure_sources"], data["failure_labels"], strict=True)
    missed = {str(s) for s, y in failures if names[y] in wanted}
    missed |= {str(s) for s, y in rows if str(s) not in in_photo and names[y] in wanted}
    return in_photo, sorted(missed)


def canonical_points(data: dict, which: str) -> np.ndarray:
    """(N, 21, 3) points, or (N, 42, 3) world then image for "both", with every hand mirrored to the
    same chirality (MediaPipe's "Right")."""
    return to_canonical(data["world_points"], data["image_points"], data["handedness"], which)


def to_canonical(world: np.ndarray, image: np.ndarray, handedness, which: str) -> np.ndarray:
    if which not in ("world", "image", "both"):
        raise SignlensError(f"landmark points must be world, image or both, got {which!r}")
    parts = {"world": [world], "image": [image], "both": [world, image]}[which]
    points = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts], axis=-2).copy()
    left = np.char.lower(np.asarray(handedness).astype(str)) == "left"
    points[left, :, 0] *= -1
    return points


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-6)


def palm_frame(p: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) orthonormal palm axes as rows: up (wrist -> middle MCP), across (pinky -> index MCP), normal."""
    up = _unit(p[:, MIDDLE_MCP] - p[:, WRIST])
    across = p[:, INDEX_MCP] - p[:, PINKY_MCP]
    across = _unit(across - (across * up).sum(-1, keepdim=True) * up)
    normal = torch.cross(up, across, dim=-1)
    return torch.stack([up, across, normal], dim=1)


def landmark_features(points: torch.Tensor, spec: LandmarkFeatures) -> torch.Tensor:
    """(B, 21, 3) canonical points -> (B, dim) features: normalised coordinates, palm orientation,
    joint-angle cosines and all pairwise distances (scale-free). (B, 42, 3) holds two views of the
    same hand (world, image) whose features are concatenated. With `spec.form == "mask"`, a drawn
    skeleton instead: (B, channels, size, size)."""
    if points.shape[1] == 2 * NUM_POINTS:
        return torch.cat([landmark_features(half, spec) for half in points.split(NUM_POINTS, dim=1)], dim=1)
    if spec.form == "mask":
        return skeleton_mask(points, spec.mask_size)
    p = points - points[:, WRIST : WRIST + 1]
    palm = (p[:, MIDDLE_MCP]).norm(dim=-1).clamp_min(1e-6)
    p = p / palm.view(-1, 1, 1)
    frame = palm_frame(p)
    coords = torch.einsum("bij,bnj->bni", frame, p) if spec.rotation_free else p
    bones = torch.stack([p[:, child] - p[:, parent] for parent, child in BONES], dim=1)  # (B, 20, 3)
    bones = _unit(bones)
    # Cosine between consecutive bones of a finger: 3 joints per finger, 15 in all.
    angles = torch.stack(
        [(bones[:, f * 4 + j] * bones[:, f * 4 + j + 1]).sum(-1) for f in range(5) for j in range(3)], dim=1
    )
    rows, cols = PAIRS
    distances = (p[:, rows] - p[:, cols]).norm(dim=-1)
    return torch.cat([coords.flatten(1), frame.flatten(1), angles, distances], dim=1)


MASK_CHANNELS = 6  # one per finger, then depth


def skeleton_mask(points: torch.Tensor, size: int, width: float = 1.2) -> torch.Tensor:
    """(B, 21, 3) points -> (B, 6, size, size): the seed's landmark-mask image, drawn as soft lines.

    The hand is projected on the x-y plane, centred on its box and scaled to fill the mask (position and
    scale free). Each finger (with its metacarpal bone from the wrist) is drawn in its own channel, so
    crossed or touching fingers (R, U, M, N) stay apart; the last channel holds the depth of the nearest
    bone (z along the bone, in half-box units), which the flat drawing would lose. `width` is the
    line's Gaussian sigma in pixels."""
    xy, z = points[..., :2], points[..., 2]
    low, high = xy.amin(1, keepdim=True), xy.amax(1, keepdim=True)
    centre = (low + high) / 2
    half = (high - low).amax(-1, keepdim=True).clamp_min(1e-6) / 2 * 1.1  # a margin round the hand
    q = (xy - centre) / half  # (B, 21, 2) in [-1, 1]
    depth = (z - z[:, WRIST : WRIST + 1]) / half[..., 0]
    axis = (torch.arange(size, dtype=q.dtype) + 0.5) / size * 2 - 1
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).view(1, -1, 1, 2)  # (1, P, 1, 2)
    # Bones on the last axis: the reductions over bones below then run over contiguous memory.
    a, b = q[:, BONE_PARENTS].unsqueeze(1), q[:, BONE_CHILDREN].unsqueeze(1)  # (B, 1, 20, 2)
    ab = b - a
    t = (((grid - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-9)).clamp(0, 1)  # (B, P, 20)
    d2 = ((grid - a - t.unsqueeze(-1) * ab) ** 2).sum(-1)
    # Clamped so far pixels give ~1e-13, not denormals (which CPUs compute 10x slower).
    ink = torch.exp((-d2 / (2 * (width * 2 / size) ** 2)).clamp_min(-30))  # (B, P, 20)
    fingers = ink.unflatten(-1, (5, 4)).amax(-1)  # bones come four per finger, in finger order
    bone_depth = depth[:, BONE_PARENTS].unsqueeze(1) * (1 - t) + depth[:, BONE_CHILDREN].unsqueeze(1) * t
    strongest, nearest = ink.max(-1, keepdim=True)
    depth_channel = bone_depth.gather(-1, nearest) * strongest  # (B, P, 1)
    return torch.cat([fingers, depth_channel], -1).transpose(1, 2).unflatten(-1, (size, size))


def feature_dim(spec: LandmarkFeatures) -> int:
    per_view = NUM_POINTS * 3 + 9 + 15 + len(PAIRS[0])
    return 2 * per_view if spec.points == "both" else per_view


def _rotation_matrices(angles: torch.Tensor) -> torch.Tensor:
    """(B, 3) angles in radians about x, y, z -> (B, 3, 3)."""
    cx, cy, cz = torch.cos(angles).unbind(1)
    sx, sy, sz = torch.sin(angles).unbind(1)
    one, zero = torch.ones_like(cx), torch.zeros_like(cx)
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).view(-1, 3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).view(-1, 3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


@dataclass
class LandmarkAugment:
    rotation: float = 15.0  # degrees about each axis
    scale: float = 0.15
    finger_jitter: float = 0.04  # per-finger shift, in palm lengths
    noise: float = 0.01  # per-point Gaussian, in palm lengths
    mirror: float = 0.0  # probability of flipping chirality
    bone_scale: float = 0.0  # each bone's length times 1 +- this: other hands' proportions

    @classmethod
    def of(cls, config: LandmarkConfig) -> LandmarkAugment | None:
        """The augmentation a training config's landmarks block asks for; None when it asks for none."""
        if not config.augment:
            return None
        return cls(
            config.rotation,
            config.scale,
            config.finger_jitter,
            config.noise,
            config.mirror,
            config.bone_scale,
        )

    def __call__(self, points: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if points.shape[1] == 2 * NUM_POINTS:  # two views of one hand: augment each in its own frame
            return torch.cat([self(half, generator) for half in points.split(NUM_POINTS, dim=1)], dim=1)
        b = points.shape[0]
        p = points - points[:, WRIST : WRIST + 1]
        palm = p[:, MIDDLE_MCP].norm(dim=-1).clamp_min(1e-6).view(-1, 1, 1)

        def rand(*shape):
            return torch.rand(*shape, generator=generator) * 2 - 1

        if self.bone_scale:  # rebuild each finger from the wrist out of its rescaled bones
            lengths = 1 + rand(b, len(BONES), 1) * self.bone_scale
            bones = (p[:, BONE_CHILDREN] - p[:, BONE_PARENTS]) * lengths
            p = p.clone()
            for f, finger in enumerate(FINGERS):
                p[:, finger] = bones[:, 4 * f : 4 * f + 4].cumsum(1)
        angles = rand(b, 3) * (self.rotation * np.pi / 180)
        p = p @ _rotation_matrices(angles).transpose(1, 2)
        p = p * (1 + rand(b, 1, 1) * self.scale)
        if self.finger_jitter:
            shift = torch.zeros_like(p)
            for finger in FINGERS:
                # Moving a whole finger keeps its shape but varies how it sits against the others.
                shift[:, finger[1:]] = (rand(b, 1, 3) * self.finger_jitter * palm).expand(
                    -1, len(finger) - 1, -1
                )
            p = p + shift
        if self.noise:
            p = p + torch.randn(p.shape, generator=generator) * self.noise * palm
        if self.mirror:
            flip = torch.rand(b, generator=generator) < self.mirror
            p[flip, :, 0] *= -1
        return p
