"""Double letters (issue 25, item 4): HELLO's LL and BOOK's OO are signed by sliding the hand a little
between two holds of one handshape. The production live session (`signlens live`, the stream) spells
the letter twice then, and once for a hand that stays, drifts a little, or passes without resting."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fixture_photo
from signlens.pipeline.hands import read_rgb
from signlens.pipeline.live import run_live
from signlens.pipeline.recognizer import Recognizer
from signlens.pipeline.session import LiveSession
from signlens.pipeline.smoothing import REPEAT_SHIFT, REPEAT_STEADY, hand_place

FRAME = (480, 720)  # a camera frame wider than the photo, so the photo can slide across it
FPS = 10  # live's frame rate for a folder of frames


@pytest.fixture(scope="module")
def letter_l():
    """The L photo, and the width of its hand in pixels (the hand's size as the session measures it)."""
    rgb = read_rgb(fixture_photo("L"))
    with Recognizer() as photo:
        hand = photo.recognize(rgb).hand
    return rgb, hand_place(hand.image_points)[2]


def frames_at(rgb: np.ndarray, offsets: list[int]) -> list[np.ndarray]:
    """The photo pasted into a gray frame at each x offset: a camera watching the hand slide."""
    height, width = rgb.shape[:2]
    out = []
    for x in offsets:
        frame = np.full((*FRAME, 3), 128, np.uint8)
        y = (FRAME[0] - height) // 2
        frame[y : y + height, x : x + width] = rgb
        out.append(frame)
    return out


def spelled(frames: list[np.ndarray], folder) -> str:
    import cv2

    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame[..., ::-1])
    with Recognizer(running_mode="video") as video:
        return run_live(video, str(folder))["text"]


def test_a_letter_held_twice_at_two_places_is_written_twice(letter_l, tmp_path):
    rgb, size = letter_l
    slide = int(round(1.5 * REPEAT_SHIFT * size))
    # 1 s of L, a slide over two frames, 1 s of L at the new place.
    offsets = [20] * FPS + [20 + slide // 2] + [20 + slide] * FPS
    assert spelled(frames_at(rgb, offsets), tmp_path / "slid") == "LL"


def test_a_letter_held_in_place_or_drifting_is_written_once(letter_l, tmp_path):
    rgb, size = letter_l
    drift = int(round(0.5 * REPEAT_SHIFT * size))  # under the repeat's shift, over 2 s
    offsets = [20 + round(drift * i / (2 * FPS)) for i in range(2 * FPS)]
    assert spelled(frames_at(rgb, offsets), tmp_path / "drift") == "L"


def test_a_hand_that_passes_without_resting_writes_no_repeat():
    """Recorded places, not pixels: the L hand moving on by more than REPEAT_STEADY of its size every
    frame (as while drawing a path) never rests, so the letter is not written again."""
    points = np.array([[100 + 10 * (i % 5), 200 + 12 * (i // 5), 0] for i in range(21)], np.float64)
    size = hand_place(points)[2]
    session = LiveSession(0.5, hold=0.25, window=0)
    texts, now = [], 0.0
    for _ in range(8):  # held: L written once
        now += 0.1
        texts.append(session.update("L", points, now)[1])
    step = 1.5 * REPEAT_STEADY * size
    for k in range(1, 30):  # moving on, never resting
        now += 0.1
        texts.append(session.update("L", points + (k * step, 0, 0), now)[1])
    assert session.text == "L" and texts.count("L") == 1
    now += 0.1
    rest = points + (30 * step, 0, 0)
    for _ in range(4):  # then resting for the hold: the second L
        now += 0.1
        session.update("L", rest, now)
    assert session.text == "LL"
