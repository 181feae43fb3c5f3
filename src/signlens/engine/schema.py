"""What a training option is, declared once: each TrainConfig field carries its help, the values it
allows and its command-line flag (`option()` below).

The command line (cli/training.py builds every flag from these), YAML configs and study files (parsed
by the field types, then `check_fields`), study search spaces (`key_type`) and the range checks all
read the same declaration: defaults in one place, the parser built from them, as in ultralytics' cfg
and timm's train.py.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import MISSING, dataclass
from typing import Any

from signlens.errors import SignlensError, check_range

FORMS = ("value", "path", "comma-list", "key=value", "off-switch")


@dataclass(frozen=True)
class Option:
    """One config key's rules. `within` is an interval such as "(0, 10]" (a round bracket excludes its
    end); `choices` the allowed values, or a mapping from each to its meaning; None always passes
    both (an optional key left unset).

    `flags`: the command-line names; () derives --key-name (--key/--no-key for a bool); None: the key
    is set in YAML only. `form`: how a flag's text becomes the value: value (parsed by the field's
    type), path, comma-list (a,b,c), key=value (repeatable, into a mapping) or off-switch (a flag
    that turns the block's `enabled` off). `unknown`: a bad choice reads "unknown KEY 'x'; choose one
    of ..." (a name looked up in a list) rather than "KEY must be ..."."""

    help: str = ""
    within: str | None = None
    choices: tuple | dict | None = None
    flags: tuple[str, ...] | None = ()
    form: str = "value"
    unknown: bool = False

    def __post_init__(self):
        if self.form not in FORMS:
            raise ValueError(f"option form {self.form!r} is not one of {FORMS}")
        if self.within is not None:
            interval(self.within)  # a typo fails on import, not on the first bad value

    def check(self, key: str, value: Any) -> None:
        """A SignlensError naming `key` when `value` breaks this option's choices or range."""
        if value is None:
            return
        if self.choices is not None and value not in self.choices:
            if self.unknown:
                listed = ", ".join(str(c) for c in self.choices)
                raise SignlensError(f"unknown {key} {value!r}; choose one of {listed}")
            raise SignlensError(f"{key} must be {self.choice_words()}, got {value!r}")
        if self.within is not None:
            check_range(key, value, *interval(self.within))

    def choice_words(self) -> str:
        """The choices in words: a, b or c; a mapping's meanings in brackets: 1 (gray) or 3 (RGB)."""
        words = [
            f"{c} ({self.choices[c]})" if isinstance(self.choices, dict) else str(c) for c in self.choices
        ]
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"

    def describe(self, default: Any = None) -> str:
        """The help text, its {choices}, {range} and {default} filled in from the declaration."""
        text = self.help
        if self.choices is not None:
            text = text.replace("{choices}", " | ".join(str(c) for c in self.choices))
        if self.within is not None:
            text = text.replace("{range}", self.within)
        return text.replace("{default}", str(default))


def option(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, **rules: Any) -> Any:
    """A dataclass field whose metadata holds its `Option` (help, within, choices, flags, form)."""
    return dataclasses.field(
        default=default, default_factory=factory, metadata={"option": Option(help=help, **rules)}
    )


_INTERVAL = re.compile(r"([\[(])\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*([\])])")


def interval(text: str) -> tuple[float, float, bool, bool]:
    """ "(0, 10]" -> (0, 10, True, False): low, high, low open, high open."""
    match = _INTERVAL.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an interval: {text!r} (write e.g. '(0, 10]')")
    opening, low, high, closing = match.groups()
    return _number(low), _number(high), opening == "(", closing == ")"


def _number(text: str) -> float:
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)


def options_of(kind: type) -> dict[str, Option]:
    """Field name -> Option for the fields of dataclass `kind` that declare one."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(kind) if "option" in f.metadata}


def check_fields(obj: Any, rules: dict[str, Option], prefix: str = "") -> None:
    """Check each field of `obj` that has a rule; the first broken one is a SignlensError naming it."""
    for name, rule in rules.items():
        rule.check(prefix + name, getattr(obj, name))


def scalar_types(kind: type) -> dict[str, type | None]:
    """Field name -> its scalar type (int for `int | None`; None for a mapping, list or block)."""
    return {name: plain_type(hint) for name, hint in typing.get_type_hints(kind).items()}


def plain_type(annotation: Any) -> type | None:
    """int for `int` and `int | None`; None for a type that is no single scalar (a dict, a block)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        return args[0] if len(args) == 1 and args[0] in (bool, int, float, str) else None
    return annotation if annotation in (bool, int, float, str) else None


def key_type(kind: type, key: str) -> type | None:
    """The scalar type of a dotted config key (`lr`, `augment.rotation`) of dataclass `kind`; None
    where the key holds no scalar or is free-form (model_args.*). A key that does not exist is a
    SignlensError naming it."""
    head, _, rest = key.partition(".")
    hints = typing.get_type_hints(kind)
    if head not in hints:
        raise SignlensError(f"{key} is not a config key")
    annotation = hints[head]
    if not rest:
        return plain_type(annotation)
    if dataclasses.is_dataclass(annotation):
        return key_type(annotation, rest)
    if typing.get_origin(annotation) is dict:
        return None  # free-form: the model's own arguments, checked when the model is made
    raise SignlensError(f"{key}: {head} holds no keys")
