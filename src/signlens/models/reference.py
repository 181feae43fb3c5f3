"""Reference architectures from the seed study, kept so comparisons run side by side on one machine."""

from __future__ import annotations

from torch import nn

from signlens.models.registry import register


def _stage(cin: int, widths: tuple[int, ...], dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for cout in widths:
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        cin = cout
    return layers + [nn.MaxPool2d(2), nn.Dropout2d(dropout)]


@register("s0-customcnn")
def s0_customcnn(num_classes: int, in_chans: int = 1, img_size: int = 28) -> nn.Module:
    """The seed study's CustomCNN: convs 32,32 | 64,64 | 128 (3x3, 'same' padding, with bias) + BN +
    ReLU, max-pool and Dropout2d(0.25) after each stage, then FC 1152 -> 256 -> classes with dropout
    0.5. 440,824 parameters for 24 classes on 1-channel 28x28 input."""
    side = img_size
    for _ in range(3):
        side //= 2  # MaxPool2d(2) floors: 28 -> 14 -> 7 -> 3
    if side < 1:
        raise ValueError(f"s0-customcnn needs img_size >= 8, got {img_size}")
    return nn.Sequential(
        *_stage(in_chans, (32, 32), 0.25),
        *_stage(32, (64, 64), 0.25),
        *_stage(64, (128,), 0.25),
        nn.Flatten(),
        nn.Linear(128 * side * side, 256),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(256, num_classes),
    )
