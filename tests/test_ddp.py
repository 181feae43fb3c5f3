"""Distributed training: `torchrun --nproc-per-node 2 -m signlens train` on the CPU (gloo) trains one
model on both processes and writes one run directory, as good as a single process's."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import run_cli
from signlens.engine import distributed

TRAIN = ["--model", "fast-cnn", "--epochs", "4", "--batch-size", "32", "--seed", "0", "--quiet"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model_into_one_run_directory(tiny_csv_dir, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"  # the launch's working folder: nothing may appear here but --out
    work.mkdir()
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
        "-m", "signlens", "train", "--data", str(tiny_csv_dir), *TRAIN, "--out", str(work / "ddp"),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["ddp"]  # rank 1 wrote no run of its own
    run = work / "ddp"
    assert {"config.yaml", "best.pt", "last.pt", "metrics.json", "history.csv"} <= {
        p.name for p in run.iterdir()
    }
    assert done.stdout.count("test (official test): accuracy") == 1  # rank 0 alone reports

    record = yaml.safe_load((run / "config.yaml").read_text())["provenance"]
    assert record["distributed"] == {"world_size": 2, "backend": "gloo", "rank_batch_size": 16}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # Each rank trained on its own half of every epoch (DistributedSampler pads to equal shards) ...
    shard = -(-record["data"]["num_train"] // 2)
    assert metrics["rank_samples"] == [4 * shard, 4 * shard]
    # ... and the averaged gradients kept the two copies of the model identical.
    assert metrics["rank_weight_spread"] == 0.0
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 4

    code, out, err = run_cli(
        ["train", "--data", tiny_csv_dir, *TRAIN, "--threads", "1", "--out", tmp_path / "single"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert single["world_size"] == 1 and "rank_weight_spread" not in single
    # The same global batch, steps and schedule: the same accuracy within the noise of 80 test images.
    assert single["test"]["accuracy"] >= 0.9
    assert metrics["test"]["accuracy"] >= single["test"]["accuracy"] - 0.05


def test_each_rank_gets_its_own_shard_and_random_stream(monkeypatch):
    orders, seeds = [], []
    for rank in (0, 1):
        monkeypatch.setattr(distributed, "_context", distributed.DistContext(rank, 2, rank, "gloo"))
        orders.append(distributed.shard_order(11, seed=3, epoch=2))
        seeds.append(distributed.rank_seed(3, epoch=2))
        assert distributed.rank_batch(32) == 16
        assert torch.equal(distributed.shard_order(11, 3, 2), orders[-1])  # reproducible
    assert len(orders[0]) == len(orders[1]) == 6  # padded to equal shards
    assert set(orders[0].tolist()) | set(orders[1].tolist()) == set(range(11))
    assert seeds[0] != seeds[1]
    monkeypatch.setattr(distributed, "_context", distributed.DistContext(0, 2, 0, "gloo"))
    assert not torch.equal(distributed.shard_order(11, 3, 3), orders[0])  # set_epoch reshuffles


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("rank", ["0", "1"])
def test_nccl_without_cuda_is_one_line_from_rank_0(tiny_csv_dir, tmp_path, monkeypatch, capsys, rank):
    for name, value in {"WORLD_SIZE": "2", "RANK": rank, "LOCAL_RANK": rank}.items():
        monkeypatch.setenv(name, value)
    args = ["train", "--data", tiny_csv_dir, "--dist-backend", "nccl", "--out", tmp_path / "r"]
    code, out, err = run_cli(args, monkeypatch, capsys)
    assert code == 2
    if rank == "0":
        assert err.count("\n") == 1 and "nccl needs CUDA" in err and "Traceback" not in err
    else:
        assert err == ""  # every rank finds the same mistake; rank 0 says it
    assert not (tmp_path / "r").exists()
    code, _, err = run_cli(["train", "--data", tiny_csv_dir, "--dist-backend", "mpi"], monkeypatch, capsys)
    assert code == 2 and (err.count("\n") == 1 if rank == "0" else err == "")
