"""predict's reading path done cheaper must give the same readings, bit for bit: the gray test, MediaPipe's
graph on the calling thread, and recognize_all's reader threads against one photo at a time."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import fixture_photo
from signlens.errors import SignlensError


def gray_by_channel_axis(rgb: np.ndarray) -> bool:
    """is_gray as first written (a reduction over the channel axis): the reference for the faster one."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 40000)))
    sample = rgb[::step, ::step, :3].astype(np.int16)
    spread = np.abs(sample - sample.mean(axis=2, keepdims=True)).max(axis=2)
    return bool(np.percentile(spread, 99) <= 6)


def test_is_gray_decides_as_the_channel_axis_reduction_did_near_its_threshold():
    from signlens.pipeline.reading import is_gray

    rng = np.random.default_rng(0)
    decisions = []
    for n in range(60):
        height, width = rng.integers(8, 500, 2)
        gray = rng.integers(0, 256, (height, width, 1))
        # Channel noise from well inside to well outside the threshold of 6, so both answers occur and
        # many photos land on its edge, where a value one rounding step off would flip the answer.
        noise = rng.integers(-(n % 12) - 1, (n % 12) + 2, (height, width, 3))
        rgb = np.clip(gray + noise, 0, 255).astype(np.uint8)
        if n % 5 == 0:
            rgb = np.concatenate([rgb, np.full((height, width, 1), 255, np.uint8)], axis=2)  # RGBA
        decisions.append(is_gray(rgb))
        assert decisions[-1] == gray_by_channel_axis(rgb), n
    assert 10 < sum(decisions) < 50  # both answers tested
    assert is_gray(np.zeros((10, 10), np.uint8))


def test_the_graph_on_the_calling_thread_gives_the_same_landmarks_and_starts_no_threads():
    from signlens.pipeline.hands import HandDetector, read_rgb

    images = [read_rgb(fixture_photo(c)) for c in "ABLY"]
    images.append(np.full((240, 320, 3), 128, np.uint8))  # no hand
    before = graph_threads()
    with HandDetector(synchronous=True) as calling:
        assert graph_threads() == before  # none of MediaPipe's own
        same = [calling.detect(image) for image in images]
    with HandDetector(synchronous=False) as pooled:
        assert graph_threads() > before  # the default: MediaPipe's pool (so the check above can fail)
        default = [pooled.detect(image) for image in images]
    assert sum(hand is not None for hand in default) >= 3 and default[-1] is None
    for a, b in zip(same, default, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert np.array_equal(a.image_points, b.image_points)
            assert np.array_equal(a.world_points, b.world_points)
            assert (a.handedness, a.score, a.bbox) == (b.handedness, b.score, b.bbox)


def graph_threads() -> int:
    """Threads of this process that MediaPipe's graph pools started (named mediapipe/N on Linux)."""
    tasks = f"/proc/{os.getpid()}/task"
    if not os.path.isdir(tasks):
        pytest.skip("needs /proc")
    count = 0
    for tid in os.listdir(tasks):
        try:
            with open(f"{tasks}/{tid}/comm") as f:
                count += f.read().startswith("mediapipe")
        except OSError:  # the thread ended meanwhile
            pass
    return count


def test_recognize_all_on_two_reader_threads_answers_as_one_photo_at_a_time_in_order():
    import cv2

    from signlens.pipeline.hands import read_rgb
    from signlens.pipeline.recognizer import Recognizer

    photos = [read_rgb(fixture_photo(c)) for c in "AEIW"]
    gray = np.repeat(cv2.cvtColor(photos[0], cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    items = [*photos, "bad", gray, np.ascontiguousarray(photos[1][:, ::-1])]
    items.append(np.full((300, 400, 3), 128, np.uint8))  # no hand

    def load(item):
        if isinstance(item, str):
            raise SignlensError(f"cannot read image {item}")
        return item

    recognizer = Recognizer()
    try:
        alone = [None if isinstance(x, str) else recognizer.recognize(x) for x in items]
        threaded = list(recognizer.recognize_all(items, load=load, workers=2))
    finally:
        recognizer.close()
    assert [item is x for (item, _, _), x in zip(threaded, items, strict=True)] == [True] * len(items)
    assert sum(r is not None and r.hand is not None for r in alone) >= 5
    for (_, rgb, result), one in zip(threaded, alone, strict=True):
        if one is None:
            assert rgb is None and isinstance(result, SignlensError)
            continue
        assert result.to_dict(landmarks=True) == one.to_dict(landmarks=True)
        if one.hand is not None:
            assert np.array_equal(result.hand.image_points, one.hand.image_points)
