"""Typed training configuration: every key, its default, help, allowed values and flag, in one place.

Precedence, lowest first: dataclass defaults < recipe (engine/recipes.py) < YAML file < command-line
flags. Each field's `option(...)` (engine/schema.py) is what the CLI builds its flags from and what
`validate` checks, so a key is declared here once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from signlens.data.configs import AugmentConfig, LandmarkConfig
from signlens.engine.recipes import DEFAULT_RECIPES, RECIPES
from signlens.engine.schema import Option, check_fields, option, options_of
from signlens.engine.schema import key_type as _key_type
from signlens.engine.stages import parse_stages
from signlens.errors import SignlensError, check_range

__all__ = ["DEFAULT_RECIPES", "RECIPES", "TrainConfig", "apply_overrides", "build_config", "check_range"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")
UINT32 = "[0, 4294967295]"  # numpy's seeds are 32-bit


def key_type(key: str) -> type | None:
    """The scalar type of a dotted config key (`lr`, `augment.rotation`); None for a free-form one
    (model_args.*) or a block; an unknown key is a SignlensError naming it."""
    return _key_type(TrainConfig, key)


@dataclass
class TrainConfig:
    data: str = option(
        "sign-mnist",
        "Named data set (sign-mnist, asl-dataset) or a path: Kaggle CSV or zip, or a folder of class folders.",
        flags=("--data", "-d"),
    )
    model: str = option(
        "custom-cnn",
        "Architecture from `signlens models`. Without it, the data set's default recipe (sign-mnist: "
        "sign-mnist-fast).",
        flags=("--model", "-m"),
    )
    model_args: dict[str, Any] = option(
        help="Architecture argument KEY=VALUE (repeatable), e.g. se=true.",
        factory=dict,
        flags=("--model-arg",),
        form="key=value",
    )
    img_size: int | None = option(
        None, "Input size in pixels [default: 28 for Sign MNIST, 64 for photos].", within="[8, 1024]"
    )
    in_chans: int | None = option(
        None, "1 (gray) or 3 (RGB) [default: the data's own].", choices={1: "gray", 3: "RGB"}
    )
    epochs: int = option(20, "Number of epochs (staged recipes: the stages' sum).", within="[1, 100000]")
    batch_size: int = option(128, "Training batch size.", within="[1, 1000000]")
    eval_batch_size: int = option(
        1024, "Batch size for scoring validation and test (memory and speed only).", within="[1, 1000000]"
    )
    optimizer: str = option("adamw", "{choices}.", choices=OPTIMIZERS, unknown=True)
    lr: float = option(1e-3, "Learning rate (the peak rate for one-cycle).", within="(0, 10]")
    momentum: float = option(0.9, "Momentum of SGD and RMSprop.", within="[0, 1)")
    weight_decay: float = option(1e-4, "Weight decay (not applied to biases and norms).", within="[0, 10]")
    scheduler: str = option("onecycle", "{choices}.", choices=SCHEDULERS, unknown=True)
    step_size: int = option(10, "Step scheduler: epochs between decays.", within="[1, 100000]")
    gamma: float = option(0.1, "Decay factor of the step and plateau schedulers.", within="(0, 1]")
    warmup_fraction: float = option(0.25, "One-cycle: share of the steps spent warming up.", within="(0, 1)")
    label_smoothing: float = option(
        0.0, "Label smoothing for the cross-entropy loss, in {range}.", within="[0, 1)"
    )
    grad_clip: float = option(0.0, "Clip the gradient norm to this value (0: off).", within="[0, 1e6]")
    ema_decay: float = option(
        0.0, "Evaluate and save a moving average of the weights (e.g. 0.99; 0: off).", within="[0, 1)"
    )
    patience: int = option(
        0, "Stop after this many epochs without validation improvement (0: off).", within="[0, 100000]"
    )
    val_fraction: float = option(
        0.1,
        "Share of the training part held out for model selection [default: the recipe's, else {default}].",
        within="(0, 1)",
    )
    test_fraction: float = option(
        0.2, "Share held out for testing where the data has no official test split.", within="(0, 1)"
    )
    split_seed: int = option(
        0,
        "Seed of the data split, apart from --seed so every training seed sees the same split.",
        within=UINT32,
    )
    seed: int = option(
        0,
        "Seed for initialisation, shuffling and augmentation, in {range} [default: {default}].",
        within=UINT32,
    )
    deterministic: bool = option(False, "Deterministic algorithms (slower on GPU).")
    device: str = option("auto", "{choices}.", choices=("auto", "cpu", "cuda"))
    amp: bool = option(True, "Mixed precision on CUDA.")
    threads: int = option(0, "CPU threads for torch (0: torch's default).", within="[0, 1024]")
    channels_last: bool = option(False, "NHWC memory layout for conv models.")
    augment: AugmentConfig = option(
        help="Turn batch augmentation off.",
        factory=AugmentConfig,
        flags=("--no-augment",),
        form="off-switch",
    )
    classes: str = option(
        "all", "all | letters (the 24 static letters) | digits | a comma list [default: {default}]."
    )
    landmarks: LandmarkConfig = option(
        help="Landmark features and their augmentation, for --data landmarks:FILE (set in YAML).",
        factory=LandmarkConfig,
        flags=None,
    )
    # Transfer learning (signlens.engine.finetune).
    pretrained: str | None = option(
        None, "imagenet: torchvision's published weights, from torch.hub's cache.", choices=("imagenet",)
    )
    init: str | None = option(
        None,
        "Start from this state dict or signlens checkpoint (what fits by name and shape).",
        form="path",
    )  # loaded after pretrained
    stages: list[Any] = option(
        help="Staged fine-tuning, e.g. head:0.002:5,layer4:1e-4:5,layer3:1e-4:5 (GROUP:LR:EPOCHS[:PATIENCE]).",
        factory=list,
        form="comma-list",
    )  # [{unfreeze, lr, epochs, patience}]; sets epochs
    lr_decay: float = option(
        1.0, "Layer-wise LR decay: each layer group below the head gets this factor more.", within="(0, 1]"
    )
    freeze_bn: bool = option(False, "Keep batch-norm statistics and scales fixed.")
    normalize: str = option(
        "auto",
        "auto (ImageNet stats with ImageNet weights, else the data's) | data | imagenet.",
        choices=("auto", "data", "imagenet"),
    )
    recipe: str | None = option(None, "Named recipe (see `signlens models`); flags override it.")

    def validate(self) -> TrainConfig:
        """Check values against their meaning (types are checked when values are applied)."""
        check_fields(self, options_of(TrainConfig))
        if not self.classes.strip():
            raise SignlensError("classes must be all, letters, digits or a comma list, got ''")
        for block, rules in BLOCK_OPTIONS.items():
            check_fields(getattr(self, block), rules, f"{block}.")
        self.landmarks.check()
        if self.stages and self.ema_decay:
            raise SignlensError(
                "ema_decay cannot be combined with staged fine-tuning (stages revert weights)"
            )
        if self.stages:
            # A staged run lasts as long as its stages; epochs follows so progress and resume agree.
            self.stages = [dataclasses.asdict(s) for s in parse_stages(self.stages)]
            self.epochs = sum(s["epochs"] for s in self.stages)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "config") -> TrainConfig:
        if not isinstance(values, dict):
            raise SignlensError(
                f"{where}: the training config must be a mapping, not {type(values).__name__}"
            )
        return apply_overrides(cls(), values, where)


# The rules of the nested blocks' keys (set in YAML as augment: {...} / landmarks: {...}); their
# dataclasses live with the data code that reads them.
_DEGREES_OR_SHARE = Option(within="[0, 360]")
_PROBABILITY = Option(within="[0, 1]")
BLOCK_OPTIONS: dict[str, dict[str, Option]] = {
    "augment": {
        **dict.fromkeys(
            ("rotation", "scale", "translate", "shear", "brightness", "contrast", "color"), _DEGREES_OR_SHARE
        ),
        "hflip": _PROBABILITY,
        "gray": _PROBABILITY,
    },
    "landmarks": {
        "points": Option(choices=("world", "image", "both")),
        "mask_size": Option(within="[8, 256]"),
        **dict.fromkeys(("rotation", "scale", "finger_jitter", "noise"), _DEGREES_OR_SHARE),
        "mirror": _PROBABILITY,
    },
}


def apply_overrides(config: TrainConfig, values: dict[str, Any], where: str) -> TrainConfig:
    """Return a copy of `config` with `values` applied, each parsed by its field's type (YAML's
    `lr: 1e-3` is a string to PyYAML, a float here); an unknown key or a value of the wrong type is a
    SignlensError naming `where` and the key."""
    if not isinstance(values, dict):
        raise SignlensError(f"{where}: expected a mapping of config keys")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(str(k) for k in set(values) - known)
    if unknown:
        raise SignlensError(f"{where}: unknown config key(s) {unknown}")
    merged = asdict(config)
    for key, value in values.items():
        if key in ("augment", "landmarks"):
            kind = AugmentConfig if key == "augment" else LandmarkConfig
            if isinstance(value, kind):
                value = asdict(value)
            if not isinstance(value, dict):
                raise SignlensError(f"{where}: '{key}' must be a mapping")
            bad = sorted(str(k) for k in set(value) - {f.name for f in dataclasses.fields(kind)})
            if bad:
                raise SignlensError(f"{where}: unknown {key} key(s) {bad}")
            value = {**merged[key], **value}
        merged[key] = value
    return parse_config(merged, where)


def parse_config(values: dict[str, Any], where: str) -> TrainConfig:
    from pydantic import TypeAdapter, ValidationError

    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(TrainConfig)
    try:
        return _ADAPTER.validate_python(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            key = ".".join(str(part) for part in error["loc"]) or "config"
            problems.append(f"{key}: {error['msg']} (got {_short(error.get('input'))})")
        raise SignlensError(f"{where}: " + "; ".join(problems)) from None


_ADAPTER = None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise SignlensError(f"config file not found: {path}")
    if not path.is_file():  # a FIFO or device: reading it could block for ever
        raise SignlensError(f"cannot read config file {path}: not a regular file")
    if path.stat().st_size > 1024 * 1024:
        raise SignlensError(f"{path}: over 1 MiB; a config file is a few lines of YAML")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise SignlensError(f"{path}: not a text file (UTF-8 YAML expected)") from None
    except OSError as exc:
        raise SignlensError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise SignlensError(f"{path}: invalid YAML: {first}") from None
    if not isinstance(values, dict):
        raise SignlensError(f"{path}: expected a mapping of config keys")
    # A run's own config.yaml carries provenance next to the config; accept it as input too.
    values.pop("provenance", None)
    return values


def build_config(
    data: str | None,
    model: str | None = None,
    recipe: str | None = None,
    yaml_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    values: dict[str, Any] = load_yaml_config(yaml_path) if yaml_path else {}
    recipe = recipe or values.pop("recipe", None)
    data = data or values.get("data")
    if not data:
        raise SignlensError("no data given: pass --data NAME|PATH (or set 'data' in the config file)")
    if recipe is None and model is None and "model" not in values:
        recipe = DEFAULT_RECIPES.get(data)
    config = TrainConfig(data=data)
    if recipe:
        if recipe not in RECIPES:
            raise SignlensError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
        config = apply_overrides(config, RECIPES[recipe], f"recipe {recipe}")
    config = apply_overrides(config, values, str(yaml_path))
    cli = {k: v for k, v in (overrides or {}).items() if v is not None}
    if model:
        cli["model"] = model
    config = apply_overrides(config, cli, "command line")
    config.data = data
    config.recipe = recipe or None
    return config.validate()
