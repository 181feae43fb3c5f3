"""Self-describing checkpoints: weights plus everything `val`/`predict` need to use them.

Only tensors, numbers, strings, lists and dicts go in, so `torch.load(weights_only=True)` reads them.
Every reader goes through `load_checkpoint`, which checks the whole schema once: a file that loads but
holds a wrong field is refused with the field's name, before any model is built or run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from signlens.data.configs import LandmarkConfig
from signlens.data.landmarks import LandmarkFeatures
from signlens.errors import SignlensError
from signlens.io import atomic_write, torch_load_safely
from signlens.models import create_model

FORMAT = "signlens-checkpoint"
FORMAT_VERSION = 1
KINDS = ("image", "landmarks")
VIEWS = ("photo", "mirrored")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **payload}
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        hint = f"; did you mean {path / 'best.pt'}?" if (path / "best.pt").is_file() else ""
        raise SignlensError(f"{path} is a folder, not a checkpoint file{hint}")
    if not path.is_file():
        raise SignlensError(f"checkpoint not found: {path}")
    payload = torch_load_safely(path, f"{path} is not a signlens checkpoint: cannot be loaded safely")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SignlensError(f"{path} is not a signlens checkpoint (no '{FORMAT}' marker)")
    version = payload.get("format_version", 0)
    if not _is_int(version):
        raise SignlensError(f"{path}: checkpoint field 'format_version' must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise SignlensError(f"{path} was written by a newer signlens (format {version})")
    return validate_payload(payload, str(path))


def validate_payload(payload: Any, source: str) -> dict[str, Any]:
    """Check a checkpoint's fields (and each ensemble member's); return it unchanged or raise a
    SignlensError naming the first wrong field."""

    def bad(field: str, why: str) -> SignlensError:
        return SignlensError(f"{source}: checkpoint field '{field}' {why}")

    if not isinstance(payload, Mapping):
        raise SignlensError(f"{source}: a checkpoint must be a mapping, got {type(payload).__name__}")
    for key in ("model", "state_dict", "class_names", "preprocess"):
        if key not in payload:
            raise SignlensError(f"{source}: checkpoint lacks '{key}'")
    model = payload["model"]
    if not isinstance(model, Mapping) or not isinstance(model.get("name"), str):
        raise bad("model", f"must be a mapping with a 'name', got {model!r:.80}")
    if not isinstance(model.get("args", {}), Mapping):
        raise bad("model.args", f"must be a mapping, got {model.get('args')!r:.80}")
    state = payload["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise bad("state_dict", "must map parameter names to tensors")
    names = payload["class_names"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise bad("class_names", "must be a non-empty list of strings")
    if len(set(names)) != len(names):
        raise bad("class_names", "holds a name twice")
    for key, kind in (("config", Mapping), ("calibration", Mapping), ("views", list)):
        if key in payload and not isinstance(payload[key], kind):
            raise bad(key, f"must be a {'mapping' if kind is Mapping else 'list'}, got {payload[key]!r:.80}")
    temperature = payload.get("calibration", {}).get("temperature", 1.0)
    if not _is_number(temperature) or not temperature > 0:
        raise bad("calibration.temperature", f"must be a positive number, got {temperature!r}")
    if not all(view in VIEWS for view in payload.get("views", [])):
        raise bad("views", f"must list views among {VIEWS}, got {payload['views']!r:.80}")
    _validate_preprocess(payload["preprocess"], dict(model.get("args", {})), bad)
    members = payload.get("ensemble", [])
    if not isinstance(members, list):
        raise bad("ensemble", "must be a list of checkpoint payloads")
    for i, member in enumerate(members):
        validate_payload(member, f"{source} (ensemble member {i + 1})")
        if member["class_names"] != names:
            raise bad(f"ensemble[{i}].class_names", "differ from the first member's")
    return dict(payload)


def _validate_preprocess(pre: Any, args: dict, bad) -> None:
    if not isinstance(pre, Mapping):
        raise bad("preprocess", f"must be a mapping, got {pre!r:.80}")
    kind = pre.get("kind", "image")
    if kind not in KINDS:
        raise bad("preprocess.kind", f"must be one of {KINDS}, got {kind!r}")
    if kind == "landmarks":
        block = pre.get("landmarks")
        fields = {f.name for f in dataclasses.fields(LandmarkConfig)}
        if not isinstance(block, Mapping) or not set(block) <= fields:
            raise bad("preprocess.landmarks", f"must be a mapping of {sorted(fields)}, got {block!r:.80}")
        try:
            spec = LandmarkFeatures.of(LandmarkConfig(**block))
        except (TypeError, SignlensError) as exc:
            raise bad("preprocess.landmarks", f"is not a landmark setting ({exc})") from None
        # The model must take what the features are: a vector of `dim` or a drawn mask.
        expected = (
            {"in_chans": spec.mask_channels, "img_size": spec.mask_size}
            if spec.form == "mask"
            else {"in_features": spec.dim}
        )
        for key, value in expected.items():
            if args.get(key, value if key == "img_size" else None) != value:
                raise bad(
                    "preprocess.kind",
                    f"is 'landmarks' but the model does not read landmark features "
                    f"(model arg {key}={args.get(key)!r}, the features need {value})",
                )
        return
    for key in ("img_size", "in_chans"):
        if not _is_int(pre.get(key)) or pre[key] < 1:
            raise bad(f"preprocess.{key}", f"must be a positive integer, got {pre.get(key)!r}")
    if pre["img_size"] > 1024:  # as TrainConfig allows; a bigger one only ever asks for terabytes
        raise bad("preprocess.img_size", f"must be at most 1024, got {pre['img_size']}")
    if pre["in_chans"] not in (1, 3):
        raise bad("preprocess.in_chans", f"must be 1 or 3, got {pre['in_chans']}")
    for key in ("mean", "std"):
        values = pre.get(key)
        if (
            not isinstance(values, list)
            or len(values) != pre["in_chans"]
            or not all(_is_number(v) and math.isfinite(v) for v in values)
        ):
            raise bad(f"preprocess.{key}", f"must list {pre['in_chans']} finite numbers, got {values!r:.80}")
    if not all(v > 0 for v in pre["std"]):
        raise bad("preprocess.std", "must be positive")
    if "in_features" in args:
        raise bad("preprocess.kind", "is 'image' but the model reads a feature vector (a landmark model)")
    if args.get("in_chans", pre["in_chans"]) != pre["in_chans"]:
        raise bad("preprocess.in_chans", f"is {pre['in_chans']} but the model takes {args['in_chans']}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def build_model_from_checkpoint(payload: dict[str, Any]) -> torch.nn.Module:
    spec = payload["model"]
    model = create_model(spec["name"], num_classes=len(payload["class_names"]), **spec.get("args", {}))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        # Typically a checkpoint from an older definition of the architecture.
        first = str(exc).strip().splitlines()[0]
        raise SignlensError(
            f"checkpoint weights do not fit model {spec['name']!r} as defined now: {first}"
        ) from None
    return model.eval()
