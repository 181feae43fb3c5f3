"""Leave-one-signer-out of the recogniser through `predict`'s own reading path: the one measurement that
scripts/build_recognizer.py records in the checkpoint and benchmarks/recognizer_loso.py prints.

The landmark files come from study.recognizer.extract, which reads every photo with predict's PhotoReader: the
first reading of the hand the search found, and its mirrored second reading. Scoring a held-out photo
replays `Recognizer.recognize` on those readings: the first reading's answer, averaged with the second
only when the first is below `second_below`. A photo where the search found no hand is an error.
A pixel member (pipeline.pixels) trains on each photo's hand crop in the same folds; its answers are
fused by the rule the record chooses, as `Recognizer` fuses them.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from signlens.data import ImageSet, stratified_split
from signlens.data.landmarks import canonical_points, load_landmark_file
from signlens.data.photo_sets import LETTERS, signer_of_source
from signlens.engine import Trainer, build_config
from signlens.engine.config import apply_overrides
from signlens.engine.ensemble import ensemble_checkpoint
from signlens.evaluation.calibration import expected_calibration_error, fit_temperature
from signlens.inference import LandmarkClassifier, load_classifier
from signlens.io import write_json
from signlens.pipeline.answer import AnswerRule, Fusion, answer, answered, log_softmax, sure_hands
from signlens.pipeline.pixels import PIXEL_RECIPE
from signlens.pipeline.thresholds import MIN_HAND_SCORE, PHOTO_THRESHOLD
from signlens.study.recognizer.pixel_member import choose_fusion, crops_of
from signlens.study.recognizer.variants import VARIANTS

signer_of = signer_of_source


@dataclass
class Readings:
    """Every photo's readings from one or more landmark files, 24 letters, with signers."""

    points: np.ndarray  # (R, 21, 3) canonical points, one row per reading
    labels: np.ndarray  # (R,) indices into LETTERS
    sources: list[str]  # the photo of each row ("set:source", unique across files)
    views: np.ndarray  # "photo" (first reading) or "mirrored" (second)
    groups: list[str]  # takes, for validation splits that keep near-duplicates together
    signers: np.ndarray  # per row
    missed: dict[str, list[tuple[str, int]]]  # per signer: (photo, label) where no hand was found
    scores: np.ndarray | None = None  # MediaPipe's handedness score of each reading
    crops: dict[str, np.ndarray] | None = None  # per photo source: the hand crop of its first reading

    @cached_property
    def changed(self) -> np.ndarray:
        """Per row: read from a changed copy (`source#change`), training material that is never scored."""
        return np.array(["#" in s for s in self.sources], bool)

    def samples(self, index: np.ndarray) -> ImageSet:
        return ImageSet(
            self.points[index], self.labels[index], list(LETTERS), [self.sources[i] for i in index],
            [self.groups[i] for i in index],
        )  # fmt: skip

    def crop_samples(self, index: np.ndarray) -> ImageSet:
        """The hand crops of the photos whose first reading is among rows `index` (the pixel member's
        samples: one per photo, the crop predict makes from the hand the search found)."""
        rows = [i for i in index if self.views[i] == "photo" and not self.changed[i]]
        return ImageSet(
            np.stack([self.crops[self.sources[i]] for i in rows]), self.labels[rows], list(LETTERS),
            [self.sources[i] for i in rows], [self.groups[i] for i in rows],
        )  # fmt: skip


def load_readings(files: list[Path], points: str = "world", crops: bool = False) -> Readings:
    """The readings of landmark files (study.recognizer.extract); with `crops`, each photo's hand crop too.
    Files of changed copies (extract's `change`) add training rows: they are never scored, and a copy
    without a hand is no miss."""
    parts, missed, hand_crops = [], {}, {}
    for file in files:
        data = load_landmark_file(file)
        copies = bool(data["meta"].get("change"))
        names = [str(c).upper() for c in data["class_names"]]
        remap = np.array([LETTERS.index(n) if n in LETTERS else -1 for n in names])
        keep = remap[data["labels"]] >= 0
        tag = Path(file).stem.split("-")[0]
        sources = [f"{tag}:{s}" for s in data["sources"]]
        if crops and not copies:
            hand_crops.update({f"{tag}:{s}": crop for s, crop in crops_of(Path(file)).items()})
        parts.append(
            (
                canonical_points(data, points)[keep],
                remap[data["labels"]][keep],
                [s for s, k in zip(sources, keep, strict=True) if k],
                np.asarray(data["views"])[keep],
                [str(g) for g, k in zip(data["groups"], keep, strict=True) if k],
                np.asarray(data.get("scores", np.ones(len(keep))), np.float32)[keep],
            )
        )
        for source, label in zip(data["failure_sources"], data["failure_labels"], strict=True):
            if remap[label] >= 0 and not copies:
                missed.setdefault(signer_of(source), []).append((f"{tag}:{source}", int(remap[label])))
    sources = [s for p in parts for s in p[2]]
    return Readings(
        np.concatenate([p[0] for p in parts]).astype(np.float32),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
        sources,
        np.concatenate([p[3] for p in parts]),
        [g for p in parts for g in p[4]],
        np.array([signer_of(s) for s in sources]),
        missed,
        np.concatenate([p[5] for p in parts]),
        hand_crops if crops else None,
    )


def is_pixel(member: str) -> bool:
    return member.split("@")[0].split(":")[0] == PIXEL_RECIPE


def member_config(member: str, threads: int, data: str = "landmarks:readings"):
    """A member is RECIPE[@SEED][:VARIANT] (the same recipe with another seed is another member)."""
    member, _, variant = member.partition(":")
    recipe, _, seed = member.partition("@")
    data = "hand-crops:readings" if recipe == PIXEL_RECIPE else data
    overrides = {"classes": "letters", "threads": threads, **({"seed": int(seed)} if seed else {})}
    config = build_config(data, recipe=recipe, overrides=overrides)
    return apply_overrides(config, VARIANTS[variant], variant) if variant else config


def train_member(
    member: str, readings: Readings, index: np.ndarray, out: Path, threads: int, claim: bool = False
) -> Path | None:
    """Train one member on the rows `index` (validation: whole takes of the same signers); its best.pt.
    A finished run (fold.done) is reused; with `claim`, a run another process claimed gives None."""
    done = out / "fold.done"
    if done.exists():
        return out / "best.pt"
    if claim:  # several processes may share the folds: each trains the ones it claims first
        out.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(out / "fold.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return None
    config = member_config(member, threads)
    rest = readings.crop_samples(index) if is_pixel(member) else readings.samples(index)
    keep, val = stratified_split(rest.labels, config.val_fraction, config.split_seed, rest.groups)
    trainer = Trainer(
        config, out, progress=False, splits=(rest.subset(keep), rest.subset(val), rest.subset(val))
    )
    trainer.fit()
    done.touch()
    return out / "best.pt"


def photo_logits(classifier: LandmarkClassifier, readings: Readings, index: np.ndarray):
    """Per photo of rows `index`: (first reading's logits, second's or NaN, label, source)."""
    logits = classifier.logits(readings.points[index])
    first, second, labels, sources = {}, {}, {}, []
    for row, i in enumerate(index):
        source = readings.sources[i]
        if source not in labels:
            sources.append(source)
            labels[source] = readings.labels[i]
        (first if readings.views[i] == "photo" else second)[source] = logits[row]
    sources = [s for s in sources if s in first]  # a second reading never stands alone
    nan = np.full(logits.shape[1], np.nan, np.float32)
    return (
        np.stack([first[s] for s in sources]),
        np.stack([second.get(s, nan) for s in sources]),
        np.array([labels[s] for s in sources]),
        sources,
    )


def as_predict(first: np.ndarray, second: np.ndarray, temperature: float, second_below: float):
    """The landmark logits the answer rule (pipeline.answer) answers, and whether it read the hand twice."""
    answers = answer(first, second, None, None, AnswerRule(temperature, second_below))
    return answers.logits, answers.twice


WRONG_COST = 2.0  # a wrong letter weighs as much as two unsure answers (calibration_record)
SECOND_GRID = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)
THRESHOLD_GRID = tuple(round(0.05 * k, 2) for k in range(20))


def calibration_record(folds: list[dict], misses: dict[str, int], members: list[str]) -> dict:
    """From each held-out signer's (first, second, labels) logits: the temperature, the second-reading
    rule, the thresholds, and the figures README, --help and docs show (all through predict's rule)."""
    first = np.concatenate([f["first"] for f in folds])
    second = np.concatenate([f["second"] for f in folds])
    labels = np.concatenate([f["labels"] for f in folds])
    signer = np.concatenate([[f["signer"]] * len(f["labels"]) for f in folds])
    photos = len(labels) + sum(misses.values())
    # predict gives no letter for a hand MediaPipe scores below MIN_HAND_SCORE (pipeline.thresholds)
    scores = np.concatenate([f.get("scores", np.ones(len(f["labels"]))) for f in folds])
    sure = sure_hands(scores, MIN_HAND_SCORE, len(labels))
    both = np.where(np.isnan(second).any(1, keepdims=True), first, (first + np.nan_to_num(second)) / 2)
    temperature = fit_temperature(both, labels)
    rule = {}
    for below in SECOND_GRID:
        final, twice = as_predict(first, second, temperature, below)
        rule[f"{below:.2f}"] = {
            "right": float((final.argmax(1) == labels).sum() / photos),
            "read_twice": float(twice.mean()),
        }
    best = max(v["right"] for v in rule.values())
    second_below = min(
        b for b in SECOND_GRID if rule[f"{b:.2f}"]["right"] >= best - 0.001
    )  # least work within 0.1 pt
    final, twice = as_predict(first, second, temperature, second_below)
    temperature = fit_temperature(final, labels)  # refitted on what predict averages...
    final, twice = as_predict(first, second, temperature, second_below)  # ...and replayed with it
    pixels, fusion = None, None
    if all("pixel" in f for f in folds):  # the pixel member's opinion where the landmarks are unsure
        pixels = np.concatenate([f["pixel"] for f in folds])
        fusion = choose_fusion(final, pixels, labels, signer, temperature, photos)
    chosen = AnswerRule(temperature, second_below, fusion=Fusion.from_record(fusion))
    probs = answer(first, second, pixels, scores, chosen).probs
    predicted = probs.argmax(1)

    def answered_at(threshold: float) -> np.ndarray:
        return answered(probs, scores, threshold, MIN_HAND_SCORE)

    right = predicted == labels
    curve = {}
    for t in THRESHOLD_GRID:
        given = answered_at(t)
        curve[f"{t:.2f}"] = {
            "answered": float(given.sum() / photos),  # of all photos, misses included
            "right": float((right & given).sum() / photos),
            "right_when_answered": float(right[given].mean()) if given.any() else 1.0,
        }

    # A letter is given where it is right often enough to be worth the risk: the threshold that maximises
    # right answers minus twice the wrong ones, because a signer is better served by "unsure" than by a
    # wrong letter (in live text a wrong letter costs two late ones). Differences under a quarter of a
    # percent of the photos are noise: the lowest threshold within them answers most.
    def lowest_near_best(cost: float) -> float:
        score = {
            t: (right & answered_at(t)).sum() - cost * (~right & answered_at(t)).sum() for t in THRESHOLD_GRID
        }
        best = max(score.values())
        return min(t for t in THRESHOLD_GRID if score[t] >= best - 0.0025 * photos)

    # Never below 0.5: there a calibrated letter is more likely wrong than right, and hands found in
    # hand-free images read at 0.23-0.45 (benchmarks/stress_set.py's room regions).
    photo_t = live_t = max(PHOTO_THRESHOLD, lowest_near_best(WRONG_COST))
    per_signer = []
    for f in folds:
        mask = signer == f["signer"]
        n = int(mask.sum()) + misses.get(f["signer"], 0)
        per_signer.append({
            "signer": f["signer"], "photos": n, "no_hand": misses.get(f["signer"], 0),
            "right": int(right[mask].sum()),
            "right_answered": int((right & answered_at(photo_t))[mask].sum()),
        })  # fmt: skip
    end_to_end = np.array([s["right"] / s["photos"] for s in per_signer])
    per_letter, pairs = {}, {}
    for k, letter in enumerate(LETTERS):
        mask = labels == k
        per_letter[letter] = float(right[mask].mean()) if mask.any() else None
        for j in np.flatnonzero(np.bincount(predicted[mask & ~right], minlength=len(LETTERS))):
            pairs[f"{letter}->{LETTERS[j]}"] = int(((predicted == j) & mask).sum())
    given = answered_at(photo_t)
    return {
        "measured_through": "predict's reading path (pipeline.reading), leave-one-signer-out",
        "members": list(members),
        "signers": [f["signer"] for f in folds],
        "temperature": float(temperature),
        "ece": expected_calibration_error(probs, labels),
        "photos": photos,
        "no_hand": int(sum(misses.values())),
        "loso_top1": float(right.sum() / photos),  # misses count as errors
        "loso_top1_mean_over_signers": float(end_to_end.mean()),
        "loso_top1_std_over_signers": float(end_to_end.std(ddof=1)) if len(end_to_end) > 1 else 0.0,
        "loso_answered": float(given.sum() / photos),
        "loso_right": float((right & given).sum() / photos),
        "loso_right_when_answered": float(right[given].mean()) if given.any() else 1.0,
        "second_reading": rule,
        "read_twice": float(twice.mean()),
        **({"fusion": fusion} if fusion else {}),
        "defaults": {
            "photo_threshold": photo_t,
            "live_threshold": live_t,
            "second_below": second_below,
            "min_hand_score": MIN_HAND_SCORE,
        },  # fmt: skip
        "unsure_hands": {"photos": int((~sure).sum()), "right": int((right & ~sure).sum())},
        "thresholds": curve,
        "per_signer": per_signer,
        "per_letter": per_letter,
        "confusions": dict(sorted(pairs.items(), key=lambda kv: -kv[1])[:20]),
    }


def rows_tag(readings: Readings, index: np.ndarray) -> str:
    """The training rows `index` by name, not position: a run's folder name, reused while it matches."""
    rows = "\n".join(sorted(f"{readings.sources[i]}|{readings.views[i]}" for i in index))
    return hashlib.sha1(rows.encode()).hexdigest()[:8]


def fold_rows(readings: Readings, member: str, signer: str, allowed: np.ndarray | None = None) -> np.ndarray:
    """The rows `member` trains on without `signer` (within `allowed`); a pixel member reads photos as
    taken, so changed copies are landmark rows only."""
    allowed = np.ones(len(readings.labels), bool) if allowed is None else allowed
    return np.flatnonzero((readings.signers != signer) & allowed & ~(is_pixel(member) & readings.changed))


def fold_dir(work: Path, member: str, readings: Readings, rows: np.ndarray) -> Path:
    """A member's run folder under `work`, named by the member and its training rows."""
    return work / f"{member.replace(':', '-')}-{rows_tag(readings, rows)}"


def run_loso(
    readings: Readings,
    members: list[str],
    work: Path,
    threads: int = 2,
    train_rows=None,
    log=print,
    start: int = 0,
    only: set[str] | None = None,
) -> tuple[list, dict]:
    """Train every member once per held-out signer (on the other signers' rows, within `train_rows` when
    given) and collect the ensemble's readings of that signer's photos: (folds, misses per signer).
    Runs live under `work`, named by member and training rows, and finished ones are reused; several
    processes can share the work (each from another `start` signer; -1: from the last). With `only`, just
    those signers are held out."""
    allowed = np.ones(len(readings.labels), bool) if train_rows is None else np.asarray(train_rows, bool)
    signers = sorted(set(readings.signers) & set(only or readings.signers))
    signers = signers[start:] + signers[:start] if start >= 0 else signers[::-1]
    plans = {}
    for signer in signers:  # train what no other process has claimed
        dirs = []
        for m in members:
            rest = fold_rows(readings, m, signer, allowed)
            dirs.append(fold_dir(work, m, readings, rest))
            train_member(m, readings, rest, dirs[-1], threads, claim=True)
        plans[signer] = dirs
    write_json(work / "folds.json", {s: [str(d) for d in dirs] for s, dirs in plans.items()})  # who saw whom
    deadline = time.monotonic() + 4 * 3600
    folds = []
    for signer in sorted(plans):
        while not all((d / "fold.done").exists() for d in plans[signer]):  # another process's folds
            if time.monotonic() > deadline:
                raise TimeoutError(f"folds of {signer} never finished: {plans[signer]}")
            time.sleep(10)
        held = np.flatnonzero((readings.signers == signer) & ~readings.changed)
        kinds = [is_pixel(m) for m in members]
        classifier = LandmarkClassifier.from_checkpoint(
            ensemble_checkpoint(
                [d / "best.pt" for d, pixel in zip(plans[signer], kinds, strict=True) if not pixel]
            )
        )
        first, second, labels, sources = photo_logits(classifier, readings, held)
        score = {readings.sources[i]: readings.scores[i] for i in held if readings.views[i] == "photo"}
        folds.append({
            "signer": signer, "first": first, "second": second, "labels": labels, "sources": sources,
            "scores": np.array([score[s] for s in sources], np.float32),
        })  # fmt: skip
        pixel_runs = [d / "best.pt" for d, pixel in zip(plans[signer], kinds, strict=True) if pixel]
        if pixel_runs:  # the pixel members' averaged log-probabilities on each photo's crop
            crops = np.stack([readings.crops[s] for s in sources])
            folds[-1]["pixel"] = np.mean(
                [log_softmax(load_classifier(run).logits(crops)) for run in pixel_runs], axis=0
            )
        right = (first.argmax(1) == labels).sum()
        log(f"  {signer}: first reading right on {right}/{len(labels)} photos with a hand", flush=True)
    misses = {s: len(v) for s, v in readings.missed.items() if s in plans}
    return folds, misses
