"""A study written down: a base training config, a search space, a protocol and seeds (studies/*.yaml).

    name: s4-mobilenet-width
    base: {data: sign-mnist, recipe: mobilenetv2-gray96, epochs: 3}   # TrainConfig keys; recipe allowed
                                     # (no model nor recipe: the data's default recipe, as in train)
    protocol: {split: test, metric: accuracy, select: val}           # or split: kfold|signer|take|duplicates
    seeds: [0, 1, 2]
    sampler: grid                    # grid: every point x every seed | tpe: n_trials open search, pruned
    space:
      model_args.width: [0.1, 0.35]  # a config key (dotted into augment / landmarks / model_args): values
      lr: {low: 1.0e-4, high: 1.0e-2, log: true}                     # a range (tpe only)
      augmentation: {all: {}, none: {augment: {enabled: false}}}     # named presets of config overrides

A file may hold several `parts` (a list of such specs); its other top-level keys are their defaults.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from signlens.engine.config import TrainConfig, apply_overrides, build_config, key_type
from signlens.errors import SignlensError

SPLITS = ("test", "kfold", "signer", "take", "duplicates")
SAMPLERS = ("grid", "tpe")
RANGE_KEYS = {"low", "high", "log", "step", "int"}
NESTED = ("augment", "landmarks", "model_args")
SPEC_KEYS = {"name", "description", "base", "protocol", "seeds", "sampler", "n_trials", "pruner", "space"}


@dataclass
class Protocol:
    split: str = "test"
    folds: int = 5
    group_pattern: str | None = None
    metric: str = "accuracy"  # a key of the test metrics (accuracy, macro_f1, handshape_accuracy)
    select: str | None = None  # what ranks configurations: val (split test) or test (the CV fold mean)

    def __post_init__(self):
        if self.split not in SPLITS:
            raise SignlensError(f"protocol.split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.select is None:
            self.select = "val" if self.split == "test" else "test"
        if self.select not in ("val", "test"):
            raise SignlensError(f"protocol.select must be val or test, got {self.select!r}")
        if self.select == "val" and self.split != "test":
            raise SignlensError(
                "protocol.select: val needs split: test (CV folds rank by their held-out mean)"
            )


@dataclass
class Dimension:
    name: str
    kind: str  # values | range | presets
    values: list[Any] = field(default_factory=list)  # values, or preset names
    presets: dict[str, dict] = field(default_factory=dict)
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    integer: bool = False

    def suggest(self, trial) -> Any:
        if self.kind == "range":
            if self.integer:
                return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        return trial.suggest_categorical(self.name, self.values)

    def ends(self) -> list[Any]:
        """A range's two ends as the trials will see them; each fits the key's own range."""
        return [int(self.low), int(self.high)] if self.integer else [self.low, self.high]

    def overrides(self, value: Any) -> dict:
        if self.kind == "presets":
            return copy.deepcopy(self.presets[value])
        return dotted(self.name, value)


@dataclass
class StudySpec:
    name: str
    base: dict
    protocol: Protocol
    seeds: list[int]
    sampler: str
    space: list[Dimension]
    n_trials: int | None = None
    pruner: str = "median"
    description: str = ""

    def grid(self) -> list[dict]:
        """Every point of a grid study, seed included, in a fixed order."""
        names = [d.name for d in self.space] + ["seed"]
        axes = [d.values for d in self.space] + [self.seeds]
        return [dict(zip(names, point, strict=True)) for point in itertools.product(*axes)]

    def config_for(self, params: dict, seed: int) -> TrainConfig:
        """The TrainConfig of one run: base, then each dimension's overrides, then the seed."""
        base = dict(self.base)
        config = build_config(
            base.pop("data", None), model=base.pop("model", None), recipe=base.pop("recipe", None)
        )
        config = merge_into(config, base, f"study {self.name}: base")
        for dim in self.space:
            config = merge_into(config, dim.overrides(params[dim.name]), f"study {self.name}: {dim.name}")
        config.seed = int(seed)
        return config.validate()


def dotted(name: str, value: Any) -> dict:
    head, _, rest = name.partition(".")
    return {head: dotted(rest, value) if rest else value}


def merge_into(config: TrainConfig, values: dict, where: str) -> TrainConfig:
    """apply_overrides, but model_args merges key by key (a recipe's width survives a dropout override)."""
    values = dict(values)
    if isinstance(values.get("model_args"), dict):
        values["model_args"] = {**config.model_args, **values["model_args"]}
    return apply_overrides(config, values, where)


def deep_merge(low: dict, high: dict) -> dict:
    out = copy.deepcopy(low)
    for key, value in high.items():
        out[key] = (
            deep_merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def _key_type(name: str, where: str) -> type | None:
    """The config key's scalar type (engine/config.py declares it); None for model_args.*."""
    try:
        return key_type(name)
    except SignlensError:
        raise SignlensError(
            f"{where}: space.{name} is not a config key (use named presets for other axes)"
        ) from None


def _dimension(name: str, raw: Any, where: str) -> Dimension:
    if isinstance(raw, list):
        if not raw:
            raise SignlensError(f"{where}: space.{name} lists no values")
        _key_type(name, where)
        bad = [v for v in raw if not isinstance(v, bool | int | float | str) and v is not None]
        if bad:
            raise SignlensError(
                f"{where}: space.{name}: values must be scalars, got {bad[0]!r} (use presets)"
            )
        return Dimension(name, "values", list(raw))
    if isinstance(raw, dict) and raw and set(raw) <= RANGE_KEYS and {"low", "high"} <= set(raw):
        kind = _key_type(name, where)
        if kind in (bool, str):
            raise SignlensError(
                f"{where}: space.{name} is a {kind.__name__} key: list its values, not a range"
            )
        try:
            low, high = float(raw["low"]), float(raw["high"])
        except (TypeError, ValueError):
            raise SignlensError(f"{where}: space.{name}: low and high must be numbers") from None
        if not low < high:
            raise SignlensError(f"{where}: space.{name}: low must be below high")
        if raw.get("log") and low <= 0:
            raise SignlensError(f"{where}: space.{name}: a log range needs low above 0")
        # An integer key (epochs, patience) draws integers, so no trial fails on a fraction.
        return Dimension(
            name, "range", low=low, high=high, log=bool(raw.get("log", False)),
            step=raw.get("step"), integer=kind is int or bool(raw.get("int", False)),
        )  # fmt: skip
    if isinstance(raw, dict) and raw:
        presets = {}
        for key, block in raw.items():
            if block is not None and not isinstance(block, dict):
                raise SignlensError(f"{where}: space.{name}.{key} must be a mapping of config overrides")
            presets[str(key)] = block or {}
        return Dimension(name, "presets", list(presets), presets=presets)
    raise SignlensError(f"{where}: space.{name} must be a list of values, a {{low, high}} range or presets")


def parse_spec(raw: dict, where: str) -> StudySpec:
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise SignlensError(f"{where}: unknown study key(s) {unknown}")
    if not raw.get("name"):
        raise SignlensError(f"{where}: a study needs a name")
    protocol_raw = raw.get("protocol") or {}
    bad = sorted(set(protocol_raw) - {f.name for f in dataclasses.fields(Protocol)})
    if bad:
        raise SignlensError(f"{where}: unknown protocol key(s) {bad}")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise SignlensError(f"{where}: seeds must be a non-empty list of integers")
    sampler = raw.get("sampler", "grid")
    if sampler not in SAMPLERS:
        raise SignlensError(f"{where}: sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    space = [_dimension(str(k), v, where) for k, v in (raw.get("space") or {}).items()]
    if sampler == "grid" and any(d.kind == "range" for d in space):
        raise SignlensError(f"{where}: a grid study needs listed values, not ranges (or sampler: tpe)")
    n_trials = raw.get("n_trials")
    if sampler == "tpe" and not (isinstance(n_trials, int) and n_trials > 0):
        raise SignlensError(f"{where}: sampler tpe needs n_trials (a positive integer)")
    if raw.get("pruner", "median") not in ("median", "none"):
        raise SignlensError(f"{where}: pruner must be median or none")
    base = raw.get("base") or {}
    if not isinstance(base, dict):
        raise SignlensError(f"{where}: base must be a mapping of config keys")
    spec = StudySpec(
        name=str(raw["name"]), base=base, protocol=Protocol(**protocol_raw), seeds=seeds, sampler=sampler,
        space=space, n_trials=n_trials, pruner=raw.get("pruner", "median"),
        description=str(raw.get("description", "")),
    )  # fmt: skip
    # Build the configurations at each value and both ends of each range now, so a typo in a key or
    # a value outside its key's range fails before any training starts.
    first = {d.name: (d.values[0] if d.kind != "range" else d.ends()[0]) for d in space}
    for dim in space:
        for value in dim.values if dim.kind != "range" else dim.ends():
            spec.config_for(first | {dim.name: value}, seeds[0])
    if not space:
        spec.config_for({}, seeds[0])
    return spec


def load_study_file(path: str | Path) -> list[StudySpec]:
    """The parts of a study file (one spec when it has no `parts`)."""
    path = Path(path)
    if not path.is_file():
        raise SignlensError(f"study file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SignlensError(f"{path}: not a text file (UTF-8 YAML expected)") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise SignlensError(f"{path}: invalid YAML: {(str(exc).splitlines() or ['?'])[0]}") from None
    if not isinstance(raw, dict):
        raise SignlensError(f"{path}: expected a mapping")
    parts = raw.pop("parts", None)
    if parts is None:
        return [parse_spec(raw, str(path))]
    if not isinstance(parts, list) or not parts or not all(isinstance(p, dict) for p in parts):
        raise SignlensError(f"{path}: parts must be a non-empty list of mappings")
    defaults = {k: v for k, v in raw.items() if k not in ("name", "description")}
    specs = [parse_spec(deep_merge(defaults, part), f"{path} part {part.get('name')}") for part in parts]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SignlensError(f"{path}: part names repeat: {names}")
    return specs
