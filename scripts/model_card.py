"""Write docs/model-card.md from the bundled recogniser's own record (its figures are never typed by hand).

    .venv/bin/python scripts/model_card.py [--weights CKPT] [--out docs/model-card.md] [--check]

--check exits 1 when the file on disk differs from what the record gives (tests run it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signlens.io import atomic_write
from signlens.pipeline.bundle import bundled_recognizer_path, recorded_calibration

OUT = Path(__file__).resolve().parents[1] / "docs" / "model-card.md"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def held_row(name: str, row: dict) -> str:
    return (
        f"| {name} | {row['groups']} | {row['photos']:,} | **{pct(row['right'])}** | "
        f"{pct(row['mean_over_groups'])} +- {100 * row['std_over_groups']:.1f} | {pct(row['worst_group'])} | "
        f"{pct(row['answered'])} | {pct(row['right_when_answered'])} |"
    )


def render(record: dict) -> str:
    held, defaults, build = record["held_out"], record["defaults"], record["build"]
    sets = record.get("sets", [])
    lines = [
        "# Model card: the bundled recogniser",
        "",
        "`src/signlens/assets/recognizer.pt`, made by `scripts/build_recognizer.py` "
        f"(record: commit {build['commit'][:7]}, members {', '.join(record['members'])}). This page is "
        "written from the checkpoint's own calibration record by `scripts/model_card.py`; "
        "`tests/test_model_card.py` checks it still matches.",
        "",
        "## Intended use",
        "",
        "Reading the 24 static letters of the American Sign Language manual alphabet (A..Y without J) from "
        "one hand in a photo or a video frame, with J and Z from the fingertip's path in live video "
        "(`pipeline/motion.py`); fingerspelling practice, captioning one's own spelling, and research on "
        "how such recognisers hold on people and rooms they never saw. An answer below the photo threshold "
        "is given as unsure (no letter), and a photo with no hand found gives no letter.",
        "",
        "## What it is not for",
        "",
        "- Signs other than the fingerspelled letters: two-handed signs, words, grammar, facial expression, "
        "and motion beyond J and Z. It reads handshapes, not ASL.",
        "- Digits (V/2, W/6, F/9 and O/0 share handshapes; a 36-class model is a separate option).",
        "- Decisions about people: it is not evidence of what someone meant, and it errs more on handshape "
        "variants its signers did not use (below).",
        "- Several hands at once: it reads the one hand MediaPipe finds first.",
        "",
        "## Training data",
        "",
        "| set | signers | photos | licence stated |",
        "| --- | ---: | ---: | --- |",
    ]
    for row in sets:
        licence = row.get("licence", "")
        if "licences" in row:  # per signer: name the stated ones, count the rest
            stated = {s: v for s, v in sorted(row["licences"].items()) if v != "none stated"}
            named = ", ".join(f"{v} ({s})" for s, v in stated.items())
            licence = f"{named}; none stated by the other {len(row['licences']) - len(stated)}"
        lines.append(f"| `{row['set']}` | {row['signers']} | {row['photos']:,} | {licence} |")
    lines += [
        "",
        "Photos are read through `predict`'s own path (both readings of each photo), and the landmark "
        f"members also train on changed copies ({', '.join(build.get('changes', []) or ['none'])}). "
        "Community photos whose contact sheet shows another person's hand, no hand, or a handshape that is "
        "not the letter are left out of training and scoring (`photo_sets.EXCLUDED`, evidence in "
        "`docs/data-audit.md`). `scripts/build_recognizer.py --sets ...` builds from a chosen subset of sets "
        "(e.g. `--sets community-signers` for the community photos alone); the record names the sets.",
        "",
        "## How well it reads strangers",
        "",
        "Every figure is a held-out one, read as `predict` reads: each signer scored by members trained "
        "without that signer, and answered by the rule (temperature, second reading, photo threshold) "
        "chosen on the other signers' held-out answers, never its own. A photo with no hand found is an "
        "error. 'Answered' is the share of photos given a letter at the photo threshold; the rest are "
        "'unsure' or no hand.",
        "",
        "| held out | signers | photos | right | mean over signers | worst signer | answered | right when answered |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        held_row("each signer, all sets", held["all"]),
    ]
    lines += [held_row(f"each signer, `{s}`", row) for s, row in held["by_source"].items()]
    source = record.get("leave_one_source_out")
    if source:
        lines += [
            "",
            "Leave-one-source-out: members trained on two sets, the third scored whole (a new room, camera "
            "and photographer), answered by the rule chosen on the other sets' signers:",
            "",
            "| held-out set | photos | right | answered | right when answered |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for row in source["per_source"]:
            answered = row["answered"] / row["photos"]
            lines.append(
                f"| `{row['signer']}` | {row['photos']:,} | **{pct(row['right'] / row['photos'])}** | "
                f"{pct(answered)} | {pct(row['right_answered'] / max(row['answered'], 1))} |"
            )
    lines += [
        "",
        f"The shipped defaults, chosen on all signers' held-out answers: photo threshold "
        f"{defaults['photo_threshold']:.2f}, live threshold {defaults['live_threshold']:.2f}, second reading "
        f"below {defaults['second_below']:.2f}, no letter for a hand MediaPipe scores below "
        f"{defaults['min_hand_score']:.2f}. Calibration: temperature {record['temperature']:.3f}, expected "
        f"calibration error {record['ece']:.3f} on the held-out answers.",
        "",
        "### Per signer (held out, rule chosen without the signer)",
        "",
        "| signer | set | photos | no hand | right | answered | right when answered |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    from signlens.data.photo_sets import source_of_signer

    for row in sorted(held["per_signer"], key=lambda r: (source_of_signer(r["signer"]), r["signer"])):
        lines.append(
            f"| {row['signer']} | {source_of_signer(row['signer'])} | {row['photos']} | {row['no_hand']} | "
            f"{pct(row['right'] / row['photos'])} | {pct(row['answered'] / row['photos'])} | "
            f"{pct(row['right_answered'] / max(row['answered'], 1))} |"
        )
    letters = ", ".join(f"{k} {100 * v:.0f}" for k, v in record["per_letter"].items() if v is not None)
    confusions = ", ".join(f"{k} {v}" for k, v in list(record["confusions"].items())[:12])
    lines += [
        "",
        "### Per letter and the most frequent confusions",
        "",
        f"Right per letter (%, all held-out photos): {letters}.",
        "",
        f"Most frequent confusions (true->read, photos): {confusions}.",
        "",
        "## Known failure classes",
        "",
        "- Letters that differ by a finger's detail more than by direction: U/R (crossed fingers), X/D (a "
        "hooked against a straight index), V/U and K/V (spread, thumb between), and the fist letters "
        "M, N, S, T, A, E, which differ by where the thumb lies, a detail the 21 landmarks blur.",
        "- Handshape variants the training signers rarely used: P held sideways (index across the body, "
        "middle finger down) reads as G or Q; M and N draped downward with the back of the hand to the "
        "camera; T with the thumb standing beside the fist reads as A (`docs/data-audit.md`).",
        "- Hands MediaPipe does not find or misreads: close-ups where the hand fills and leaves the frame, "
        "gray or dark photos, motion blur; a hand whose handedness MediaPipe cannot tell gets no letter.",
        "- The training signers are few (23), from one studio set (ayuraj), one office and eleven rooms; "
        "skin tones, ages, hand sizes and motor differences beyond theirs are not measured.",
        "",
        "## Build",
        "",
        f"`{build['command']}` at commit {build['commit'][:12]}, seeds {build['seeds']}, "
        f"{build['machine']}, {build['seconds']} s (reusing cached readings and fold runs). Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(build["versions"].items()))
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(recorded_calibration(args.weights or bundled_recognizer_path()))
    if args.check:
        same = args.out.is_file() and args.out.read_text() == text
        print(f"{args.out}: {'matches' if same else 'differs from'} the record")
        sys.exit(0 if same else 1)
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
