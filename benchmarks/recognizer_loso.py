"""Leave-one-signer-out of hand-landmark recognisers over every photo signer, through `predict`'s own
reading path (study.recognizer.loso, the code scripts/build_recognizer.py records in the checkpoint).

Every photo of the held-out signer counts: a photo where the search found no hand is an error, like a
wrong letter. Each held-out photo is answered as `predict` answers it (first reading; the mirrored second
reading averaged in only when the first is below the rule's confidence). Model selection inside a fold
uses whole takes of the other signers, never the held-out signer.

    SIGNLENS_DATA=../shared/data nice .venv/bin/python benchmarks/recognizer_loso.py \\
        [--ensembles "recognizer:e20,recognizer@1:e20;recognizer:e20"] [--changes "cut,fill;cut,fill,turned"] \\
        [--train-on sms,ayuraj] [--hold-out community-signers] [--by-source] [--work runs/recognizer] [--details]
(the readings are the build script's cache under --work; they are made when missing.) With several
ensembles or changes, it also scores the choice among them: each signer read by the one that did best
on the other signers, which says how much of the best one's lead is chance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from build_recognizer import PHOTO_SETS, SHIPPED_CHANGES, SHIPPED_MEMBERS, read_sets  # noqa: E402
from signlens.data.photo_sets import source_of_signer  # noqa: E402
from signlens.study.recognizer.holdout import by_source, leave_one_source_out, nested_loso  # noqa: E402
from signlens.study.recognizer.loso import (  # noqa: E402
    calibration_record,
    is_pixel,
    load_readings,
    member_config,
    run_loso,
)


def show(name: str, record: dict, details: bool) -> None:
    per = "  ".join(f"{s['signer']} {100 * s['right'] / s['photos']:.1f}" for s in record["per_signer"])
    d = record["defaults"]
    print(
        f"{name}\n  top-1 {100 * record['loso_top1']:.2f}% of {record['photos']} photos "
        f"(mean over signers {100 * record['loso_top1_mean_over_signers']:.2f} +- "
        f"{100 * record['loso_top1_std_over_signers']:.2f}); no hand {record['no_hand']}; "
        f"at threshold {d['photo_threshold']:.2f}: answered {100 * record['loso_answered']:.1f}%, "
        f"right {100 * record['loso_right']:.2f}% ({100 * record['loso_right_when_answered']:.2f}% of answers); "
        f"second reading below {d['second_below']:.2f} ({100 * record['read_twice']:.0f}% of photos)\n  [{per}]",
        flush=True,
    )
    held = record.get("held_out")
    if held:  # the figures that predict a stranger's: each signer answered by a rule chosen without it
        print("  " + held_line("rule chosen without the scored signer", held["all"]))
        for source, row in held["by_source"].items():
            print("    " + held_line(source, row))
    by_source = record.get("leave_one_source_out")
    if by_source:
        print("  leave-one-source-out (a new room and photographer; rule chosen on the other sources):")
        for row in by_source["per_source"]:
            print(
                f"    {row['signer']}: {100 * row['right'] / row['photos']:.2f}% of {row['photos']} photos; "
                f"answered {100 * row['answered'] / row['photos']:.1f}%, "
                f"{100 * row['right_answered'] / max(row['answered'], 1):.2f}% of answers right"
            )
    fusion = record.get("fusion")
    if fusion:
        print(
            f"  pixel member fused below {fusion['below']:.2f} at weight {fusion['weight']:.2f} "
            f"({100 * fusion['fused']:.0f}% of photos); chosen without the scored signer "
            f"{100 * fusion['right_nested']:.2f}%; landmarks alone {100 * fusion['right_landmarks_only']:.2f}%, "
            f"pixels alone {100 * fusion['right_pixels_only']:.2f}%",
            flush=True,
        )
    if not details:
        return
    letters = "  ".join(f"{k} {100 * v:.0f}" for k, v in record["per_letter"].items() if v is not None)
    print(f"  per letter: {letters}")
    print("  confusions: " + ", ".join(f"{k} {v}" for k, v in record["confusions"].items()))
    print("  second reading below: " + "  ".join(
        f"{k}: {100 * v['right']:.2f}% ({100 * v['read_twice']:.0f}% twice)" for k, v in record["second_reading"].items()
    ))  # fmt: skip
    print("  threshold  answered  right  right|answered")
    for t, row in record["thresholds"].items():
        print(
            f"  {t:>9}  {100 * row['answered']:7.1f}%  {100 * row['right']:5.1f}%  {100 * row['right_when_answered']:6.1f}%"
        )


def held_line(name: str, row: dict) -> str:
    return (
        f"{name}: {100 * row['right']:.2f}% of {row['photos']} photos (mean over {row['groups']} signers "
        f"{100 * row['mean_over_groups']:.2f} +- {100 * row['std_over_groups']:.2f}, worst "
        f"{100 * row['worst_group']:.1f}); answered {100 * row['answered']:.1f}%, "
        f"{100 * row['right_when_answered']:.2f}% of answers right"
    )


def chosen_without_each_signer(records: dict[str, dict]) -> None:
    """Each signer scored with the configuration that read the other signers best."""
    right = {
        name: {s["signer"]: (s["right"], s["photos"]) for s in r["per_signer"]} for name, r in records.items()
    }
    signers = sorted(next(iter(right.values())))
    total = photos = 0
    for signer in signers:
        others = {name: sum(r for s, (r, _) in per.items() if s != signer) for name, per in right.items()}
        pick = max(others, key=others.get)  # the first of equals
        total, photos = total + right[pick][signer][0], photos + right[pick][signer][1]
        print(f"  {signer}: {pick}")
    print(
        f"chosen without the scored signer among {len(records)}: {100 * total / photos:.2f}% ({total}/{photos})"
    )


def held_signers(names: str | None, signers) -> set[str] | None:
    """The signers named, or those of the sets named (None: every signer)."""
    if not names:
        return None
    wanted = set(names.split(","))
    return {s for s in set(signers) if s in wanted or source_of_signer(s) in wanted}


def screen_by_source(spec: str, readings, members: list[str], args, train_rows) -> None:
    """Leave-one-source-out alone: each source's photos right (misses are errors), the rule chosen on the
    three sources' answers together: a screen of variants, not a headline."""
    folds, misses = run_loso(
        by_source(readings),
        members,
        args.work / "loso-source",
        args.threads,
        train_rows,
        log=lambda *a, **k: None,
    )
    record = calibration_record(folds, misses, members)
    per = "  ".join(f"{s['signer']} {100 * s['right'] / s['photos']:.2f}" for s in record["per_signer"])
    pairs = ", ".join(f"{k} {v}" for k, v in list(record["confusions"].items())[:5])
    print(f"{spec}: leave-one-source-out {100 * record['loso_top1']:.2f}% [{per}]; {pairs}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ensembles",
        default=",".join(SHIPPED_MEMBERS),
        help="members RECIPE[@SEED][:VARIANT] joined by ',', ensembles by ';'",
    )
    parser.add_argument("--sets", default=",".join(PHOTO_SETS))
    parser.add_argument(
        "--changes",
        default=",".join(SHIPPED_CHANGES),
        help="changed copies the landmark members train on, comma-separated; alternatives joined by ';'",
    )
    parser.add_argument(
        "--train-on", default=None, help="train only on these sets' signers (tags: sms, ayuraj, community)"
    )
    parser.add_argument("--work", type=Path, default=Path("runs/recognizer"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--start",
        type=int,
        default=0,
        help="train folds from this signer on (-1: backwards); "
        "processes started with different values share the work",
    )
    parser.add_argument(
        "--details", action="store_true", help="per letter, confusions, rule and threshold curves"
    )
    parser.add_argument(
        "--hold-out",
        default=None,
        help="hold out only these signers, or the signers of these sets (e.g. community-signers)",
    )
    parser.add_argument(
        "--by-source",
        action="store_true",
        help="also leave-one-source-out (train on two sets, score the third)",
    )
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="only leave-one-source-out, each source's photos right under the rule chosen on all three "
        "(a quick screen of a variant: three folds a member)",
    )
    args = parser.parse_args()
    print("leave-one-signer-out through predict's reading path; misses count as errors", flush=True)
    records = {}
    for changes in args.changes.split(";"):
        files, _ = read_sets(args.sets.split(","), args.work, tuple(c for c in changes.split(",") if c))
        for spec in args.ensembles.split(";"):
            members = spec.split(",")
            landmark = next(m for m in members if not is_pixel(m))
            pixel = any(is_pixel(m) for m in members)
            readings = load_readings(
                files, member_config(landmark, args.threads).landmarks.points, crops=pixel
            )
            train_rows = None
            if args.train_on:
                tags = tuple(f"{t}:" for t in args.train_on.split(","))
                train_rows = np.array([s.startswith(tags) for s in readings.sources])
            if args.source_only:
                screen_by_source(spec, readings, members, args, train_rows)
                continue
            only = held_signers(args.hold_out, readings.signers)
            folds, misses = run_loso(
                readings, members, args.work / "loso", args.threads, train_rows, start=args.start, only=only
            )
            name = spec + (f" (trained on {args.train_on} only)" if args.train_on else "")
            name += f" (landmarks also trained on changed copies: {changes})" if changes else ""
            name += f" (held out: {args.hold_out})" if args.hold_out else ""
            records[name] = calibration_record(folds, misses, members)
            records[name]["held_out"] = nested_loso(folds, misses, members)
            if args.by_source:
                source_folds, source_misses = run_loso(
                    by_source(readings), members, args.work / "loso-source", args.threads, train_rows
                )
                records[name]["leave_one_source_out"] = leave_one_source_out(
                    source_folds, source_misses, folds, misses, members
                )
            show(name, records[name], args.details)
    if len(records) > 1:
        chosen_without_each_signer(records)


if __name__ == "__main__":
    main()
