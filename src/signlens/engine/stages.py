"""The stages of a staged fine-tuning run as a training config gives them (engine.finetune runs them).

Parsed apart from the trainer, so that checking a config (engine.config, the CLI's flags) needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from signlens.errors import SignlensError


@dataclass
class Stage:
    unfreeze: str  # a layer group name (see layer_groups), or "all"
    lr: float
    epochs: int
    patience: int = 2  # epochs without a lower validation loss before the stage ends; 0: never


def parse_stages(values: list) -> list[Stage]:
    """Config entries are dicts ({unfreeze, lr, epochs[, patience]}) or "unfreeze:lr:epochs[:patience]"."""
    stages = []
    for value in values:
        if isinstance(value, str):
            parts = value.split(":")
            if len(parts) not in (3, 4):
                raise SignlensError(
                    f"stage {value!r}: expected GROUP:LR:EPOCHS[:PATIENCE], e.g. head:0.002:5"
                )
            keys = ("unfreeze", "lr", "epochs", "patience")[: len(parts)]
            value = dict(zip(keys, parts, strict=True))
        if not isinstance(value, dict):
            raise SignlensError(f"stage {value!r}: expected a mapping or GROUP:LR:EPOCHS")
        try:
            stage = Stage(
                str(value["unfreeze"]),
                float(value["lr"]),
                int(value["epochs"]),
                int(value.get("patience", 2)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SignlensError(f"stage {value!r}: needs unfreeze, lr and epochs ({exc})") from None
        if stage.lr <= 0 or stage.epochs < 1:
            raise SignlensError(f"stage {value!r}: lr must be positive and epochs at least 1")
        stages.append(stage)
    return stages
