"""Figures that predict a stranger's accuracy: every held-out photo answered by a rule chosen without it.

`calibration_record` (study.recognizer.loso) chooses the temperature, the second-reading rule, the pixel fusion
and the thresholds on every held-out signer's answers at once, so its figures are a little optimistic:
the scored signer helped choose them. Here each signer (or each whole source: a new room and a new
photographer) is answered by the rule chosen on the other signers' held-out answers alone, through
predict's own rule (`replay`: pipeline.answer), and scored end to end (a photo with no hand found is an
error; an "unsure" answer is no letter).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from signlens.data.photo_sets import source_of_signer
from signlens.pipeline.answer import AnswerRule, answer
from signlens.study.recognizer.loso import Readings, calibration_record


def replay(fold: dict, rule: AnswerRule) -> tuple[np.ndarray, np.ndarray]:
    """A held-out fold's photos answered by `rule` (pipeline.answer, as `Recognizer.recognize` answers):
    (calibrated probabilities, answered at the photo threshold)."""
    answers = answer(fold["first"], fold["second"], fold.get("pixel"), fold.get("scores"), rule)
    return answers.probs, answers.answered


def score(fold: dict, misses: int, rule: AnswerRule) -> dict:
    """One held-out group's photos (misses: photos where no hand was found) under `rule`."""
    probs, answered = replay(fold, rule)
    right = probs.argmax(1) == fold["labels"]
    return {
        "signer": fold["signer"],
        "photos": int(len(right) + misses),
        "no_hand": int(misses),
        "right": int(right.sum()),
        "answered": int(answered.sum()),
        "right_answered": int((right & answered).sum()),
        "threshold": float(rule.threshold),
    }


def summary(rows: list[dict]) -> dict:
    """Pooled over photos and averaged over groups (with the sample spread) of per-group scores."""
    photos = sum(r["photos"] for r in rows)
    per = np.array([r["right"] / r["photos"] for r in rows])
    answered = sum(r["answered"] for r in rows)
    return {
        "groups": len(rows),
        "photos": photos,
        "right": sum(r["right"] for r in rows) / photos,
        "mean_over_groups": float(per.mean()),
        "std_over_groups": float(per.std(ddof=1)) if len(per) > 1 else 0.0,
        "worst_group": float(per.min()),
        "answered": answered / photos,
        "right_when_answered": sum(r["right_answered"] for r in rows) / max(answered, 1),
        "right_answered": sum(r["right_answered"] for r in rows) / photos,
    }


def nested_loso(folds: list[dict], misses: dict[str, int], members: list[str]) -> dict:
    """Leave-one-signer-out with each signer answered by the rule chosen on the other signers' held-out
    answers: per signer, over all, and per source (community-signers alone is the strangers' figure)."""
    rows = []
    for fold in folds:
        others = [f for f in folds if f["signer"] != fold["signer"]]
        rule = AnswerRule.from_record(calibration_record(others, _without(misses, fold["signer"]), members))
        rows.append(score(fold, misses.get(fold["signer"], 0), rule))
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(source_of_signer(row["signer"]), []).append(row)
    return {
        "all": summary(rows),
        "by_source": {s: summary(r) for s, r in sorted(by_source.items())},
        "per_signer": rows,
    }


def by_source(readings: Readings) -> Readings:
    """The same readings grouped by source instead of signer (for leave-one-source-out folds)."""
    missed: dict[str, list] = {}
    for signer, photos in readings.missed.items():
        missed.setdefault(source_of_signer(signer), []).extend(photos)
    sources = np.array([source_of_signer(s) for s in readings.signers])
    return dataclasses.replace(readings, signers=sources, missed=missed)


def leave_one_source_out(
    source_folds: list[dict],
    source_misses: dict[str, int],
    signer_folds: list[dict],
    signer_misses: dict,
    members,
) -> dict:
    """Each source scored whole by members trained on the other sources, answered by the rule chosen on
    the leave-one-signer-out answers of the other sources' signers (the scored source never chooses)."""
    rows = []
    for fold in source_folds:
        others = [f for f in signer_folds if source_of_signer(f["signer"]) != fold["signer"]]
        kept = {s: n for s, n in signer_misses.items() if source_of_signer(s) != fold["signer"]}
        rule = AnswerRule.from_record(calibration_record(others, kept, members))
        rows.append(score(fold, source_misses.get(fold["signer"], 0), rule))
    return {"per_source": rows, "all": summary(rows)}


def _without(misses: dict[str, int], signer: str) -> dict[str, int]:
    return {s: n for s, n in misses.items() if s != signer}
