"""What a run records about where it ran: versions, device, seeds, the git commit, the command."""

from __future__ import annotations

import platform
import random
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from signlens import __version__
from signlens.errors import SignlensError


def package_versions() -> dict[str, str]:
    import PIL

    return {
        "signlens": __version__,
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def git_commit() -> str | None:
    """The commit of the checkout this package runs from (with "-dirty" when tracked files changed), or
    None when it runs from an installed copy (a wheel inside a checkout's .venv is not tracked there)."""
    here = Path(__file__).resolve()
    run = [
        ["git", "ls-files", "--error-unmatch", here.name],
        ["git", "rev-parse", "HEAD"],
        ["git", "status", "--porcelain", "--untracked-files=no"],
    ]
    try:
        _, head, status = (
            subprocess.run(
                cmd, cwd=here.parent, capture_output=True, text=True, timeout=10, check=True
            ).stdout
            for cmd in run
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.strip() + ("-dirty" if status.strip() else "")


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = not deterministic


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SignlensError("--device cuda asked for, but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def provenance(device: torch.device) -> dict:
    """When, how and with what a run was made; `config.yaml` keeps it beside the config."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "commit": git_commit(),
        "versions": package_versions(),
        "device": str(device),
        "threads": torch.get_num_threads(),
    }
