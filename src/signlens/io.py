"""Small file helpers: atomic writes (nothing half written), checksums, and quiet native code.

A write goes to a temp file beside its target and is renamed onto it, so readers see the old file or
the new one, never half of one. Temp files left by a killed process are removed by the next write to
the same target. Files get the mode a plain `open` would give (0666 less the umask), not mkstemp's 0600.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from signlens.errors import SignlensError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "no space left on the device"
        return exc.strerror or exc.__class__.__name__
    text = str(exc).strip()
    if "enforce fail" in text or "file write failed" in text:
        return "the write failed (is the disk full?)"
    return (text.splitlines() or [exc.__class__.__name__])[0][:200]


def prepare_parent(path: Path) -> None:
    """Create `path`'s folder; a folder that cannot exist (its parent is a file, a read-only file
    system, no permission) is a SignlensError naming it."""
    if path.is_dir():
        raise SignlensError(f"cannot write {path}: it is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise SignlensError(f"cannot write {path}: a part of its folder path is a file") from None
    except OSError as exc:
        raise SignlensError(f"cannot write {path}: {_reason(exc)}") from None


def remove_orphans(path: Path) -> None:
    """Delete temp files of `path` whose writer process no longer runs (it was killed mid-write)."""
    try:
        candidates = list(path.parent.glob(f".{glob_escape(path.name)}.*.tmp"))
    except OSError:
        return
    for tmp in candidates:
        match = re.fullmatch(r"(\d+)\.[A-Za-z0-9_]+\.tmp", tmp.name[len(path.name) + 2 :])
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                tmp.unlink()


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)`, then rename the temp file onto `path` so readers never see half a file.
    A failure (full disk, read-only file system, a folder in the way) is a SignlensError naming `path`,
    and leaves the old file, if any, as it was."""
    path = Path(path)
    prepare_parent(path)
    remove_orphans(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise SignlensError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except SignlensError:
        raise
    except (OSError, RuntimeError, ValueError) as exc:
        raise SignlensError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        if os.path.exists(tmp):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_yaml(path: str | Path, obj: Any) -> Path:
    return write_text(path, yaml.safe_dump(obj, sort_keys=False))


def md5_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def torch_load_safely(path: Path, not_loadable: str):
    """`torch.load(weights_only=True)` (no code runs from the file); a file that cannot be read that way
    raises SignlensError "<not_loadable> (<first line of the reason>)"."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise SignlensError(f"{not_loadable} (out of memory)") from None
    except Exception as exc:  # noqa: BLE001 - weights_only runs no code; any failure means "not loadable"
        text = str(exc)
        if any(m in text for m in ("invalid load key", "magic number", "zip archive", "ran out of input")):
            reason = "not a PyTorch file, or a damaged one"
        elif "Weights only load failed" in text:
            # torch's own text goes on to suggest weights_only=False, which would run the file's code.
            reason = "not a file of tensors and plain values, the only kind signlens reads (no code runs)"
        elif isinstance(exc, EOFError):
            reason = "the file is empty or cut short"
        else:
            reason = " ".join((text.strip().splitlines() or [exc.__class__.__name__])[0].split())[:160]
        raise SignlensError(f"{not_loadable} ({reason})") from None


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_stderr: int | None = None


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while native code runs: MediaPipe, TFLite and absl write
    INFO/WARNING lines there that no environment variable turns off, and they would precede (or be
    mistaken for) signlens's own one-line messages. SIGNLENS_DEBUG=1 keeps them. Re-entrant and
    thread-safe: the first to enter redirects, the last to leave restores."""
    global _quiet_depth, _saved_stderr
    if os.environ.get("SIGNLENS_DEBUG") == "1":
        yield
        return
    with _quiet_lock:
        _detach_python_stderr()
        if _quiet_depth == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
                _saved_stderr = saved
            except (OSError, ValueError, AttributeError):
                _saved_stderr = None
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _saved_stderr is not None:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None


def _detach_python_stderr() -> None:
    """Python's own stderr moves, once, to a duplicate of descriptor 2: the same terminal or file, but
    untouched by the silencing, so an error line printed while another thread runs MediaPipe still
    shows. (A captured sys.stderr, as in tests, is left alone.)"""
    stream = sys.stderr
    if stream is not sys.__stderr__ or getattr(stream, "_signlens_detached", False):
        return
    try:
        if stream.fileno() != 2:
            return
        stream.flush()
        detached = open(  # noqa: SIM115 - lives as long as the process, as sys.stderr does
            os.dup(2), "w", buffering=1, encoding=stream.encoding, errors="backslashreplace"
        )
    except (OSError, ValueError, AttributeError):
        return
    detached._signlens_detached = True
    sys.stderr = sys.__stderr__ = detached


def lazy_exports(package: str, table: dict[str, str]) -> tuple[Callable, Callable]:
    """(__getattr__, __dir__) for `package`, whose public names (`table`: name -> defining module) load on
    first use: importing the package stays cheap for callers that want one light name from it."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str):
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name]), name)
        namespace[name] = value  # looked up once
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__
