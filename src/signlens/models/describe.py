"""What a network costs: parameters and multiply-accumulates per input."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def count_macs(model: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates per input of one forward pass at `input_shape` (batch first), from torch's
    FLOP counter (convolutions and matrix products; one MAC is two FLOPs). Batch norm, activations,
    pooling and additions are not counted."""
    was_training = model.training
    try:
        model.eval()
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(*input_shape))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops() // 2 // max(1, input_shape[0]))
