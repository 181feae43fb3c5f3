"""Two `signlens study` workers share one study through a real PostgreSQL server that the test starts
(Debian's postgresql; .ci/run installs it): every grid point runs exactly once, across both workers."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml


def _initdb() -> Path | None:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    initdb = _initdb()
    if initdb is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    # PostgreSQL refuses to run as root: as root, run it as the postgres user in a directory it owns.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="signlens-pg-"))
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    bindir = initdb.resolve().parent
    subprocess.run([*as_user, str(initdb), "-D", str(data), "-A", "trust", "-U", "signlens", "--no-sync"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                    "-w", "-t", "30", "start"], check=True, capture_output=True, timeout=60)  # fmt: skip
    try:
        yield f"postgresql://signlens@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_study_and_run_no_point_twice(postgres_url, tiny_csv_dir, tmp_path):
    import optuna

    design = tmp_path / "shared.yaml"
    design.write_text(
        yaml.safe_dump(
            {
                "name": "shared",
                "base": {"data": str(tiny_csv_dir), "model": "baseline-cnn", "epochs": 1, "batch_size": 32,
                         "threads": 1},
                "seeds": [0, 1],
                "space": {"optimizer": ["sgd", "adam"]},
            }
        )
    )  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "signlens",
                "study",
                "--config",
                str(design),
                "--storage",
                postgres_url,
                "--out",
                str(tmp_path / f"worker{i}"),
                "--heartbeat",
                "5",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=240) for w in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
    ran = [int(stdout.rsplit("ran ", 1)[1].split()[0]) for stdout, _ in outputs]
    assert sum(ran) == 4 and min(ran) >= 1, ran  # both workers took part

    study = optuna.load_study(
        study_name="shared", storage=postgres_url.replace("postgresql:", "postgresql+psycopg2:")
    )
    trials = study.get_trials()
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    points = sorted((t.params["optimizer"], t.params["seed"]) for t in trials)
    assert points == sorted((o, s) for o in ("sgd", "adam") for s in (0, 1))  # none twice
    run_dirs = sorted(p.parent.name for p in tmp_path.glob("worker*/trials/t*/metrics.json"))
    assert len(run_dirs) == 4 and len(set(run_dirs)) == 4
    # Each worker writes the shared table; the one that finished last holds both configurations.
    tables = [(tmp_path / f"worker{i}" / "results.csv").read_text().splitlines() for i in range(2)]
    assert max(len(t) for t in tables) == 3
