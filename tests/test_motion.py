"""J and Z from the fingertip's path: landmark sequences, and videos made now by moving a real photo of
the handshape (a fixture photo, cut to its hand) along a path so that MediaPipe tracks real pixels."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import fixture_photo
from signlens.pipeline.motion import MotionLetters, handshape
from signlens.pipeline.session import LiveSession


def synthetic_hand(finger: str) -> np.ndarray:
    """(21, 3) image points of an upright hand (palm 100 px, image y down) with one finger out."""
    p = np.zeros((21, 3))
    for base, x in {1: -45, 5: -30, 9: -10, 13: 10, 17: 30}.items():
        p[base] = (x, -40 if base == 1 else -100, 0)
    for name, base in zip(("thumb", "index", "middle", "ring", "pinky"), (1, 5, 9, 13, 17), strict=True):
        x, y = p[base, :2]
        for k in range(1, 4):
            p[base + k] = (x, y - 30 * k, 0) if name == finger else (x, y + (-20, -10, 10)[k - 1], 0)
    return p


def j_path(u):  # down, then a hook to one side
    if u < 0.6:
        return 0.0, 150 * u / 0.6
    v = (u - 0.6) / 0.4
    return -80 * np.sin(v * np.pi / 2), 150 - 20 * np.sin(v * np.pi)


def z_path(u):  # across, back and down, across
    corners = np.array([(0, 0), (150, 0), (0, 120), (150, 120)], float)
    s = min(u * 3, 2.999)
    k = int(s)
    return tuple(corners[k] * (1 - (s - k)) + corners[k + 1] * (s - k))


def mirror(path):
    return lambda u: (-path(u)[0], path(u)[1])


OTHER_PATHS = {
    "steady": lambda u: (3 * np.sin(40 * u), 3 * np.cos(37 * u)),
    "line": lambda u: (200 * u, 0.0),
    "wave": lambda u: (60 * np.sin(4 * np.pi * u), 0.0),
    "circle": lambda u: (80 * np.cos(2 * np.pi * u), 80 * np.sin(2 * np.pi * u)),
    "down": lambda u: (0.0, 200 * u),
    "diagonal": lambda u: (150 * u, 150 * u),
}


def letters_along(finger: str, path, frames: int = 30, fps: float = 30) -> list[str]:
    motion, out = MotionLetters(), []
    base = synthetic_hand(finger)
    for i in range(frames):
        dx, dy = path(i / (frames - 1))
        letter = motion.update(base + (dx, dy, 0), i / fps)
        out += [letter] if letter else []
    return out


def test_handshapes_from_which_finger_is_out():
    assert handshape(synthetic_hand("pinky")) == "pinky" and handshape(synthetic_hand("index")) == "index"
    assert handshape(synthetic_hand("none")) is None and handshape(synthetic_hand("middle")) is None


@pytest.mark.parametrize("path", [j_path, mirror(j_path)])
def test_a_hook_drawn_by_the_little_finger_is_j(path):
    assert letters_along("pinky", path) == ["J"]
    assert letters_along("index", path) == []  # the index finger's hook is no letter


@pytest.mark.parametrize("path", [z_path, mirror(z_path)])
def test_a_z_drawn_by_the_index_finger_is_z(path):
    assert letters_along("index", path) == ["Z"]
    assert letters_along("pinky", path) == []


@pytest.mark.parametrize("name", OTHER_PATHS)
def test_other_paths_and_a_steady_hand_give_no_motion_letter(name):
    assert letters_along("index", OTHER_PATHS[name]) == []
    assert letters_along("pinky", OTHER_PATHS[name]) == []


def test_a_motion_letter_replaces_the_static_letter_it_started_from():
    spelling, base = LiveSession(0.6, hold=0.3), synthetic_hand("pinky")  # the production session
    written = []
    for i in range(30):  # I held for a second: written once
        written.append(spelling.update("I", base, i / 30)[1])
    for i in range(30):  # then the hook: J follows the I that was held (a held I stays written)
        dx, dy = j_path(i / 29)
        written.append(spelling.update("I", base + (dx, dy, 0), 1 + i / 30)[1])
    for i in range(30):  # the I handshape held on afterwards is not written again
        written.append(spelling.update("I", base + (*j_path(1.0), 0), 2 + i / 30)[1])
    assert [w for w in written if w] == ["I", "J"] and spelling.text == "IJ"


def video_letters(letter: str, path, frames: int = 36, size: int = 180) -> list[str]:
    """A 640x480 video at 30 frames/s of a real photo moving along `path`, read by the tracker."""
    import cv2

    from signlens.pipeline.hands import HandDetector, read_rgb

    photo = read_rgb(fixture_photo(letter))
    with HandDetector(static_image_mode=True) as detector:
        x0, y0, x1, y1 = detector.detect(photo).bbox
    hand = cv2.resize(photo[y0:y1, x0:x1], (size, size))
    motion, out, found = MotionLetters(), [], 0
    with HandDetector(static_image_mode=False) as tracker:
        for i in range(frames):
            dx, dy = path(i / (frames - 1))
            frame = np.zeros((480, 640, 3), np.uint8)
            x, y = int(200 + dx), int(100 + dy)
            frame[y : y + size, x : x + size] = hand
            seen = tracker.detect(frame)
            found += seen is not None
            letter_now = motion.update(None if seen is None else seen.image_points, i / 30)
            out += [letter_now] if letter_now else []
    assert found >= frames - 2
    return out


def test_videos_of_a_real_hand_moving_along_paths():
    assert video_letters("I", j_path) == ["J"]
    assert video_letters("I", OTHER_PATHS["steady"]) == []  # a steady I stays I
    # L's index finger is out (its thumb too, which handshape() allows): it draws the Z.
    assert video_letters("L", z_path) == ["Z"]
    assert video_letters("L", OTHER_PATHS["wave"]) == []  # (the other paths: landmark tests above)
