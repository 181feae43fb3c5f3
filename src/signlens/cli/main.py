"""The `signlens` command line. Verb modules register themselves on the shared Typer app.

Every verb turns bad input into one line on stderr and exit code 2 (see `main`).
"""

from __future__ import annotations

import sys

import signlens.cli.study  # noqa: F401  (registers cv and audit)
from signlens.cli import core, export, hands  # noqa: F401  (each module registers its verbs)
from signlens.cli.app import app
from signlens.errors import SignlensError


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app()  # standalone mode: click reports its own usage errors with exit code 2
    except SignlensError as exc:
        print(f"signlens: error: {exc}", file=sys.stderr)
        sys.exit(2)
