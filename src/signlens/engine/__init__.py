"""Training engine: config and recipes, the loop, checkpoints, metrics, fine-tuning."""

from signlens.engine.config import RECIPES, TrainConfig, build_config
from signlens.engine.trainer import Trainer

__all__ = ["RECIPES", "TrainConfig", "Trainer", "build_config"]
