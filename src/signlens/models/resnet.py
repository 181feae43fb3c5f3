"""ResNet18, written here because torchvision cannot be imported; parameter names and shapes follow
torchvision's `resnet18` exactly (conv1, bn1, layer1..layer4 of BasicBlocks, fc), so its published
ImageNet state dict loads unchanged (tests/fixtures/torchvision_resnet18.json holds that layout).

Additions keep their own names outside torchvision's: channel attention lives in `attention.*` and an
optional hidden head layer in `fc_hidden`, so they show up as new keys instead of shifting old ones.
"""

from __future__ import annotations

from torch import nn

from signlens.models.layers import SqueezeExcite
from signlens.models.registry import register

STAGE_WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNet18(nn.Module):
    stem_key = "conv1.weight"  # the tensor whose input channels follow in_chans

    def __init__(self, num_classes: int, in_chans: int = 3, hidden: int = 0, dropout: float = 0.0, se=False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for index, cout in enumerate(STAGE_WIDTHS, start=1):
            stride = 1 if index == 1 else 2
            setattr(
                self, f"layer{index}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))
            )
            cin = cout
        self.attention = nn.ModuleDict(
            {f"layer{i}": SqueezeExcite(w, identity_start=True) for i, w in enumerate(STAGE_WIDTHS, start=1)}
            if se
            else {}
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc_hidden = (
            nn.Sequential(nn.Linear(cin, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
            if hidden
            else None
        )
        self.fc = nn.Linear(hidden or cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # torchvision's initialisation, for training from scratch
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.attention.values():
            m.reset_parameters()  # kaiming above would break the attention's identity start

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            name = f"layer{index}"
            x = getattr(self, name)(x)
            if name in self.attention:
                x = self.attention[name](x)
        x = self.dropout(self.avgpool(x).flatten(1))
        if self.fc_hidden is not None:
            x = self.fc_hidden(x)
        return self.fc(x)

    def layer_groups(self) -> list[tuple[str, list[str]]]:
        """Input to output, the units that staged fine-tuning unfreezes and LR decay steps through."""
        groups = [("stem", ["conv1.", "bn1."])]
        for i in range(1, 5):
            groups.append((f"layer{i}", [f"layer{i}.", f"attention.layer{i}."]))
        return groups + [("head", ["fc.", "fc_hidden."])]


@register("resnet18")
@register("resnet18-se", se=True)
def resnet18(
    num_classes: int, in_chans: int = 3, hidden: int = 0, dropout: float = 0.0, se: bool = False
) -> nn.Module:
    """torchvision-compatible ResNet18; `hidden` adds a dense layer before the classifier; `se` (the -se
    variant) adds channel attention after layer1..layer4 (64, 128, 256, 512 channels)."""
    return ResNet18(num_classes, in_chans, hidden, dropout, se=se)
