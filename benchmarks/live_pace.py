"""How fast may one fingerspell? The live session's vote and hold (pipeline/session.py) against the pace.

Each photo of the sign-mnist-source signers is read once by the bundled recogniser (as a photo: its best
letter, confidence and whether a hand was found). A "clip" is then spelled frame by frame through the
production LiveSession: words of 5 letters (no letter twice in a row, J and Z left out), each letter held
for `--hold-each` seconds at `--fps`, with no gap between letters and 1.5 s without a hand between words.
Two ways a letter's frames are drawn: `steady` (one photo of that letter held, as the issue's clip), and
`flicker` (a fresh photo of that letter, same signer, every frame: a hand that is never quite still).
Printed per setting: letters spelled right (aligned to the truth), letters written wrong, and extra
letters, over all signers' words. The frames are photos, not video: no blur and no in-between hand
shapes between letters, so wrong letters here are a floor, not what a camera gives.

    SIGNLENS_DATA=../shared/data python benchmarks/live_pace.py [--fps 15] [--words 20]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
from pathlib import Path

import numpy as np

from signlens.pipeline.session import LiveSession

LETTERS = "ABCDEFGHIKLMNOPQRSTUVWXY"
STILL = np.zeros((21, 3), np.float32)  # a hand that does not move: no J or Z


def read_photos(root: Path, cache: Path) -> dict:
    """{signer: {letter: [(best, confidence, hand_found), ...]}}, read once and cached."""
    if cache.is_file():
        return json.loads(cache.read_text())
    from signlens import Recognizer

    answers: dict = {}
    with Recognizer() as recognizer:
        for signer in sorted(p.name for p in root.iterdir() if p.is_dir()):
            for letter in LETTERS:
                for path in sorted((root / signer).glob(f"{letter}[0-9]*.jpg")):
                    r = recognizer.recognize(str(path), threshold=0.0)
                    answers.setdefault(signer, {}).setdefault(letter, []).append(
                        [r.best, float(r.confidence), r.hand is not None]
                    )
    cache.write_text(json.dumps(answers))
    return answers


def spell(session: LiveSession, frames: list, fps: float) -> str:
    threshold = session.settings["threshold"]
    for i, (best, confidence, hand) in enumerate(frames):
        label = best if hand and confidence >= threshold else None
        session.update(label, STILL if hand else None, i / fps)
    return session.text.strip()


def score(truth: str, written: str) -> tuple[int, int, int]:
    """(letters right, letters wrong in place of a true one, extra letters) of `written` against `truth`."""
    right = wrong = extra = 0
    matcher = difflib.SequenceMatcher(a=truth, b=written, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            right += a1 - a0
        elif op == "replace":
            wrong += min(a1 - a0, b1 - b0)
            extra += max(0, (b1 - b0) - (a1 - a0))
        elif op == "insert":
            extra += b1 - b0
    return right, wrong, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 15.0, 10.0, 8.0])
    parser.add_argument("--hold-each", type=float, nargs="+", default=[1.0, 0.5])
    parser.add_argument("--words", type=int, default=20, help="words a signer")
    parser.add_argument(
        "--settings",
        default='[{"window": 0.15}, {}, {"window": 0.35}]',
        help="JSON list of setting overrides to compare ({} = the defaults; window and hold in seconds)",
    )
    parser.add_argument("--cache", type=Path, default=Path("runs/live_pace_answers.json"))
    args = parser.parse_args()
    root = Path(os.environ.get("SIGNLENS_DATA", "../shared/data")) / "sign-mnist-source"
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    answers = read_photos(root, args.cache)
    from signlens import Recognizer

    with Recognizer(running_mode="video") as recognizer:  # the live threshold its calibration record gives
        threshold = float(recognizer.threshold)
    print(
        f"live threshold {threshold:.2f}; {sum(len(v) for s in answers.values() for v in s.values())} photos"
    )
    rng = np.random.default_rng(0)
    words: dict[str, list[str]] = {}
    for signer in answers:  # 5 letters, none twice in a row
        words[signer] = []
        for _ in range(args.words):
            word = [str(rng.choice(list(LETTERS)))]
            while len(word) < 5:
                c = str(rng.choice(list(LETTERS)))
                if c != word[-1]:
                    word.append(c)
            words[signer].append("".join(word))
    print("| fps | held (s) | frames | settings | right | wrong | extra |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for fps in args.fps:
        for held in args.hold_each:
            for mode in ("steady", "flicker"):
                # One clip per signer, the same for every setting: the settings are compared on the same frames.
                clips = {}
                for signer, signer_words in words.items():
                    frames = []
                    for word in signer_words:
                        for c in word:
                            takes, n = answers[signer][c], max(1, round(held * fps))
                            if mode == "steady":
                                frames += [takes[rng.integers(len(takes))]] * n
                            else:
                                frames += [takes[rng.integers(len(takes))] for _ in range(n)]
                        frames += [[None, 0.0, False]] * round(1.5 * fps)
                    clips[signer] = frames
                letters = sum(len(w) for ws in words.values() for w in ws)
                for overrides in json.loads(args.settings):
                    totals = np.zeros(3, int)
                    for signer, frames in clips.items():
                        written = spell(LiveSession(threshold, **overrides), frames, fps)
                        totals += score("".join(words[signer]), written.replace(" ", ""))
                    right, wrong, extra = totals / letters
                    label = json.dumps(overrides) if overrides else "defaults"
                    print(
                        f"| {fps:g} | {held:g} | {mode} | {label} | {right:.1%} | {wrong:.1%} | {extra:.1%} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
