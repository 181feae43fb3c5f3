"""Optimizers and learning-rate schedules by name."""

from __future__ import annotations

import torch

from signlens.engine.config import TrainConfig
from signlens.engine.finetune import parameter_groups


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.stages or config.lr_decay != 1.0:
        # One group per layer group and kind, each with its own (layer-wise decayed) learning rate.
        groups = parameter_groups(model, config.lr, config.lr_decay, config.weight_decay)
    else:
        # No weight decay on biases and norm scales: decaying them only fights BatchNorm.
        decay, no_decay = [], []
        for param in model.parameters():
            if param.requires_grad:
                (no_decay if param.ndim <= 1 else decay).append(param)
        groups = [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
    name, lr = config.optimizer, config.lr
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=config.momentum, nesterov=config.momentum > 0)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.RMSprop(groups, lr=lr, momentum=config.momentum)


def build_scheduler(optimizer, config: TrainConfig, steps_per_epoch: int):
    """Returns (scheduler, when): `when` is "batch", "epoch" or "val" (plateau steps on validation loss)."""
    total = config.epochs * steps_per_epoch
    name = config.scheduler
    if name == "onecycle":
        # Per-group peaks keep layer-wise decay; a single max_lr would overwrite every group's rate.
        peaks = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
        pct = config.warmup_fraction
        if total * pct - 1 == 0:  # torch divides by (warm-up steps - 1): zero for a one-step warm-up
            pct *= 1 + 1e-6
        sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total, pct_start=pct)
        return sched, "batch"
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), "batch"
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=config.step_size, gamma=config.gamma
        ), "epoch"
    if name == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=config.gamma, patience=2)
        return sched, "val"
    return None, "none"


def make_ema(model: torch.nn.Module, decay: float):
    """An exponential moving average of the weights (and batch-norm statistics), updated every step;
    None when decay is 0. Averaging the last few hundred steps of a run smooths out where the final
    mini-batches happened to leave the weights."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
