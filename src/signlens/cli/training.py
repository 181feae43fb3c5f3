"""The training flags that `train` and `cv` share, built from TrainConfig's fields (engine/config.py):
one flag per config key that declares one, its help, type and spelling taken from the declaration, so
a key declared there is a flag of every training verb, with the same meaning, and none is written here.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from signlens.cli.app import parse_model_args
from signlens.engine.config import TrainConfig, build_config
from signlens.engine.schema import Option, options_of, scalar_types

# build_config takes these apart from the other keys: a recipe (or a model without one) chooses the
# values that the rest override.
SEPARATE = ("data", "model", "recipe")
CONFIG_FILE = "config"  # --config: a YAML file of keys, read between the recipe and the flags
CONFIG_HELP = "YAML file of config keys (a run's config.yaml works too); flags override it."
PANEL = "Training config (each flag a config key, as in --config's YAML)"
FORM_TYPES = {"path": Path, "comma-list": str, "key=value": list[str], "off-switch": bool}


@dataclass(frozen=True)
class Flag:
    """The command-line face of one config key."""

    key: str
    names: tuple[str, ...]  # as click takes them: ("--data", "-d"), ("--freeze-bn/--no-freeze-bn",)
    option: Option
    cli_type: Any
    help: str

    @property
    def spelling(self) -> str:
        return self.names[0].split("/")[0]

    @property
    def unset(self) -> Any:
        """The parameter's value when the flag is not given."""
        return {"key=value": [], "off-switch": False}.get(self.option.form)

    def given(self, raw: Any) -> bool:
        return bool(raw) if self.option.form in ("key=value", "off-switch") else raw is not None

    def value(self, raw: Any) -> Any:
        """The config value of the flag's text as click parsed it."""
        form = self.option.form
        if form == "path":
            return str(raw)
        if form == "comma-list":
            return raw.split(",")
        if form == "key=value":
            return parse_model_args(raw, self.spelling)
        if form == "off-switch":
            return {"enabled": False}
        return raw


def _flags() -> list[Flag]:
    types = scalar_types(TrainConfig)
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    flags = []
    for key, option in options_of(TrainConfig).items():
        if option.flags is None:
            continue  # set in YAML only
        cli_type = FORM_TYPES.get(option.form, types[key])
        if cli_type is None:
            raise TypeError(f"TrainConfig.{key}: no command-line type; give it a form, or flags=None")
        dashed = "--" + key.replace("_", "-")
        names = option.flags or (f"{dashed}/--no-{dashed[2:]}" if cli_type is bool else dashed,)
        flags.append(Flag(key, names, option, cli_type, option.describe(defaults[key])))
    # --help lists what picks the run first, then the keys in the order the config declares them.
    return sorted(flags, key=lambda f: SEPARATE.index(f.key) if f.key in SEPARATE else len(SEPARATE))


FLAGS = _flags()


def _parameters() -> list[inspect.Parameter]:
    def parameter(name: str, cli_type: Any, default: Any, *names: str, help: str) -> inspect.Parameter:
        annotation = Annotated[cli_type, typer.Option(*names, help=help, rich_help_panel=PANEL)]
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)

    params = [parameter(f.key, f.cli_type, f.unset, *f.names, help=f.help) for f in FLAGS]
    config = parameter(CONFIG_FILE, Path, None, "--config", help=CONFIG_HELP)
    params.insert(len(SEPARATE), config)
    return params


PARAMETERS = _parameters()


@dataclass(frozen=True)
class TrainingFlags:
    """The training flags of one command: `raw` maps each config key to its flag's value as click
    parsed it (unset: None, or [] / False for a repeatable or switch flag)."""

    raw: dict[str, Any]
    config_file: Path | None = None

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def given(self) -> list[str]:
        """The spellings of the flags given (--config too), in --help order."""
        names = [f.spelling for f in FLAGS if f.given(self.raw.get(f.key))]
        return names + (["--config"] if self.config_file is not None else [])

    def overrides(self) -> dict[str, Any]:
        """The config keys the flags set, as config values."""
        return {
            f.key: f.value(self.raw[f.key])
            for f in FLAGS
            if f.key not in SEPARATE and f.given(self.raw.get(f.key))
        }

    def build(self) -> TrainConfig:
        """The run's TrainConfig: defaults < recipe < --config < flags."""
        data, model, recipe = (self.raw.get(key) for key in SEPARATE)
        return build_config(
            data, model=model, recipe=recipe, yaml_path=self.config_file, overrides=self.overrides()
        )


def training_options(verb):
    """Give typer command `verb` every training flag in place of its `flags` parameter, which then
    receives them as one TrainingFlags."""
    own = inspect.signature(verb, eval_str=True)
    names = {p.name for p in PARAMETERS}
    if "flags" not in own.parameters or names & set(own.parameters):
        raise TypeError(f"{verb.__name__}: needs a `flags` parameter and no other named {sorted(names)}")
    params = []
    for p in own.parameters.values():
        params += PARAMETERS if p.name == "flags" else [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)]

    @functools.wraps(verb)
    def command(**kwargs: Any) -> Any:
        raw = {f.key: kwargs.pop(f.key) for f in FLAGS}
        return verb(flags=TrainingFlags(raw, kwargs.pop(CONFIG_FILE)), **kwargs)

    command.__signature__ = own.replace(parameters=params)  # what typer reads
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command
