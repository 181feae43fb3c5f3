"""Run a study with Optuna: every trial is an ordinary run directory (or cross-validation directory),
made by the engine's Trainer and evaluation's finish_run / run_cv.

Workers cooperate through the study's storage (a SQLite file in the study directory, or a shared
PostgreSQL server): a grid study enqueues its points, and a worker takes one under a lock (an advisory
lock on PostgreSQL, a file lock beside a SQLite file), so no point is run twice. Each running trial
keeps a heartbeat; one whose worker died is marked failed by the next worker, and a failed point goes
back in the queue (at most MAX_TRIES runs per point). Only complete trials are counted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import threading
import time
import warnings
import zlib
from pathlib import Path

from signlens.errors import SignlensError
from signlens.evaluation.cv import run_cv
from signlens.evaluation.report import finish_run
from signlens.study.results import grid_key, write_results
from signlens.study.spec import StudySpec

MAX_TRIES = 3  # runs of one configuration that may fail before the study stops retrying it


def storage_url(out_dir: Path, url: str | None) -> str:
    if url is None:
        return f"sqlite:///{(out_dir / 'study.db').resolve()}"
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://")):
        raise SignlensError(f"--storage must be sqlite:///FILE or postgresql://..., got {redact(url)!r}")
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the pinned driver is psycopg2.
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


def open_study(spec: StudySpec, out_dir: Path, url: str | None, heartbeat: int):
    import optuna
    import sqlalchemy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Heartbeats outside Study.optimize are what this module is for; optuna warns about both.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    url = storage_url(out_dir, url)
    sqlite = url.startswith("sqlite")
    try:
        # One worker at a time creates the tables and the study (concurrent CREATE TABLEs collide).
        with study_lock(None, url, f"{spec.name}/setup"):
            return _open(optuna, spec, url, sqlite, heartbeat)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SignlensError(f"study storage {redact(url)}: {str(exc).splitlines()[0]}") from None


def _open(optuna, spec: StudySpec, url: str, sqlite: bool, heartbeat: int):
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs={"connect_args": {"timeout": 60}} if sqlite else {"pool_pre_ping": True},
        heartbeat_interval=heartbeat,
        grace_period=3 * heartbeat,
    )
    if spec.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=spec.seeds[0], n_startup_trials=min(5, spec.n_trials))
    else:  # every grid point is enqueued with fixed parameters; the sampler never chooses
        sampler = optuna.samplers.RandomSampler(seed=0)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        if spec.sampler == "tpe" and spec.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        storage=storage, study_name=spec.name, direction="maximize", sampler=sampler, pruner=pruner,
        load_if_exists=True,
    )  # fmt: skip
    fingerprint = spec_fingerprint(spec)
    stored = study.user_attrs.get("spec_fingerprint")
    if stored is None:
        study.set_user_attr("spec_fingerprint", fingerprint)
    elif stored != fingerprint:
        raise SignlensError(
            f"study {spec.name!r} in {redact(url)} was made from a different design; "
            "use another --out/--storage or restore the study file"
        )
    return study, storage, url


def redact(url: str) -> str:
    """A storage URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def spec_fingerprint(spec: StudySpec) -> str:
    design = {
        "base": spec.base, "protocol": vars(spec.protocol), "seeds": spec.seeds, "sampler": spec.sampler,
        "space": [vars(d) for d in spec.space], "n_trials": spec.n_trials,
    }  # fmt: skip
    return hashlib.sha256(json.dumps(design, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def study_lock(storage, url: str, name: str):
    """Mutual exclusion between every worker of one study, on any machine sharing the storage (through
    the storage's engine, or a short-lived one when `storage` is None)."""
    if url.startswith("postgresql"):
        import sqlalchemy

        key = zlib.crc32(f"signlens-study:{name}".encode())
        engine = (
            storage.engine
            if storage is not None
            else sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        )
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
    else:
        path = Path(url.removeprefix("sqlite:///") + f".{hashlib.md5(name.encode()).hexdigest()[:8]}.lock")
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _requeue(study, spec: StudySpec) -> None:
    """Enqueue every grid point (tpe: every failed trial) that is neither queued, running nor done, and
    has failed fewer than MAX_TRIES times."""
    from optuna.trial import TrialState

    live_states = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)
    trials = study.get_trials(deepcopy=False)
    live, failures = set(), {}
    for t in trials:
        key = grid_key(t.system_attrs.get("fixed_params") or t.params)
        if t.state in live_states:
            live.add(key)
        elif t.state == TrialState.FAIL:
            failures[key] = failures.get(key, 0) + 1
    if spec.sampler == "grid":
        points = spec.grid()
    else:
        points = [t.params for t in trials if t.state == TrialState.FAIL and len(t.params) == len(spec.space)]
    for point in points:
        key = grid_key(point)
        if key not in live and failures.get(key, 0) < MAX_TRIES:
            study.enqueue_trial(point, skip_if_exists=False)
            live.add(key)


def _claim(study, spec: StudySpec, storage, lock):
    """The next trial for this worker, or None when the study has nothing left to run."""
    import optuna
    from optuna.trial import TrialState

    optuna.storages.fail_stale_trials(study)
    with lock():
        _requeue(study, spec)
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if not waiting:
            if spec.sampler == "grid":
                return None
            counted = study.get_trials(
                deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
            )
            if len(counted) >= spec.n_trials:
                return None
        trial = study.ask()  # takes a waiting trial first, else samples a new one
        storage.record_heartbeat(trial._trial_id)  # from now on a dead worker is noticed
        return trial


class _Heartbeat:
    def __init__(self, storage, trial_id: int, interval: float):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, args=(storage, trial_id, interval), daemon=True)

    def _beat(self, storage, trial_id, interval):
        while not self.stop.wait(interval):
            with contextlib.suppress(Exception):  # a missed beat only risks a retry, never a wrong result
                storage.record_heartbeat(trial_id)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_protocol(config, run_dir: Path, spec: StudySpec, trial=None) -> dict:
    """Train one configuration under the study's protocol; `trial` (if given) is reported to for pruning."""
    import optuna

    from signlens.engine import Trainer

    p = spec.protocol
    start = time.perf_counter()
    if p.split == "test":
        trainer = Trainer(config, run_dir, progress=False)
        while trainer.state.epoch < config.epochs and not trainer.state.stopped_early:
            trainer.fit(stop_after=1)
            if trial is not None:
                trial.report(trainer.state.history[-1]["val_accuracy"], trainer.state.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        summary = trainer.summary()
        metrics = finish_run(
            run_dir,
            summary,
            trainer.state.history,
            trainer.test_set,
            trainer.bundle.test_is_official,
            val=trainer.val_set,
        )
        if p.metric not in metrics["test"]:
            raise SignlensError(f"protocol.metric {p.metric!r} is not among the test metrics")
        val = trainer.state.history[summary["best_epoch"] - 1]["val_accuracy"]
        test = metrics["test"][p.metric]
        record = {"test": test, "val": val, "objective": val if p.select == "val" else test}
        record |= {
            "split": metrics["test"]["split"],
            "epochs_run": summary["epochs_run"],
            "best_epoch": summary["best_epoch"],
        }
    else:

        def on_fold(fold: dict) -> None:
            if trial is not None and p.metric in fold:
                trial.report(fold[p.metric], fold["fold"])
                if trial.should_prune():
                    raise optuna.TrialPruned()

        group_by = "none" if p.split == "kfold" else p.split
        result = run_cv(config, run_dir, p.folds, group_by, p.group_pattern, progress=False, on_fold=on_fold)
        if p.metric not in result["mean"]:
            raise SignlensError(f"protocol.metric {p.metric!r} is not among the cross-validation metrics")
        test = result["mean"][p.metric]
        record = {"test": test, "val": None, "objective": test, "fold_std": result["std"][p.metric]}
        record |= {"split": f"{p.folds}-fold, group by {group_by}"}
    return record | {"seconds": round(time.perf_counter() - start, 2)}


def run_trial(study, trial, spec: StudySpec, out_dir: Path, log) -> None:
    import optuna

    params = {d.name: d.suggest(trial) for d in spec.space}
    grid = spec.sampler == "grid"
    seeds = [trial.suggest_categorical("seed", spec.seeds)] if grid else spec.seeds
    trial_dir = out_dir / "trials" / f"t{trial.number:04d}"
    runs = []
    try:
        for i, seed in enumerate(seeds):
            config = spec.config_for(params, seed)
            run_dir = trial_dir if grid else trial_dir / f"seed{seed}"
            prune = trial if (not grid and i == 0) else None  # pruning watches the first seed's curve
            record = run_protocol(config, run_dir, spec, prune)
            runs.append({"seed": seed, "run_dir": str(run_dir.relative_to(out_dir)), **record})
            trial.set_user_attr("runs", runs)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        log(f"trial {trial.number} {params}: pruned")
        return
    except (Exception, KeyboardInterrupt) as exc:
        with contextlib.suppress(Exception):
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log(f"trial {trial.number} {params} seeds {seeds}: failed ({type(exc).__name__}: {exc})")
        if isinstance(exc, KeyboardInterrupt | SignlensError):
            raise  # bad input is the user's to fix; retrying it would only fail again
        return
    value = sum(r["objective"] for r in runs) / len(runs)
    study.tell(trial, value)
    log(
        f"trial {trial.number} {params} seeds {seeds}: "
        + (f"val {100 * value:.2f}%  " if spec.protocol.select == "val" else "")
        + f"test {100 * sum(r['test'] for r in runs) / len(runs):.2f}%  {sum(r['seconds'] for r in runs):.0f}s"
    )


def run_study(
    spec: StudySpec, out_dir: Path, storage: str | None = None, n_trials: int | None = None,
    heartbeat: int = 30, log=print,
) -> dict:  # fmt: skip
    """Work on the study until it is finished (or this worker ran `n_trials`); returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    study, rdb, url = open_study(spec, out_dir, storage, heartbeat)

    def lock():
        return study_lock(rdb, url, spec.name)

    ran = 0
    while n_trials is None or ran < n_trials:
        trial = _claim(study, spec, rdb, lock)
        if trial is None:
            break
        with _Heartbeat(rdb, trial._trial_id, heartbeat):
            run_trial(study, trial, spec, out_dir, log)
        ran += 1
        write_results(study, spec, out_dir, redact(url))
    return write_results(study, spec, out_dir, redact(url)) | {"ran_here": ran}
