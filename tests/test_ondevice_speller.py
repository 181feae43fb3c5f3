"""The browser's speller (static/speller.mjs, run with Node) against the Python one
(signlens.pipeline.session.LiveSession, the session pipeline/live.py and serve/stream.py run):
the same frame sequences must give the same smoothed letter, written letter and text at every frame."""

from __future__ import annotations

import json
import subprocess

import numpy as np

import signlens.pipeline.session
from signlens.pipeline.answer import answered
from signlens.pipeline.session import MOTION_SECONDS, LiveSession, definition
from signlens.pipeline.thresholds import MIN_HAND_SCORE
from test_motion import OTHER_PATHS, j_path, mirror, synthetic_hand, z_path
from test_ondevice import NODE, ROOT, needs_node

CLASSES = ["A", "B", "C", "D"]
STILL_HAND = np.zeros((21, 3), np.float32)


class PythonLive:
    """The Python side: the answer rule's gate (pipeline.answer.answered, to a sure hand) at the session's
    threshold, then the production live session (pipeline.session.LiveSession, which `signlens live` and serve/stream.py run), its
    settings and reset included. A hand is a still one unless the frame gives its points."""

    def __init__(self, settings: dict):
        self.session = LiveSession(**settings)

    @property
    def text(self) -> str:
        return self.session.text

    def step(self, hand: bool, probs: list[float], now: float, points=None) -> list:
        label = None
        threshold = self.session.settings["threshold"]
        if hand and answered(np.asarray([probs]), [1.0], threshold, MIN_HAND_SCORE)[0]:
            label = CLASSES[int(np.argmax(probs))]
        points = None if not hand else STILL_HAND if points is None else np.asarray(points)
        smoothed, written = self.session.update(label, points, now)
        return [smoothed, written, self.session.text]


def session(rng: np.random.Generator, exact: bool) -> dict:
    """Fingerspelling-like frames: runs of one letter (sometimes unsure, sometimes flickering), hands
    leaving for short and long gaps, uneven frame times, and settings changed or reset mid-way.
    `exact`: frame times in steps of 1/16 s (exact in binary), so holds and pauses end exactly on a
    frame and the >= / < boundaries of the rules are exercised."""
    settings = {
        "threshold": float(rng.choice([0.3, 0.5, 0.7])),
        "hold": float(rng.choice([0.25, 0.5, 0.8])),
        "pause": float(rng.choice([0.4, 1.0])),
        "window": float(rng.choice([0.0, 0.1, 0.25, 0.5])),  # seconds
        "min_share": float(rng.choice([0.4, 0.6, 1.0])),
    }
    frames, now = [], 0.0
    for _ in range(int(rng.integers(5, 15))):
        kind = rng.random()
        if kind > 0.85:  # a fingertip drawing a path: J, Z, their mirror images, or a wave (no letter)
            frames += moving_hand(rng, now)
            now = frames[-1][2]
            continue
        if kind > 0.7:  # one letter held, the hand slid a little, held again (a double letter, or not)
            frames += slid_hand(rng, now, exact)
            now = frames[-1][2]
            continue
        letter = int(rng.integers(len(CLASSES)))
        for _ in range(int(rng.integers(1, 25))):
            now += float(rng.choice([0.0625, 0.125]) if exact else rng.uniform(0.02, 0.12))
            if kind < 0.2:
                frames.append([False, [0.25] * 4, now])
                continue
            probs = rng.dirichlet(np.ones(len(CLASSES)) * 0.5)
            if rng.random() < 0.8:  # mostly the held letter, with a confidence near the threshold
                probs = probs * 0.3
                probs[letter] += 0.7
            frames.append([True, [float(p) for p in probs], now])
        if rng.random() < 0.1:
            frames.append(
                [
                    "configure",
                    {"hold": float(rng.choice([0.1, 0.4])), "window": float(rng.choice([0.2, 0.3]))},
                ]
            )
        if rng.random() < 0.05:
            frames.append(["reset"])
    repeat = definition(settings["threshold"])["repeat"]
    return {
        "settings": settings,
        "motion_seconds": MOTION_SECONDS,
        "repeat": repeat,
        "classes": CLASSES,
        "frames": frames,
    }


def slid_hand(rng: np.random.Generator, now: float, exact: bool) -> list:
    """A synthetic hand held, slid by a share of its size (some under the repeat's shift, some over, in
    one to three frames), and held again, with jitter; one letter mostly answered for it."""
    base = synthetic_hand(str(rng.choice(["pinky", "index", "middle"])))
    size = float(np.ptp(base[:, :2], axis=0).max())
    shift = np.array([*rng.uniform(-1, 1, 2), 0.0])
    shift *= float(rng.uniform(0.1, 0.9)) * size / max(float(np.linalg.norm(shift)), 1e-9)
    letter, frames = int(rng.integers(len(CLASSES))), []
    first, moving, second = int(rng.integers(3, 15)), int(rng.integers(1, 4)), int(rng.integers(2, 15))
    for i in range(first + moving + second):
        now += float(rng.choice([0.0625, 0.125]) if exact else rng.uniform(0.02, 0.12))
        done = min(max(i - first + 1, 0) / moving, 1.0)
        points = base + done * shift + rng.normal(0, 1.5, base.shape)
        probs = rng.dirichlet(np.ones(len(CLASSES))) * 0.2
        probs[letter] += 0.8
        frames.append([True, [float(p) for p in probs], now, points.round(3).tolist()])
    return frames


def moving_hand(rng: np.random.Generator, now: float) -> list:
    """Frames of a synthetic hand (tests/test_motion.py's) with one finger out, its whole hand moved
    along a path, a little jitter on every point, and one letter mostly answered for it."""
    finger = str(rng.choice(["pinky", "index"]))
    path = [j_path, z_path, mirror(j_path), mirror(z_path), OTHER_PATHS["wave"]][int(rng.integers(5))]
    base, count, letter = synthetic_hand(finger), int(rng.integers(20, 40)), int(rng.integers(len(CLASSES)))
    frames = []
    for i in range(count):
        now += float(rng.uniform(0.02, 0.06))
        dx, dy = path(i / (count - 1))
        points = base + (dx, dy, 0) + rng.normal(0, 2, base.shape)
        probs = rng.dirichlet(np.ones(len(CLASSES))) * 0.3
        probs[letter] += 0.7
        frames.append([True, [float(p) for p in probs], now, points.round(3).tolist()])
    return frames


def python_outputs(s: dict) -> list:
    live, out = PythonLive(s["settings"]), []
    for frame in s["frames"]:
        if frame[0] == "configure":
            live.session.configure(frame[1])
            out.append([live.text])
        elif frame[0] == "reset":
            live.session.reset()
            out.append([live.text])
        else:
            out.append(live.step(*frame))
    return out


def javascript_outputs(sessions: list[dict], folder) -> list:
    (folder / "in.json").write_text(json.dumps({"sessions": sessions, "min_hand_score": MIN_HAND_SCORE}))
    script = ROOT / "tests" / "js" / "speller_parity.mjs"
    run = subprocess.run([NODE, script, folder / "in.json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_javascript_speller_spells_exactly_as_python(tmp_path, monkeypatch):
    needs_node()
    rng = np.random.default_rng(0)
    sessions = [session(rng, exact=i % 2 == 0) for i in range(300)]
    js = javascript_outputs(sessions, tmp_path)
    expected = [python_outputs(s) for s in sessions]
    written = sum(1 for frames in expected for f in frames if len(f) == 3 and f[1])
    assert written > 200  # the sequences exercise the rules: plenty of letters get written
    assert sum(" " in frames[-1][-1] for frames in expected) > 20  # and words get ended by pauses
    moved = sum(1 for frames in expected for f in frames if len(f) == 3 and f[1] in ("J", "Z"))
    assert moved > 20  # and fingertips draw J and Z
    with monkeypatch.context() as patch:  # and hands slide to double letters: without the rule, fewer
        patch.setattr(signlens.pipeline.session, "REPEAT_SHIFT", float("inf"))
        unrepeated = [python_outputs(s) for s in sessions]
    doubled = sum(a[-1][-1] != b[-1][-1] for a, b in zip(expected, unrepeated, strict=True))
    assert doubled > 20, doubled
    for i, (a, b) in enumerate(zip(expected, js, strict=True)):
        assert a == b, f"session {i} differs"


def paced_session(word: str, fps: int, seconds_each: float) -> dict:
    """`word` spelled at `fps` with the session's defaults: a second without a hand, each letter answered
    steadily (0.8) for `seconds_each` with no gap between letters, then a pause that ends the word."""
    frames, i = [], 0
    settings = definition(0.6)["settings"]

    def add(count: int, hand: bool, letter: str | None = None):
        nonlocal i
        for _ in range(count):
            probs = [0.8 if c == letter else 0.2 / (len(CLASSES) - 1) for c in CLASSES]
            frames.append([hand, probs, i / fps])
            i += 1

    add(fps, False)
    for letter in word:
        add(round(seconds_each * fps), True, letter)
    add(round(1.5 * fps), False)
    return {
        "settings": settings,
        "motion_seconds": MOTION_SECONDS,
        "repeat": definition(0.6)["repeat"],
        "classes": CLASSES,
        "frames": frames,
    }


def test_the_vote_window_is_seconds_so_half_second_letters_spell_at_8_and_30_frames_a_second(tmp_path):
    """The default window holds 8 frames at 30 frames/s and 2 at 8 frames/s: the vote takes about as
    long at either rate, so letters held 0.5 s with no gap spell in both languages, frame for frame alike."""
    needs_node()
    word = "ABCDBADC"
    sessions = [paced_session(word, fps, 0.5) for fps in (8, 30)]
    expected = [python_outputs(s) for s in sessions]
    assert [frames[-1][-1] for frames in expected] == [word + " "] * 2
    assert javascript_outputs(sessions, tmp_path) == expected
    for fps, frames in zip((8, 30), expected, strict=True):  # when each letter's vote turns, after its start
        n, start = round(0.5 * fps), fps  # frames a letter, first letter's frame
        turns = [
            next(j for j in range(n) if frames[start + k * n + j][0] == c) / fps for k, c in enumerate(word)
        ]
        assert max(turns[1:]) <= definition(0.6)["settings"]["window"], (fps, turns)
