"""The training flags that `train` and `cv` share, built from TrainConfig's fields (engine/config.py):
one flag per config key that declares one, its help, type and spelling taken from the declaration, so
a key declared there is a flag of every training verb, with the same meaning, and none is written here.

The schema lives with the training code, which imports torch, so the flags are made when a training
verb parses its arguments or shows its help, not on every start of the command line.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperCommand

from signlens.cli.app import parse_model_args

if TYPE_CHECKING:
    from signlens.engine.config import TrainConfig
    from signlens.engine.schema import Option

# build_config takes these apart from the other keys: a recipe (or a model without one) chooses the
# values that the rest override.
SEPARATE = ("data", "model", "recipe")
CONFIG_FILE = "config"  # --config: a YAML file of keys, read between the recipe and the flags
CONFIG_HELP = "YAML file of config keys (a run's config.yaml works too); flags override it."
PANEL = "Training config (each flag a config key, as in --config's YAML)"
FORM_TYPES = {"path": Path, "comma-list": str, "key=value": list[str], "off-switch": bool}
META_KEY = "signlens.training_flags"


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
            return parse_model_args(list(raw), self.spelling)
        if form == "off-switch":
            return {"enabled": False}
        return raw


@functools.cache
def training_flags() -> tuple[Flag, ...]:
    """One Flag per config key that declares one: what picks the run first, then the keys in the
    order TrainConfig declares them."""
    from signlens.engine.config import TrainConfig
    from signlens.engine.schema import options_of, scalar_types

    types = scalar_types(TrainConfig)
    defaults = TrainConfig().to_dict()
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
    return tuple(sorted(flags, key=lambda f: SEPARATE.index(f.key) if f.key in SEPARATE else len(SEPARATE)))


@functools.cache
def click_params() -> tuple[click.Parameter, ...]:
    """The flags as click parameters, made by typer from a probe command's signature, so that they
    parse and show in --help as every other option does."""

    def parameter(name: str, cli_type: Any, default: Any, *names: str, help: str) -> inspect.Parameter:
        info = typer.Option(*names, help=help, rich_help_panel=PANEL, show_default=False)
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[cli_type, info]
        )

    params = [parameter(f.key, f.cli_type, f.unset, *f.names, help=f.help) for f in training_flags()]
    params.insert(len(SEPARATE), parameter(CONFIG_FILE, Path, None, "--config", help=CONFIG_HELP))

    def probe(**_: Any) -> None:
        pass

    probe.__signature__ = inspect.Signature(params)
    app = typer.Typer(add_completion=False)
    app.command()(probe)
    return tuple(typer.main.get_command(app).params)


@dataclass(frozen=True)
class TrainingFlags:
    """The training flags of one command: `raw` maps each config key to its flag's value as click
    parsed it (unset: None, or an empty list / False for a repeatable or switch flag)."""

    raw: dict[str, Any]
    config_file: Path | str | None = None

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def given(self) -> list[str]:
        """The spellings of the flags given (--config too), in --help order."""
        names = [f.spelling for f in training_flags() if f.given(self.raw.get(f.key))]
        return names + (["--config"] if self.config_file is not None else [])

    def overrides(self) -> dict[str, Any]:
        """The config keys the flags set, as config values."""
        return {
            f.key: f.value(self.raw[f.key])
            for f in training_flags()
            if f.key not in SEPARATE and f.given(self.raw.get(f.key))
        }

    def build(self) -> TrainConfig:
        """The run's TrainConfig: defaults < recipe < --config < flags."""
        from signlens.engine.config import build_config

        data, model, recipe = (self.raw.get(key) for key in SEPARATE)
        return build_config(
            data, model=model, recipe=recipe, yaml_path=self.config_file, overrides=self.overrides()
        )


class TrainingCommand(TyperCommand):
    """A typer command with every training flag besides its own options; it hands their values to
    the verb as one TrainingFlags."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        own = super().get_params(ctx)
        clash = {p.name for p in own} & {p.name for p in click_params()}
        if clash:
            raise TypeError(f"{self.name}: options named like training flags: {sorted(clash)}")
        return [*click_params(), *own]

    def invoke(self, ctx: click.Context) -> Any:
        raw = {f.key: ctx.params.pop(f.key) for f in training_flags()}
        ctx.meta[META_KEY] = TrainingFlags(raw, ctx.params.pop(CONFIG_FILE))
        return super().invoke(ctx)


def training_command(app: typer.Typer):
    """`@training_command(app)` registers a verb as `@app.command()` does, with every training flag;
    the verb's `flags` parameter receives them as one TrainingFlags."""

    def register(verb):
        own = inspect.signature(verb, eval_str=True)
        if "flags" not in own.parameters:
            raise TypeError(f"{verb.__name__}: a training command takes its flags as `flags`")
        params = [p for p in own.parameters.values() if p.name != "flags"]

        @functools.wraps(verb)
        def command(**kwargs: Any) -> Any:
            return verb(flags=click.get_current_context().meta[META_KEY], **kwargs)

        command.__signature__ = own.replace(parameters=params)  # what typer reads
        command.__annotations__ = {p.name: p.annotation for p in params}
        return app.command(cls=TrainingCommand)(command)

    return register
