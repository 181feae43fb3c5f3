"""Training engine: config and recipes, the loop, checkpoints, metrics, and the inference wrapper."""

from signlens.engine.config import RECIPES, TrainConfig, build_config
from signlens.engine.predictor import Classifier, load_classifier
from signlens.engine.trainer import Trainer

__all__ = ["RECIPES", "Classifier", "TrainConfig", "Trainer", "build_config", "load_classifier"]
