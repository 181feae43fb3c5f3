"""What an exported model carries besides its weights, so it runs without the checkpoint beside it.

ONNX keeps these as `metadata_props` (string key -> string value), TorchScript as the extra file
`signlens.json`. Structured values are JSON. No torch or onnx import here: the runtime reads this too.
"""

from __future__ import annotations

import json
from typing import Any

from signlens.errors import SignlensError

FORMAT = "signlens-export"
FORMAT_VERSION = 1
INPUT_NAME, OUTPUT_NAME = "input", "logits"
INPUT_DOC = "float32 NCHW (batch, in_chans, img_size, img_size), each pixel (value / 255 - mean) / std"

# Keys whose values are JSON (everything else is a plain string).
JSON_KEYS = (
    "class_names",
    "mean",
    "std",
    "model",
    "config",
    "parity",
    "accuracy",
    "quantization",
    "calibration",
)
INT_KEYS = ("img_size", "in_chans", "params", "macs", "format_version")
REQUIRED = ("class_names", "img_size", "in_chans", "mean", "std")


def encode(meta: dict[str, Any]) -> dict[str, str]:
    """Flat str -> str map for ONNX metadata_props; the format marker is always added."""
    out = {"signlens_format": FORMAT, "format_version": str(FORMAT_VERSION), "input": INPUT_DOC}
    for key, value in meta.items():
        if value is None:
            continue
        out[key] = json.dumps(value) if key in JSON_KEYS else str(value)
    return out


def decode(props: dict[str, str], source: str) -> dict[str, Any]:
    """Inverse of `encode`; a file without the signlens marker or keys is a SignlensError naming it."""
    if props.get("signlens_format") != FORMAT:
        raise SignlensError(
            f"{source} is not a signlens export (no '{FORMAT}' metadata; export it with `signlens export`)"
        )
    meta: dict[str, Any] = {}
    try:
        for key, value in props.items():
            if key in JSON_KEYS:
                meta[key] = json.loads(value)
            elif key in INT_KEYS:
                meta[key] = int(value)
            else:
                meta[key] = value
    except (ValueError, TypeError) as exc:
        raise SignlensError(f"{source}: unreadable signlens metadata ({exc})") from None
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise SignlensError(f"{source} was written by a newer signlens (format {meta['format_version']})")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise SignlensError(f"{source}: signlens metadata lacks {missing}")
    temperature(meta, source)
    return meta


def temperature(meta: dict[str, Any], source: str) -> float:
    """The calibration temperature a model carries (its checkpoint's, fitted on validation when the run
    finished, copied into exports); 1.0 when none was fitted."""
    calibration = meta.get("calibration") or {}
    value = calibration.get("temperature", 1.0) if isinstance(calibration, dict) else None
    # bool is an int to Python, and NaN fails every comparison: both are refused here.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise SignlensError(f"{source}: calibration temperature must be a positive number, got {value!r}")
    return float(value)
