"""Training engine: config and recipes, the loop, checkpoints, metrics, fine-tuning.

The names below load on first use, so the config and its schema (the CLI's flags and `--help`) import
no torch; the trainer does.
"""

from signlens.io import lazy_exports

# Public name -> the module that defines it.
_LAZY = {
    "RECIPES": "signlens.engine.config",
    "TrainConfig": "signlens.engine.config",
    "Trainer": "signlens.engine.trainer",
    "build_config": "signlens.engine.config",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
