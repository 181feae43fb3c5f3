"""One registry, one constructor: `create_model(name, num_classes, in_chans, **kwargs)` (after timm).

Each entry records the builder and the keyword arguments it accepts, so a checkpoint can store
`(name, args)` and rebuild exactly the same network later.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from signlens.errors import SignlensError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    def add(builder: Callable[..., nn.Module]):
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = builder
        return builder

    return add


def list_models() -> list[str]:
    return sorted(_MODELS)


def model_arguments(name: str) -> list[str]:
    return [p for p in inspect.signature(_get(name)).parameters if p not in ("num_classes", "in_chans")]


def resolved_arguments(name: str, given: dict) -> dict:
    """Every argument the builder takes, defaults filled in, so a checkpoint rebuilds the same network
    even if a default changes later. Tuples become lists (YAML and weights-only loading keep lists)."""
    resolved = {}
    for param in inspect.signature(_get(name)).parameters.values():
        if param.name == "num_classes":
            continue
        value = given.get(param.name, param.default)
        if value is inspect.Parameter.empty:
            continue
        resolved[param.name] = list(value) if isinstance(value, tuple) else value
    return resolved


def create_model(name: str, num_classes: int, in_chans: int = 1, **kwargs) -> nn.Module:
    builder = _get(name)
    accepted = inspect.signature(builder).parameters
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
        return builder(num_classes=num_classes, in_chans=in_chans, **kwargs)
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


def _get(name: str) -> Callable[..., nn.Module]:
    if name not in _MODELS:
        raise SignlensError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    return _MODELS[name]
