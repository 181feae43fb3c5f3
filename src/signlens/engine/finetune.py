"""Transfer learning in the trainer: starting weights, layer groups, staged unfreezing, layer-wise
learning-rate decay and frozen batch norm.

A stage names the layer group it unfreezes (cumulative: `head`, then `layer4`, then `layer3` trains
head + layer4 + layer3), its learning rate and epochs. Within a stage, validation loss is watched; when
it has not improved for `patience` epochs the stage ends and the model reverts to the stage's best
weights, which the next stage starts from.
"""

from __future__ import annotations

import copy
import dataclasses

from torch import nn

from signlens.engine.stages import Stage, parse_stages
from signlens.errors import SignlensError
from signlens.models.pretrained import imagenet_state_dict, load_compatible, read_state_dict


def layer_groups(model: nn.Module) -> list[tuple[str, list[str]]]:
    """Parameter-name prefixes per layer group, input to output. Models may define `layer_groups()`;
    otherwise each top-level child is a group and the last one is the head."""
    if hasattr(model, "layer_groups"):
        return model.layer_groups()
    names = [name for name, child in model.named_children() if any(True for _ in child.parameters())]
    groups = [(name, [f"{name}."]) for name in names]
    if groups:
        groups[-1] = ("head", groups[-1][1])
    return groups


def group_index(model: nn.Module) -> dict[str, int]:
    """Parameter name -> depth of its layer group (0 = input side). Unmatched names join the head."""
    groups = layer_groups(model)
    depth = {}
    for name, _ in model.named_parameters():
        matches = [i for i, (_, prefixes) in enumerate(groups) if any(name.startswith(p) for p in prefixes)]
        depth[name] = matches[0] if matches else len(groups) - 1
    return depth


def set_trainable(model: nn.Module, down_to: str) -> None:
    """Train the named group and every group after it (towards the head); freeze the rest."""
    groups = layer_groups(model)
    names = [name for name, _ in groups]
    if down_to == "all":
        first = 0
    elif down_to in names:
        first = names.index(down_to)
    else:
        raise SignlensError(
            f"stage unfreezes {down_to!r}; this model's layer groups are: all, {', '.join(names)}"
        )
    depth = group_index(model)
    for name, param in model.named_parameters():
        param.requires_grad_(depth[name] >= first)


def parameter_groups(model: nn.Module, lr: float, lr_decay: float, weight_decay: float) -> list[dict]:
    """Optimizer groups for the trainable parameters: lr * lr_decay ** (groups below the head), and no
    weight decay on biases and norm scales."""
    depth = group_index(model)
    top = max(depth.values(), default=0)
    buckets: dict[tuple[int, bool], list] = {}
    for name, param in model.named_parameters():
        if param.requires_grad:
            buckets.setdefault((depth[name], param.ndim <= 1), []).append(param)
    return [
        {"params": params, "lr": lr * lr_decay ** (top - d), "weight_decay": 0.0 if flat else weight_decay}
        for (d, flat), params in sorted(buckets.items())
    ]


def set_norm_mode(model: nn.Module, freeze_bn: bool) -> None:
    """After model.train(): batch norms that are frozen (by option, or because their layer is not being
    trained) keep their running statistics, otherwise a frozen layer would still drift."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters())  # none when affine=False: such a norm is never "frozen"
            trainable = not params or any(p.requires_grad for p in params)
            if freeze_bn or not trainable:
                module.eval()
                if freeze_bn:
                    for p in module.parameters():
                        p.requires_grad_(False)


def initial_weights(
    model: nn.Module, model_name: str, model_args: dict, pretrained: str | None, init: str | None
):
    """Load --pretrained imagenet and/or --init PATH (in that order) into the model; returns the reports."""
    reports = []
    if pretrained:
        if pretrained != "imagenet":
            raise SignlensError(f"--pretrained takes 'imagenet', got {pretrained!r}")
        state, path = imagenet_state_dict(model_name, model_args)
        reports.append(load_compatible(model, state, path))
    if init:
        reports.append(load_compatible(model, read_state_dict(init), str(init)))
    for report in reports:
        if not report.loaded:
            raise SignlensError(
                f"{report.source}: no tensor matches this model ({model_name}) by name and shape"
            )
    return reports


class StagePlan:
    """Walks the trainer through its stages; the trainer calls `enter` and `after_epoch`."""

    def __init__(self, stages: list[Stage]):
        self.stages = stages
        self.best_loss = float("inf")
        self.best_state: dict | None = None

    @classmethod
    def from_config(cls, stages: list) -> StagePlan:
        """The plan of a config's `stages` entries (engine.stages)."""
        return cls(parse_stages(stages))

    def enter(self, trainer) -> None:
        """Set up the current stage (trainable groups, optimizer, schedule) at its first epoch; after the
        last stage, rebuild the last one so a finished run's optimizer state still fits on resume."""
        c = trainer.config
        stage = self.stages[min(trainer.state.stage, len(self.stages) - 1)]
        set_trainable(trainer.model, stage.unfreeze)
        if c.freeze_bn:
            set_norm_mode(trainer.model, True)
        stage_config = dataclasses.replace(c, lr=stage.lr, epochs=stage.epochs, stages=[])
        trainer.rebuild_optimizer(stage_config)
        self.best_loss, self.best_state = float("inf"), None

    def after_epoch(self, trainer, val_loss: float) -> bool:
        """Track the stage's best weights; returns True when a new stage should be entered next epoch."""
        s = trainer.state
        stage = self.stages[s.stage]
        s.stage_epochs += 1
        if val_loss < self.best_loss:
            self.best_loss, s.stage_since_best = val_loss, 0
            self.best_state = copy.deepcopy(trainer.model.state_dict())
        else:
            s.stage_since_best += 1
        rising = bool(stage.patience) and s.stage_since_best >= stage.patience
        if not rising and s.stage_epochs < stage.epochs:
            return False
        if self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)  # revert before the next stage builds on it
        s.stage, s.stage_epochs, s.stage_since_best = s.stage + 1, 0, 0
        if s.stage >= len(self.stages):
            s.stopped_early = s.stopped_early or s.epoch < trainer.config.epochs
            return False
        return True


def needs_custom_groups(config) -> bool:
    return bool(config.stages) or config.lr_decay != 1.0


def trainable_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
