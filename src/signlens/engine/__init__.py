"""Training engine: config and recipes, the loop, checkpoints, metrics, fine-tuning.

Names are loaded on first use: the command line reads the config's schema on every start, and the
trainer imports torch."""

from __future__ import annotations

import importlib

_HOMES = {
    "RECIPES": "signlens.engine.config",
    "TrainConfig": "signlens.engine.config",
    "build_config": "signlens.engine.config",
    "Trainer": "signlens.engine.trainer",
}
__all__ = ["RECIPES", "TrainConfig", "Trainer", "build_config"]


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'signlens.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
