"""The training loop: one run directory per run, checkpoints every epoch, selection on validation only.

The test split is never looked at here; `signlens.evaluation.report` scores it once, after training.
"""

from __future__ import annotations

import time
from itertools import zip_longest
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import signlens.engine.distributed as distributed
from signlens.data import DataBundle, ImageSet
from signlens.data.inputs import Stored, input_adapter, samples_kind
from signlens.data.splits import require_samples
from signlens.engine.checkpoint import load_checkpoint, save_checkpoint
from signlens.engine.config import TrainConfig
from signlens.engine.finetune import StagePlan, initial_weights, set_norm_mode
from signlens.engine.metrics import classification_metrics, confusion_matrix
from signlens.engine.optim import build_optimizer, build_scheduler, make_ema
from signlens.engine.rundata import run_splits
from signlens.engine.runinfo import pick_device, provenance, seed_everything
from signlens.engine.runstate import RunState, batch_starts, cpu_state, progress_bar, write_history
from signlens.errors import SignlensError
from signlens.io import write_yaml
from signlens.models import create_model, resolved_arguments
from signlens.models.pretrained import imagenet_stats
from signlens.models.registry import check_model_reads

MAX_PARAMETERS = 500_000_000  # 2 GB of fp32 weights: ResNet18 has 11M; more is a typo in --model-arg


def check_model_size(name: str, num_classes: int, args: dict) -> None:
    """Count the parameters on the meta device (no memory) before building for real: a model arg like
    widths=[100000,100000] would otherwise ask for hundreds of gigabytes (or be killed for it)."""
    try:
        with torch.device("meta"):
            count = sum(p.numel() for p in create_model(name, num_classes, **args).parameters())
    except SignlensError:
        raise
    except Exception:  # noqa: BLE001 - a builder that cannot run on meta is checked by the real build
        return
    if count > MAX_PARAMETERS:
        raise SignlensError(
            f"model {name!r} with {args} would have {count:,} parameters (the limit is {MAX_PARAMETERS:,})"
        )


class Trainer:
    def __init__(
        self, config: TrainConfig, out_dir: str | Path, progress: bool = True, splits: tuple | None = None
    ):
        """`splits`: (train, val, test) sets to use instead of loading and splitting `config.data`
        (cross-validation hands each fold in this way)."""
        self.config = config
        self.out = Path(out_dir)
        self.progress = progress
        self.splits = splits
        self.state = RunState()
        self.dist = distributed.context()
        self.device = distributed.rank_device(pick_device(config.device))
        if self.dist.backend == "nccl" and self.device.type != "cuda":
            raise SignlensError("--dist-backend nccl trains on CUDA only; use gloo on the CPU")
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed, config.deterministic)
        self._load_data()
        self._build()

    @classmethod
    def resume(cls, run_dir: str | Path, progress: bool = True, epochs: int | None = None) -> Trainer:
        """Continue the run in `run_dir` from its last.pt; `epochs` sets a new total length (the
        schedule is stretched to it from the step reached)."""
        path = Path(run_dir) / "last.pt"
        last = load_checkpoint(path)
        if "optimizer" not in last:
            raise SignlensError(f"{run_dir}/last.pt has no optimizer state; cannot resume")
        try:
            config = TrainConfig.from_dict(last["config"], f"{path}: config")
            done = int(last["state"]["epoch"])
            if epochs is not None and epochs != config.epochs:
                if epochs < done:
                    raise SignlensError(
                        f"--epochs {epochs}: the run in {run_dir} has already trained {done} epochs"
                    )
                if config.stages:
                    raise SignlensError("a staged run lasts as long as its stages; --epochs cannot change it")
                config.epochs = epochs
            trainer = cls(config, run_dir, progress)
            trainer._restore(last, stretched=epochs is not None)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
            first = " ".join(str(exc).split())[:160]
            raise SignlensError(
                f"{path}: cannot resume from it ({exc.__class__.__name__}: {first})"
            ) from None
        return trainer

    def _restore(self, last: dict, stretched: bool) -> None:
        self.state = RunState.from_checkpoint(last)
        if self.plan is not None:
            self.plan.enter(self)  # the stage's trainable layers and optimizer groups, then its state
        if self.ema is not None:
            self.ema.module.load_state_dict(last["state_dict"])
            self.ema.n_averaged.copy_(last["ema"]["n_averaged"])
            self.model.load_state_dict(last["ema"]["raw"])
        else:
            self.model.load_state_dict(last["state_dict"])
        self.optimizer.load_state_dict(last["optimizer"])
        if self.scheduler is not None and last.get("scheduler"):
            state = dict(last["scheduler"])
            if stretched:  # a new length: the fresh schedule's shape, continued from the step reached
                fresh = self.scheduler.state_dict()
                state.update(
                    {k: fresh[k] for k in ("total_steps", "_schedule_phases", "T_max") if k in fresh}
                )
            self.scheduler.load_state_dict(state)
        self.generator.set_state(last["rng"]["generator"])
        torch.set_rng_state(last["rng"]["torch"])

    # -- setup ------------------------------------------------------------------------------------
    def _load_data(self) -> None:
        c = self.config
        if self.splits is None:
            bundle, train, val, test = run_splits(c)
            if train is None:
                raise SignlensError(
                    f"data '{bundle.name}' has no training split (it is an evaluation-only file)"
                )
        else:
            train, val, test = self.splits
            bundle = DataBundle(c.data, train, test, {}, test_is_official=False, kind=samples_kind(train))
        self.kind = bundle.kind
        self.inputs = input_adapter(bundle.kind, c.img_size, c.in_chans, c.augment, c.landmarks, self.device)
        check_model_reads(c.model, bundle.name, bundle.kind, self.inputs.model_shape())
        self.class_names = bundle.class_names
        self.bundle, self.test_set = bundle, test
        self.val_set = val  # calibration fits its temperature here (evaluation.finish_run)
        require_samples(bundle.name, train, val, test)  # cross-validation folds come here unchecked
        self.train = self.prepare(train)
        self.val = self.prepare(val)
        imagenet = c.normalize == "imagenet" or (c.normalize == "auto" and c.pretrained == "imagenet")
        # ImageNet weights expect ImageNet statistics; anything else is normalised by its own training set.
        self.inputs.fit(
            self.train, imagenet_stats(self.inputs.model_shape().get("in_chans") or 3) if imagenet else None
        )
        self.data_record = {
            "name": bundle.name,
            "spec": c.data,
            "checksums": bundle.checksums,
            "test_is_official": bundle.test_is_official,
            "num_train": len(train),
            "num_val": len(val),
            "num_test": len(test),
            "class_names": self.class_names,
        }

    def _build(self) -> None:
        c = self.config
        self.model_args = {**self.inputs.model_shape(), **c.model_args}
        check_model_size(c.model, len(self.class_names), self.model_args)
        self.model = create_model(c.model, len(self.class_names), **self.model_args).to(self.device)
        if c.channels_last and self.inputs.channels_last_ok:
            # NHWC weights let oneDNN's convolutions skip layout conversions, which is faster on CPU.
            self.model = self.model.to(memory_format=torch.channels_last)
        # Record every argument the builder took, defaults included (img_size only where it is used).
        self.model_args = resolved_arguments(c.model, self.model_args)
        self.init_reports = initial_weights(self.model, c.model, self.model_args, c.pretrained, c.init)
        if c.stages and not self.init_reports:
            raise SignlensError(
                "staged fine-tuning trains only some layers of a network: give it starting weights "
                "with --pretrained imagenet or --init PATH"
            )
        # Under torchrun each rank takes its share of every global batch from its shard of the epoch.
        self.batch_size = distributed.rank_batch(c.batch_size)
        self.shard_size = -(-len(self.train.y) // self.dist.world_size)
        self.steps_per_epoch = len(batch_starts(self.shard_size, self.batch_size))
        self.plan = StagePlan.from_config(c.stages) if c.stages else None
        if c.freeze_bn:
            set_norm_mode(self.model, True)  # before the optimizer is built, so it leaves them out
        if self.plan is not None:
            self.plan.enter(self)
        else:
            self.rebuild_optimizer(c)
        self.generator = torch.Generator().manual_seed(c.seed)
        self.ema = make_ema(self.model, c.ema_decay)
        self.use_amp = c.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)

    def rebuild_optimizer(self, config: TrainConfig) -> None:
        """Optimizer and schedule over the parameters that are trainable now (a stage changes them)."""
        self.optimizer = build_optimizer(self.model, config)
        self.net = distributed.wrap(self.model, self.device)  # what the training forward pass runs
        self.scheduler, self.schedule_when = build_scheduler(self.optimizer, config, self.steps_per_epoch)

    def prepare(self, samples: ImageSet) -> Stored:
        """A data set's samples as stored tensors at the model's input format (see data.inputs)."""
        return self.inputs.prepare(samples)

    @property
    def eval_model(self) -> torch.nn.Module:
        """The weights that are evaluated and saved: the running average when EMA is on."""
        return self.model if self.ema is None else self.ema.module

    def restore_best(self) -> None:
        """Load best.pt's weights, as the test scoring does, so predictions come from the chosen epoch."""
        self.eval_model.load_state_dict(load_checkpoint(self.out / "best.pt")["state_dict"])

    def predict(self, samples: ImageSet) -> np.ndarray:
        """Logits (N, classes) for any set of samples in this run's data format."""
        return self.logits(self.prepare(samples).x).numpy()

    def write_config(self) -> None:
        record = self.config.to_dict()
        record["provenance"] = {
            **provenance(self.device),
            "distributed": distributed.record(self.config.batch_size),
            "data": self.data_record,
            "model": {
                "name": self.config.model,
                "args": self.model_args,
                "parameters": self.num_parameters(),
            },
            "init": [
                {**r.to_dict(), "loaded": len(r.loaded)} for r in self.init_reports
            ],  # what the starting weights did and did not provide
        }
        write_yaml(self.out / "config.yaml", record)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # -- loop -------------------------------------------------------------------------------------
    def fit(self, stop_after: int | None = None) -> dict:
        """Train to the configured epoch count (or only `stop_after` more epochs, as an interrupted run)."""
        if self.dist.is_main:  # the other ranks of a torchrun group write nothing
            self.out.mkdir(parents=True, exist_ok=True)
            if self.state.epoch == 0:
                self.write_config()
        c, s = self.config, self.state
        with progress_bar(self.progress and self.dist.is_main) as bar:
            task = bar.add_task(
                "train", total=c.epochs * self.steps_per_epoch, completed=s.epoch * self.steps_per_epoch
            )
            last = c.epochs if stop_after is None else min(c.epochs, s.epoch + stop_after)
            while s.epoch < last and not s.stopped_early:
                start = time.perf_counter()
                train_metrics = self._train_epoch(bar, task)
                # Rank 0 scores validation and the others take its figures, so every decision agrees.
                val_metrics = distributed.broadcast(self.evaluate(self.val) if self.dist.is_main else None)
                seconds = time.perf_counter() - start
                s.train_seconds += seconds
                s.epoch += 1
                self._after_epoch(train_metrics, val_metrics, seconds)
                bar.update(task, description=self._describe(val_metrics))
        if self.dist.active:  # proof that the ranks trained one model together
            self.dist_record = {"rank_weight_spread": distributed.weight_spread(self.model, self.device)}
        return self.summary()

    def _train_epoch(self, bar, task) -> dict:
        c = self.config
        self.model.train()
        set_norm_mode(self.model, c.freeze_bn)
        if self.dist.active:  # this rank's shard, and its own augmentation and dropout draws
            seed = distributed.rank_seed(c.seed, self.state.epoch)
            self.generator.manual_seed(seed)
            torch.manual_seed(seed)
            order = distributed.shard_order(len(self.train.y), c.seed, self.state.epoch)
        else:
            order = torch.randperm(len(self.train.y), generator=self.generator)
        total_loss, predictions, targets = 0.0, [], []
        starts = batch_starts(len(order), self.batch_size)
        for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
            index = order[start:end]
            x = self.inputs.train_batch(self.train.x[index], self.generator)
            y = self.train.y[index].to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                logits = self.net(x)
                loss = F.cross_entropy(logits, y, label_smoothing=c.label_smoothing)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if c.grad_clip:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            if self.schedule_when == "batch":
                self.scheduler.step()
            total_loss += loss.item() * len(index)
            predictions.append(logits.argmax(1).cpu())
            targets.append(y.cpu())
            bar.advance(task)
        confusion = confusion_matrix(
            torch.cat(targets).numpy(), torch.cat(predictions).numpy(), len(self.class_names)
        )
        # The epoch's figures over every rank's shard; each rank's sample count shows that it trained.
        confusion, samples, total_loss = distributed.epoch_totals(
            confusion, len(order), total_loss, self.device
        )
        self.state.rank_samples = [
            a + b for a, b in zip_longest(self.state.rank_samples, samples, fillvalue=0)
        ]
        metrics = classification_metrics(confusion, self.class_names)
        metrics["loss"] = total_loss / sum(samples)
        return metrics

    @torch.inference_mode()
    def logits(self, x_uint8: torch.Tensor) -> torch.Tensor:
        model = self.eval_model.eval()
        out = []
        for start in range(0, len(x_uint8), self.config.eval_batch_size):
            x = self.inputs.eval_batch(x_uint8[start : start + self.config.eval_batch_size])
            with torch.autocast(self.device.type, enabled=self.use_amp):
                out.append(model(x).float().cpu())
        return torch.cat(out)

    def evaluate(self, split: Stored) -> dict:
        logits = self.logits(split.x)
        metrics = self._metrics(split.y, logits.argmax(1))
        metrics["loss"] = F.cross_entropy(logits, split.y).item()
        return metrics

    def _metrics(self, targets: torch.Tensor, predictions: torch.Tensor) -> dict:
        confusion = confusion_matrix(targets.numpy(), predictions.numpy(), len(self.class_names))
        return classification_metrics(confusion, self.class_names)

    def _after_epoch(self, train: dict, val: dict, seconds: float) -> None:
        c, s = self.config, self.state
        # The highest group rate: with layer-wise decay or frozen stages that is the head's.
        lr = max(group["lr"] for group in self.optimizer.param_groups)
        row = {"epoch": s.epoch, "lr": lr, "seconds": round(seconds, 3)}
        for prefix, metrics in (("train", train), ("val", val)):
            for key in ("loss", "accuracy", "macro_precision", "macro_recall", "macro_f1"):
                row[f"{prefix}_{key}"] = round(metrics[key], 6)
        s.history.append(row)
        if self.schedule_when == "epoch":
            self.scheduler.step()
        elif self.schedule_when == "val":
            self.scheduler.step(val["loss"])
        # Best = highest validation accuracy; a tie goes to the later epoch, which has trained longer at
        # a lower rate. Validation loss is no tie-break: under label smoothing it rises as a saturated
        # model settles on the smoothed targets (on Sign MNIST it picked epoch 5 of 10 and lost
        # 0.1-0.4 points of test accuracy). Early stopping waits for a strict gain.
        improved = val["accuracy"] > s.best_key[0]
        if val["accuracy"] >= s.best_key[0]:
            s.best_key, s.best_epoch = (val["accuracy"], -val["loss"]), s.epoch
            if self.dist.is_main:
                save_checkpoint(self.out / "best.pt", self._payload(val, with_training_state=False))
        s.epochs_since_best = 0 if improved else s.epochs_since_best + 1
        s.stopped_early = bool(c.patience and s.epochs_since_best >= c.patience)
        # A stage ending reverts to its best weights and sets up the next before last.pt records the state.
        if self.plan is not None and self.plan.after_epoch(self, val["loss"]):
            self.plan.enter(self)
        if self.dist.is_main:
            save_checkpoint(self.out / "last.pt", self._payload(val, with_training_state=True))
            write_history(self.out / "history.csv", self.state.history)

    def _payload(self, val: dict, with_training_state: bool) -> dict:
        payload = {
            "model": {"name": self.config.model, "args": self.model_args},
            "state_dict": cpu_state(self.eval_model),
            "class_names": self.class_names,
            "preprocess": self.inputs.preprocess(),
            "config": self.config.to_dict(),
            "epoch": self.state.epoch,
            "val": {k: val[k] for k in ("loss", "accuracy", "macro_f1")},
        }
        if with_training_state:
            s = self.state
            if self.ema is not None:  # the raw weights keep training on resume; state_dict holds the EMA
                payload["ema"] = {"raw": cpu_state(self.model), "n_averaged": self.ema.n_averaged.cpu()}
            payload.update(
                optimizer=self.optimizer.state_dict(),
                scheduler=self.scheduler.state_dict() if self.scheduler is not None else {},
                rng={"generator": self.generator.get_state(), "torch": torch.get_rng_state()},
                history=s.history,
                state=s.to_dict(),
            )
        return payload

    def summary(self) -> dict:
        s = self.state
        return {
            "train_seconds": round(s.train_seconds, 3),
            "epochs_run": s.epoch,
            "best_epoch": s.best_epoch,
            "stopped_early": s.stopped_early,
            "parameters": self.num_parameters(),
            "world_size": self.dist.world_size,
            "rank_samples": list(s.rank_samples),  # samples each rank trained on, over the run
            **getattr(self, "dist_record", {}),
        }

    def _describe(self, val: dict) -> str:
        return f"epoch {self.state.epoch}/{self.config.epochs} val acc {val['accuracy']:.4f} loss {val['loss']:.4f}"
