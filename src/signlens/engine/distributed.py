"""Data-parallel training over several processes, as `torchrun --nproc-per-node N -m signlens train` starts them.

torchrun describes the group in the environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT);
`setup` joins it. Every rank loads the same data and draws the same splits, trains on its own shard
of each epoch (DistributedSampler) with its own augmentation stream, and DistributedDataParallel
averages the gradients, so the weights stay identical on every rank. `batch_size` stays the global
batch: each rank takes its share of it, so a recipe's steps per epoch and learning rate mean the same
at any world size. Rank 0 alone evaluates validation (and tells the others the result, so best-epoch,
early-stopping and stage decisions agree) and alone writes the run directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch

from signlens.errors import SignlensError

BACKENDS = ("auto", "gloo", "nccl")
TIMEOUT = timedelta(minutes=30)  # a rank stuck this long in a collective means a dead peer


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_context = DistContext()


def context() -> DistContext:
    """The process group this process joined (a single process when none)."""
    return _context


def launched() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) outside it."""
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    try:
        rank, world, local = (int(os.environ.get(n, d)) for n, d in zip(names, ("0", "1", "0"), strict=True))
    except ValueError:
        raise SignlensError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be integers (start distributed runs with torchrun)"
        ) from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise SignlensError(f"inconsistent torchrun environment: RANK={rank} WORLD_SIZE={world}")
    return rank, world, local


def setup_error(message: str, rank: int) -> None:
    """A mistake every rank finds alike (same command, same machine): rank 0 says it, the rest exit."""
    if rank == 0:
        raise SignlensError(message)
    sys.exit(2)


def setup(backend: str = "auto", device: str | None = None) -> DistContext:
    """Join torchrun's process group (nothing to join outside torchrun). `backend`: auto (nccl for
    CUDA, gloo on CPU) | gloo | nccl; `device`: the run's --device (auto | cpu | cuda)."""
    global _context
    backend = backend or "auto"
    rank, world, local = launched()
    if backend not in BACKENDS:
        setup_error(f"--dist-backend must be one of {', '.join(BACKENDS)}, got {backend!r}", rank)
    cuda = torch.cuda.is_available()
    if backend == "nccl" and not cuda:
        setup_error("--dist-backend nccl needs CUDA, but no CUDA device is available (use gloo on CPU)", rank)
    if backend == "nccl" and device == "cpu":
        setup_error("--dist-backend nccl cannot train on --device cpu (use gloo)", rank)
    if world == 1:
        return _context
    import torch.distributed as dist

    if not dist.is_available():
        setup_error(
            "this torch build has no torch.distributed, so it cannot train on several processes", rank
        )
    if backend == "auto":
        backend = "nccl" if cuda and device != "cpu" and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        if local >= torch.cuda.device_count():
            raise SignlensError(
                f"rank {rank}: local rank {local} has no GPU ({torch.cuda.device_count()} visible); "
                "start at most one process per GPU"
            )
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT)
    _context = DistContext(rank, world, local, backend)
    return _context


def teardown(together: bool = False) -> None:
    """Leave the process group. With `together` (a run that ended well on every rank), each rank first
    waits for the others: a rank that tears gloo down while its peer still writes the run can abort."""
    global _context
    if _context.active:
        import torch.distributed as dist

        if dist.is_initialized():
            if together:
                dist.barrier()
            dist.destroy_process_group()
    _context = DistContext()


def rank_device(device: torch.device) -> torch.device:
    """Each rank on a machine takes its own GPU."""
    if _context.active and device.type == "cuda":
        return torch.device("cuda", _context.local_rank)
    return device


def rank_seed(seed: int, epoch: int) -> int:
    """The seed of this rank's augmentation and dropout in `epoch`: different on every rank, the same
    on every rerun (and on resume, which needs no random state from the other ranks)."""
    return int(np.random.SeedSequence([seed, _context.rank, epoch]).generate_state(1)[0])


def shard_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """This rank's sample indices for `epoch`: one shuffle shared by all ranks, dealt out in turn
    (padded by repeats so every rank takes the same number of steps)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=_context.world_size, rank=_context.rank, shuffle=True, seed=seed
    )
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def rank_batch(batch_size: int) -> int:
    """This rank's share of the global batch."""
    return -(-batch_size // _context.world_size)


def broadcast(value):
    """Rank 0's `value` on every rank (any picklable object)."""
    if not _context.active:
        return value
    import torch.distributed as dist

    box = [value if _context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_sum(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The element-wise sum of `tensor` over all ranks (returned on the CPU)."""
    if not _context.active:
        return tensor
    import torch.distributed as dist

    # nccl reduces CUDA tensors only; gloo takes either.
    moved = tensor.to(device if _context.backend == "nccl" else "cpu")
    dist.all_reduce(moved)
    return moved.cpu()


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The module the training forward pass runs through: DDP over `model` (rebuilt whenever the
    trainable parameters change, e.g. a new fine-tuning stage), or `model` itself alone."""
    if not _context.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def record(batch_size: int) -> dict:
    """What config.yaml's provenance says about the process group."""
    return {
        "world_size": _context.world_size,
        "backend": _context.backend,
        "rank_batch_size": rank_batch(batch_size),
    }


def epoch_totals(
    confusion: np.ndarray, samples: int, loss_sum: float, device: torch.device
) -> tuple[np.ndarray, list[int], float]:
    """A training epoch's confusion matrix, samples per rank and loss sum, over every rank."""
    counts = torch.zeros(_context.world_size + 1, dtype=torch.float64)
    counts[_context.rank], counts[-1] = samples, loss_sum
    counts = all_sum(counts, device)
    confusion = all_sum(torch.from_numpy(confusion), device).numpy()
    return confusion, [int(c) for c in counts[:-1]], float(counts[-1])


def weight_spread(model: torch.nn.Module, device: torch.device) -> float:
    """The largest difference between any rank's parameters and rank 0's: 0 when the gradients were
    averaged as they should be (batch-norm statistics are rank 0's, broadcast at each step, so left out)."""
    if not _context.active:
        return 0.0
    import torch.distributed as dist

    on = device if _context.backend == "nccl" else torch.device("cpu")
    mine = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()]).to(on)
    reference = mine.clone()
    dist.broadcast(reference, src=0)
    spread = (mine - reference).abs().max().reshape(1)
    dist.all_reduce(spread, op=dist.ReduceOp.MAX)
    return float(spread.item())
