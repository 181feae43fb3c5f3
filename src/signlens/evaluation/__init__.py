"""Evaluation layer: score a trained model on a split once, and write the run's report files."""

from signlens.evaluation.report import evaluate_images, finish_run

__all__ = ["evaluate_images", "finish_run"]
