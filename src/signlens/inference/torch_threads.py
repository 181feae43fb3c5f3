"""torch's thread count, as a program's entry point chooses it, applied only once torch is in: a
program whose models all run in ONNX Runtime never imports torch for it."""

from __future__ import annotations

import sys

_single_torch_thread = False  # a program's entry point asked for it (single_torch_thread)


def single_torch_thread() -> None:
    """For a program that classifies one hand at a time while MediaPipe runs beside it (predict, live,
    the server): one hand is far too small a tensor to split across threads, so a second intra-op
    thread only spins against MediaPipe's; parallelism comes from several readers instead. torch's
    setting is the whole process's, so only those entry points call this, never a library load. It
    applies now if torch is in, else when a torch model loads (inference.load)."""
    global _single_torch_thread
    _single_torch_thread = True
    if "torch" in sys.modules:
        apply_torch_threads()


def apply_torch_threads() -> None:
    """Set torch's threads as the program chose (nothing, where it did not choose)."""
    if _single_torch_thread:
        import torch

        torch.set_num_threads(1)
