"""Self-describing checkpoints: weights plus everything `val`/`predict` need to use them.

Only tensors, numbers, strings, lists and dicts go in, so `torch.load(weights_only=True)` reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from signlens.errors import SignlensError
from signlens.io import atomic_write, torch_load_safely

FORMAT = "signlens-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **payload}
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SignlensError(f"checkpoint not found: {path}")
    payload = torch_load_safely(path, f"{path} is not a signlens checkpoint: cannot be loaded safely")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SignlensError(f"{path} is not a signlens checkpoint (no '{FORMAT}' marker)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise SignlensError(f"{path} was written by a newer signlens (format {payload['format_version']})")
    for key in ("model", "state_dict", "class_names", "preprocess"):
        if key not in payload:
            raise SignlensError(f"{path}: checkpoint lacks '{key}'")
    return payload


def build_model_from_checkpoint(payload: dict[str, Any]) -> torch.nn.Module:
    from signlens.models import create_model

    spec = payload["model"]
    model = create_model(spec["name"], num_classes=len(payload["class_names"]), **spec["args"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        # Typically a checkpoint from an older definition of the architecture.
        first = str(exc).strip().splitlines()[0]
        raise SignlensError(
            f"checkpoint weights do not fit model {spec['name']!r} as defined now: {first}"
        ) from None
    return model.eval()
