"""Build side of the recogniser: several trained landmark checkpoints joined into one payload."""

from __future__ import annotations

from pathlib import Path

from signlens.engine.checkpoint import load_checkpoint
from signlens.errors import SignlensError


def ensemble_checkpoint(paths: list[str | Path]) -> dict:
    """One checkpoint payload for several landmark checkpoints: the first at the top level (so every
    reader of a single checkpoint still works), the rest under "ensemble"."""
    first, *rest = [load_checkpoint(p) for p in paths]
    for payload in (first, *rest):
        if payload["preprocess"].get("kind") != "landmarks":
            raise SignlensError("only landmark checkpoints can form a recogniser ensemble")
    members = [{k: v for k, v in p.items() if k not in ("format", "format_version")} for p in rest]
    payload = {k: v for k, v in first.items() if k not in ("format", "format_version")}
    return {**payload, "ensemble": members} if members else payload
