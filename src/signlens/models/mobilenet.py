"""MobileNetV2 with a width multiplier, written here because torchvision cannot be imported.

Parameter names and shapes follow torchvision's `mobilenet_v2` (features.0 .. features.18, then
classifier.1), including its channel rounding, so the published ImageNet state dict loads unchanged
at width 1.0 (tests/fixtures/torchvision_mobilenet_v2.json holds that layout). Any input >= 32 px
works: the network downsamples 32x and ends in a global average pool.
"""

from __future__ import annotations

from torch import nn

from signlens.errors import SignlensError
from signlens.models.layers import SqueezeExcite
from signlens.models.registry import register

# (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper, Table 2.
SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
# 0.35..1.0 have published ImageNet weights; 0.1 is the seed study S4's smallest (scratch only).
WIDTHS = (0.1, 0.35, 0.5, 0.75, 1.0)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8 without losing more than 10%: the rule the published
    widths were trained with, so shapes match them."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn_relu6(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise -> 1x1 linear projection; a shortcut when the shape is unchanged."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = int(round(cin * expand))
        layers = [conv_bn_relu6(cin, hidden, kernel=1)] if expand != 1 else []
        layers += [
            conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_shortcut = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_shortcut else self.conv(x)


class MobileNetV2(nn.Module):
    stem_key = "features.0.0.weight"

    def __init__(self, num_classes, in_chans=3, width=1.0, hidden=0, dropout=0.2, se=False):
        super().__init__()
        if float(width) not in WIDTHS:
            raise SignlensError(f"mobilenetv2 width must be one of {WIDTHS}, got {width}")
        cin = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        blocks: list[nn.Module] = [conv_bn_relu6(in_chans, cin, stride=2)]
        self.stage_ends: list[int] = []  # feature index that closes each setting's stage
        attention = {}
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * width)
            for i in range(n):
                blocks.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
            self.stage_ends.append(len(blocks) - 1)
            if se:
                attention[str(len(blocks) - 1)] = SqueezeExcite(cout, identity_start=True)
        blocks.append(conv_bn_relu6(cin, last, kernel=1))
        self.features = nn.Sequential(*blocks)
        # Kept outside `features` (keyed by the feature index it follows) so torchvision's indices hold.
        self.attention = nn.ModuleDict(attention)
        head: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden:
            head += [nn.Linear(last, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        self.classifier = nn.Sequential(*head, nn.Linear(hidden or last, num_classes))
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's scheme, for training from scratch."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        for m in self.attention.values():
            m.reset_parameters()

    def forward(self, x):
        for index, block in enumerate(self.features):
            x = block(x)
            if str(index) in self.attention:
                x = self.attention[str(index)](x)
        return self.classifier(x.mean((2, 3)))

    def layer_groups(self) -> list[tuple[str, list[str]]]:
        """stem, block1..block7 (one per setting row, with its attention), last (the 1x1 to 1280), head."""
        groups, start = [("stem", ["features.0."])], 1
        for number, end in enumerate(self.stage_ends, start=1):
            prefixes = [f"features.{i}." for i in range(start, end + 1)] + [f"attention.{end}."]
            groups.append((f"block{number}", prefixes))
            start = end + 1
        last = len(self.features) - 1
        return groups + [("last", [f"features.{last}."]), ("head", ["classifier."])]


@register("mobilenetv2")
@register("mobilenetv2-se", se=True)
def mobilenetv2(
    num_classes: int,
    in_chans: int = 3,
    width: float = 1.0,
    hidden: int = 0,
    dropout: float = 0.2,
    se: bool = False,
) -> nn.Module:
    """torchvision-compatible MobileNetV2; width 0.35 | 0.5 | 0.75 | 1.0; `hidden` adds a dense layer;
    `se` (the -se variant) adds channel attention after each of its seven stages."""
    return MobileNetV2(num_classes, in_chans, width, hidden, dropout, se=se)
