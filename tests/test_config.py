from __future__ import annotations

import pytest

from signlens.engine.config import RECIPES, build_config
from signlens.errors import SignlensError


def test_sign_mnist_without_model_uses_the_default_recipe():
    config = build_config("sign-mnist")
    assert config.model == RECIPES["sign-mnist-fast"]["model"]
    assert config.scheduler == "onecycle" and config.augment.hflip == 0.0
    # Naming a model leaves the recipe out: plain defaults apply.
    assert build_config("sign-mnist", model="mlp").model == "mlp"


def test_precedence_defaults_recipe_yaml_flags(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\nlr: 0.01\naugment:\n  rotation: 5\n")
    config = build_config("sign-mnist", yaml_path=path, overrides={"lr": 0.02, "seed": 7, "epochs": None})
    assert (config.epochs, config.lr, config.seed) == (3, 0.02, 7)
    assert (
        config.augment.rotation == 5
        and config.augment.scale == RECIPES["sign-mnist-fast"]["augment"]["scale"]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epoch: 3\n", r"unknown config key\(s\) \['epoch'\]"),
        ("augment:\n  flip: 1\n", r"unknown augment key"),
        ("- 1\n", "expected a mapping"),
        ("epochs: [\n", "invalid YAML"),
    ],
)
def test_bad_config_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SignlensError, match=message):
        build_config("sign-mnist", yaml_path=path)


def test_invalid_values_are_rejected():
    with pytest.raises(SignlensError, match="unknown optimizer 'lion'"):
        build_config("x", model="mlp", overrides={"optimizer": "lion"})
    with pytest.raises(SignlensError, match="unknown scheduler"):
        build_config("x", model="mlp", overrides={"scheduler": "warm"})
    with pytest.raises(SignlensError, match="no data given"):
        build_config(None)
    with pytest.raises(SignlensError, match=r"ema_decay must lie in \[0, 1\)"):
        build_config("x", model="mlp", overrides={"ema_decay": 1.0})
    with pytest.raises(SignlensError, match="ema_decay cannot be combined"):
        build_config("x", model="resnet18", overrides={"ema_decay": 0.99, "stages": ["head:1e-3:1"]})
