"""Scratch models for small gray images: a 2-conv baseline, a 4-block CNN with BN/dropout/SE, an MLP,
and the small fast CNN that the default Sign MNIST recipe trains."""

from __future__ import annotations

from torch import nn

from signlens.models.layers import SqueezeExcite
from signlens.models.registry import register


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


@register("baseline-cnn")
def baseline_cnn(num_classes: int, in_chans: int = 1, hidden: int = 128, dropout: float = 0.25) -> nn.Module:
    """Two conv layers, each with max-pool, then one hidden dense layer."""
    return nn.Sequential(
        nn.Conv2d(in_chans, 32, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(7),  # any input size; a no-op at 28 px
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(64 * 7 * 7, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


class CustomCNN(nn.Module):
    """Four conv blocks (conv-BN-ReLU[-SE]-pool-dropout) and a global-pool classifier."""

    def __init__(
        self, num_classes, in_chans=1, widths=(32, 64, 128, 256), dropout=0.2, head_dropout=0.4, se=False
    ):
        super().__init__()
        blocks, cin = [], in_chans
        for cout in widths:
            blocks += conv_bn_relu(cin, cout)
            if se:
                blocks.append(SqueezeExcite(cout))
            # Pool only while the map is large enough; 28 px supports three halvings.
            blocks += [nn.MaxPool2d(2, ceil_mode=True), nn.Dropout2d(dropout)]
            cin = cout
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(head_dropout), nn.Linear(cin, num_classes)
        )

    def forward(self, x):
        return self.head(self.features(x))


@register("custom-cnn")
@register("custom-cnn-se", se=True)
def custom_cnn(
    num_classes: int, in_chans: int = 1, widths=(32, 64, 128, 256), dropout: float = 0.2, se: bool = False
) -> nn.Module:
    return CustomCNN(num_classes, in_chans, tuple(widths), dropout, se=se)


@register("mlp")
def mlp(
    num_classes: int, in_chans: int = 1, img_size: int = 28, hidden=(300, 100), dropout: float = 0.0
) -> nn.Module:
    """The seeds' scratch baseline: 784-300-100 on flattened 28x28 pixels."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_chans * img_size * img_size
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register("fast-cnn")
def fast_cnn(
    num_classes: int,
    in_chans: int = 1,
    img_size: int = 28,
    widths=(16, 32, 64),
    stem_kernel: int = 5,
    hidden: int = 128,
    dropout: float = 0.3,
) -> nn.Module:
    """The default Sign MNIST model: three stride-2 conv-BN-ReLU stages (28 -> 14 -> 7 -> 4), then a small
    dense head. Downsampling in the first layer is what keeps batch-1 latency in tens of microseconds;
    the dense head (not global pooling) keeps where-in-the-hand information that letters differ by."""
    layers: list[nn.Module] = []
    cin, size = in_chans, img_size
    for i, cout in enumerate(widths):
        kernel = stem_kernel if i == 0 else 3
        layers += conv_bn_relu(cin, cout, kernel=kernel, stride=2)
        cin, size = cout, (size + 2 * (kernel // 2) - kernel) // 2 + 1
    layers.append(nn.Flatten())  # the map size follows from img_size, so no pooling op is needed
    width = cin * size * size
    if hidden:
        layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
