"""Transfer backbones (layouts, widths, attention, gray stems), starting weights and staged fine-tuning."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest
import torch

from signlens.engine import Trainer, build_config
from signlens.engine.checkpoint import save_checkpoint
from signlens.engine.config import TrainConfig
from signlens.engine.finetune import StagePlan, parameter_groups, set_trainable
from signlens.engine.optim import build_optimizer, build_scheduler
from signlens.engine.stages import parse_stages
from signlens.engine.trainer import RunState
from signlens.errors import SignlensError
from signlens.models import create_model
from signlens.models.pretrained import imagenet_state_dict, load_compatible, read_state_dict

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("model", "fixture"), [("resnet18", "torchvision_resnet18"), ("mobilenetv2", "torchvision_mobilenet_v2")]
)
def test_state_dict_layout_is_torchvisions(model, fixture):
    """The fixture is torchvision's published layout (the state dicts of `torchvision.models.resnet18()`
    and `mobilenet_v2()`, as in resnet18-f37072fd.pth and mobilenet_v2-b0353104.pth), written by
    tests/fixtures/torchvision_layouts.py from torchvision's architecture definitions without signlens
    code, and checked there against the published parameter totals (11,689,512 and 3,504,872)."""
    layout = json.loads((FIXTURES / f"{fixture}.json").read_text())
    net = create_model(model, num_classes=1000, in_chans=3)
    ours = [(name, list(t.shape)) for name, t in net.state_dict().items()]
    assert ours == [(name, shape) for name, shape, _ in layout["state_dict"]]
    assert sum(p.numel() for p in net.parameters()) == layout["parameters"]
    assert {n for n, _ in net.named_parameters()} == {n for n, _, k in layout["state_dict"] if k == "param"}


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.0])
def test_mobilenet_widths_take_any_input_from_32_px(width):
    net = create_model("mobilenetv2", num_classes=36, in_chans=1, width=width, hidden=64, dropout=0.1).eval()
    with torch.no_grad():
        for size in (32, 45) if width == 0.35 else (32,):
            assert net(torch.randn(2, 1, size, size)).shape == (2, 36)
    # torchvision's rounding: the stem has make_divisible(32 * width) filters; the last conv stays 1280.
    assert net.features[0][0].out_channels == {0.35: 16, 0.5: 16, 0.75: 24, 1.0: 32}[width]
    assert net.features[-1][0].out_channels == 1280
    with pytest.raises(SignlensError, match="width must be one of"):
        create_model("mobilenetv2", 36, width=0.6)


@pytest.mark.parametrize(
    ("plain", "se", "count"), [("resnet18", "resnet18-se", 4), ("mobilenetv2", "mobilenetv2-se", 7)]
)
def test_attention_variants_keep_torchvision_names_and_start_as_identity(plain, se, count):
    base = create_model(plain, 10, in_chans=3).eval()
    attended = create_model(se, 10, in_chans=3).eval()
    report = load_compatible(attended, base.state_dict(), "base")
    assert report.unexpected == [] and report.skipped == []
    assert report.missing and all(name.startswith("attention.") for name in report.missing)
    assert len(attended.attention) == count
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(attended(x), base(x))  # gate 2*sigmoid(0) = 1 until trained


def test_gray_model_from_rgb_weights_sums_the_stem(tmp_path):
    rgb = create_model("resnet18", 5, in_chans=3).eval()
    torch.save({"state_dict": rgb.state_dict(), "extra.weight": torch.zeros(1)}, tmp_path / "rgb.pth")
    gray = create_model("resnet18", 5, in_chans=1).eval()
    report = load_compatible(gray, read_state_dict(tmp_path / "rgb.pth"), "rgb.pth")
    assert report.adapted == ["conv1.weight: [64, 3, 7, 7] -> [64, 1, 7, 7]"]
    assert report.skipped == [] and report.missing == []
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():  # a gray image is R = G = B, so summed filters give the same response
        torch.testing.assert_close(gray(x), rgb(x.expand(-1, 3, -1, -1)), rtol=1e-4, atol=1e-4)


def test_new_head_shapes_are_skipped_and_reported():
    source = create_model("resnet18", 24, in_chans=1)  # e.g. trained on Sign MNIST's 24 letters
    target = create_model("resnet18", 36, in_chans=1, hidden=64, dropout=0.1)
    report = load_compatible(target, source.state_dict(), "sign-mnist.pt")
    assert report.skipped == ["fc.weight: [24, 512] -> [36, 64]", "fc.bias: [24] -> [36]"]
    assert report.missing == ["fc_hidden.0.weight", "fc_hidden.0.bias"]
    assert "skipped (shape): fc.weight" in report.summary() and "missing (kept new)" in report.summary()
    torch.testing.assert_close(target.layer4[1].conv2.weight, source.layer4[1].conv2.weight)


def test_imagenet_weights_come_from_the_hub_cache_or_fail_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    cached = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(SignlensError, match="resnet18-f37072fd.pth") as info:
        imagenet_state_dict("resnet18", {})
    assert str(cached) in str(info.value) and "download.pytorch.org" in str(info.value)
    # A checkpoint put where the message says is used without any download.
    published = create_model("resnet18", 1000, in_chans=3).state_dict()
    cached.parent.mkdir(parents=True)
    torch.save(published, cached)
    state, path = imagenet_state_dict("resnet18-se", {})
    assert path == str(cached) and state.keys() == published.keys()
    with pytest.raises(SignlensError, match="no ImageNet checkpoint for mobilenetv2 width 0.35"):
        imagenet_state_dict("mobilenetv2", {"width": 0.35})


def test_bad_initial_weights_are_named(tmp_path):
    with pytest.raises(SignlensError, match="initial weights not found: .*nope.pt"):
        read_state_dict(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SignlensError, match="junk.pt: not a loadable state dict"):
        read_state_dict(tmp_path / "junk.pt")
    torch.save({"epoch": 3}, tmp_path / "meta.pt")
    with pytest.raises(SignlensError, match="meta.pt: holds no state dict"):
        read_state_dict(tmp_path / "meta.pt")


def test_layer_wise_decay_gives_each_group_its_rate():
    net = create_model("resnet18", 10, in_chans=1)
    groups = parameter_groups(net, lr=1e-3, lr_decay=0.5, weight_decay=1e-4)
    rates = {round(g["lr"], 10) for g in groups}
    assert rates == {round(1e-3 * 0.5**k, 10) for k in range(6)}  # head, layer4..layer1, stem
    head = [g for g in groups if any(p is net.fc.weight for p in g["params"])][0]
    stem = [g for g in groups if any(p is net.conv1.weight for p in g["params"])][0]
    assert head["lr"] == 1e-3 and stem["lr"] == pytest.approx(1e-3 / 32) and stem["weight_decay"] == 1e-4
    config = TrainConfig(lr=1e-3, lr_decay=0.5, scheduler="onecycle", epochs=2)
    optimizer = build_optimizer(net, config)
    build_scheduler(optimizer, config, steps_per_epoch=4)  # per-group peaks, not one shared max_lr
    peaks = sorted({round(g["max_lr"], 10) for g in optimizer.param_groups})
    assert peaks == sorted(rates)


def test_stage_reverts_to_its_best_weights_when_validation_loss_rises():
    class Fake:  # just what StagePlan touches
        def __init__(self):
            self.model = torch.nn.Linear(2, 2)
            self.state = RunState()
            self.config = TrainConfig(epochs=10)

    trainer = Fake()
    plan = StagePlan(parse_stages(["head:0.01:6:2", "all:0.001:4"]))
    best = None
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.9], start=1):
        trainer.state.epoch = epoch
        if loss == 0.5:
            best = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        advance = plan.after_epoch(trainer, loss)
        if epoch < 4:
            assert not advance
            trainer.model.weight.data.add_(1.0)  # training moves the weights on
    assert advance and trainer.state.stage == 1 and trainer.state.stage_epochs == 0
    torch.testing.assert_close(trainer.model.state_dict(), best)


def test_staged_finetune_from_a_signlens_checkpoint(tiny_csv_dir, tmp_path):
    source = create_model("mobilenetv2", 5, in_chans=1, width=0.35, hidden=16)
    save_checkpoint(
        tmp_path / "domain.pt",
        {"model": {"name": "mobilenetv2", "args": {}}, "state_dict": source.state_dict(),
         "class_names": list("abcde"), "preprocess": {}},
    )  # fmt: skip
    config = build_config(
        str(tiny_csv_dir), model="mobilenetv2",
        overrides={"model_args": {"width": 0.35, "hidden": 16}, "img_size": 32, "batch_size": 32, "threads": 1,
                   "init": str(tmp_path / "domain.pt"), "lr_decay": 0.8, "scheduler": "cosine",
                   "stages": ["head:0.01:1", "block7:0.003:1", "all:0.003:1"]},
    )  # fmt: skip
    assert config.epochs == 3 and config.stages[1] == {
        "unfreeze": "block7",
        "lr": 0.003,
        "epochs": 1,
        "patience": 2,
    }
    trainer = Trainer(config, tmp_path / "run", progress=False)
    (report,) = trainer.init_reports
    assert report.skipped == ["classifier.4.weight: [5, 16] -> [24, 16]", "classifier.4.bias: [5] -> [24]"]
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit(stop_after=1)  # stage 1: only the head may change, batch-norm statistics included
    after = trainer.model.state_dict()
    assert not torch.equal(after["classifier.4.weight"], start["classifier.4.weight"])
    torch.testing.assert_close(
        after["features.17.conv.3.running_mean"], start["features.17.conv.3.running_mean"]
    )
    torch.testing.assert_close(after["features.0.0.weight"], start["features.0.0.weight"])
    assert trainer.state.stage == 1  # last.pt was written after entering the next stage
    resumed = Trainer.resume(tmp_path / "run", progress=False)
    summary = resumed.fit()
    final = resumed.model.state_dict()
    assert summary["epochs_run"] == 3 and len(resumed.state.history) == 3
    assert not torch.equal(final["features.17.conv.0.0.weight"], start["features.17.conv.0.0.weight"])
    assert not torch.equal(final["features.0.0.weight"], start["features.0.0.weight"])  # "all" trained it


def test_staged_run_without_starting_weights_is_refused(tiny_csv_dir, tmp_path):
    config = build_config(
        str(tiny_csv_dir), model="mobilenetv2", overrides={"img_size": 32, "stages": ["head:0.01:1"]}
    )
    with pytest.raises(SignlensError, match="--pretrained imagenet or --init PATH"):
        Trainer(config, tmp_path / "r", progress=False)
    with pytest.raises(SignlensError, match="layer groups are: all, stem, block1"):
        set_trainable(create_model("mobilenetv2", 4), "layer4")
