"""The `signlens` command line. Verb modules register themselves on the shared Typer app.

Every failure ends as one line on stderr and exit code 2 (see `main`): bad input as the problem it
names, usage errors as click words them, and anything unexpected as "internal error" (a bug, whose
traceback SIGNLENS_DEBUG=1 shows). Never a traceback for users.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import warnings

import click
import typer

import signlens.cli.research  # noqa: F401  (registers study, explain, report)
import signlens.cli.serve  # noqa: F401  (registers serve)
import signlens.cli.study  # noqa: F401  (registers cv and audit)
from signlens.cli import core, export, hands, predict  # noqa: F401  (each module registers its verbs)
from signlens.cli.app import app, tidy_help
from signlens.cli.options import remove_empty_created
from signlens.errors import SignlensError

_COMMAND = None


def cli_command():
    """The click command tree, built once per process (typer's introspection costs ~40 ms)."""
    global _COMMAND
    if _COMMAND is None:
        _COMMAND = typer.main.get_command(app)
        tidy_help(_COMMAND)
    return _COMMAND


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str, code: int = 2) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    remove_empty_created()  # an output folder made for this command, which wrote nothing into it
    # Under torchrun every rank may fail alike; a rank other than 0 says which it is.
    rank = os.environ.get("RANK", "0") if os.environ.get("WORLD_SIZE", "1") != "1" else "0"
    where = f"rank {rank}: " if rank != "0" else ""
    print(f"signlens: error: {where}{one_line(message)}", file=sys.stderr, flush=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and exit code 2, never a traceback."""
    debug = os.environ.get("SIGNLENS_DEBUG") == "1"
    if not debug:
        # Library warnings (numpy, torch, PIL) would be extra stderr lines around the one message.
        warnings.filterwarnings("ignore")
    command = cli_command()
    try:
        code = command.main(args=argv, prog_name="signlens", standalone_mode=False)
    except SignlensError as exc:
        fail(str(exc))
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "signlens"
        fail(f"{exc.format_message()} (see `{where} --help`)", exc.exit_code)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        fail("interrupted", 130)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`signlens predict ... | head -1`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except MemoryError:
        fail("not enough memory for this input")
    except OSError as exc:
        if debug:
            raise
        if exc.errno == errno.ENOSPC:
            fail(f"no space left on the device{_named(exc)}")
        fail(f"{exc.strerror or exc.__class__.__name__}{_named(exc)}")
    except Exception as exc:  # noqa: BLE001 - the last line of defence; the bug still gets reported
        if debug:
            raise
        if "can't allocate memory" in str(exc) or "out of memory" in str(exc).lower():
            fail(f"not enough memory for this input ({one_line(exc)[:160]})")
        fail(
            f"internal error: {exc.__class__.__name__}: {one_line(exc)[:300]} "
            "(a bug in signlens; rerun with SIGNLENS_DEBUG=1 for the traceback)"
        )
    sys.exit(code if isinstance(code, int) else 0)


def _named(exc: OSError) -> str:
    return f": {exc.filename}" if getattr(exc, "filename", None) else ""
