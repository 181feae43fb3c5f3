"""The one exception type for bad user input, and the one range check that raises it.

The CLI prints a `SignlensError` as a single line and exits with code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class SignlensError(Exception):
    """Bad input from the user: a missing path, a malformed file, an unusable checkpoint."""


def check_range(name: str, value, low=None, high=None, low_open: bool = False, high_open: bool = False):
    """`value`, unless it lies outside [low, high] (an open end excludes its bound; a missing bound
    leaves that side free): then a SignlensError naming `name`. NaN never passes; None (a value not
    given) always does. Config keys and command-line flags alike are checked here."""
    if value is None:
        return value
    ok = value == value  # False for NaN
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        if low is not None and high is not None:
            span = f"lie in {'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
        elif low is not None:
            span = f"be {'above' if low_open else 'at least'} {_num(low)}"
        else:
            span = f"be {'below' if high_open else 'at most'} {_num(high)}"
        raise SignlensError(f"{name} must {span}, got {value}")
    return value


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"
