"""One registry, one constructor: `create_model(name, num_classes, in_chans, **kwargs)` (after timm).

Each entry records the builder and the keyword arguments it accepts, so a checkpoint can store
`(name, args)` and rebuild exactly the same network later. A variant (say `resnet18-se`) is the same
builder registered again with some arguments fixed, which its name stands for and it no longer takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from signlens.errors import SignlensError

_MODELS: dict[str, tuple[Callable[..., nn.Module], dict]] = {}


def register(name: str, **fixed):
    """Register `builder` as `name`; `fixed` arguments make a variant of it (stack the decorators)."""

    def add(builder: Callable[..., nn.Module]):
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        unknown = set(fixed) - set(inspect.signature(builder).parameters)
        if unknown:
            raise ValueError(f"model {name!r}: {builder.__name__} takes no {sorted(unknown)}")
        _MODELS[name] = (builder, dict(fixed))
        return builder

    return add


def _parameters(name: str) -> dict[str, inspect.Parameter]:
    """The arguments `name` takes: its builder's, less those its variant fixes."""
    builder, fixed = _entry(name)
    return {k: v for k, v in inspect.signature(builder).parameters.items() if k not in fixed}


def list_models() -> list[str]:
    return sorted(_MODELS)


def model_arguments(name: str) -> list[str]:
    return [p for p in _parameters(name) if p not in ("num_classes", "in_chans")]


def resolved_arguments(name: str, given: dict) -> dict:
    """Every argument the builder takes, defaults filled in, so a checkpoint rebuilds the same network
    even if a default changes later. Tuples become lists (YAML and weights-only loading keep lists)."""
    resolved = {}
    for param in _parameters(name).values():
        if param.name == "num_classes":
            continue
        value = given.get(param.name, param.default)
        if value is inspect.Parameter.empty:
            continue
        resolved[param.name] = list(value) if isinstance(value, tuple) else value
    return resolved


def create_model(name: str, num_classes: int, in_chans: int = 1, **kwargs) -> nn.Module:
    builder, fixed = _entry(name)
    accepted = _parameters(name)
    # img_size is offered to every builder; only those whose shape depends on it (the MLP) take it.
    if "img_size" not in accepted:
        kwargs.pop("img_size", None)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise SignlensError(f"model {name!r} does not take {unknown}; it takes {model_arguments(name)}")
    for key, value in kwargs.items():
        default = accepted[key].default
        if not _same_kind(value, default):
            raise SignlensError(
                f"model {name!r}: {key}={value!r} should be like its default {default!r} "
                "(lists are written [a,b,c])"
            )
    try:
        return builder(num_classes=num_classes, in_chans=in_chans, **kwargs, **fixed)
    except (TypeError, ValueError) as exc:
        raise SignlensError(f"model {name!r} cannot be built with {kwargs}: {exc}") from None


def _same_kind(value, default) -> bool:
    """Loose type check of a model argument against its default (None or no default: anything)."""
    if default is None or default is inspect.Parameter.empty:
        return True
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _entry(name: str) -> tuple[Callable[..., nn.Module], dict]:
    if name not in _MODELS:
        raise SignlensError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    return _MODELS[name]


def check_model_reads(model: str, data_name: str, kind: str, shape: dict) -> None:
    """Refuse, before any data is prepared, a model that cannot read this data: a model over landmark
    feature vectors (it takes in_features) on images or masks, or an image model on feature vectors."""
    wants_features = "in_features" in model_arguments(model)
    if wants_features == ("in_features" in shape):
        return
    given = (
        "hand-landmark feature vectors"
        if "in_features" in shape
        else ("hand-landmark masks" if kind == "landmarks" else "images")
    )
    wanted = "hand-landmark feature vectors (--data landmarks:FILE)" if wants_features else "images"
    raise SignlensError(
        f"model {model} reads {wanted}, but data '{data_name}' gives {given}; choose another --model"
    )
