"""Video finds what a photo finds (issue 25, item 3): where MediaPipe's tracker finds no hand in a frame,
the frame is searched as a photo is, on a budget, in `recognize_frame` (which `signlens live` and the
WebSocket stream both read frames through)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import NO_HAND, SHARED, fixture_photo
from signlens.pipeline.frame_search import SEARCH_EVERY
from signlens.pipeline.hands import HandDetector, read_rgb
from signlens.pipeline.live import run_live
from signlens.pipeline.recognizer import Recognizer

FPS = 15


def dim(rgb: np.ndarray, factor: float = 0.35) -> np.ndarray:
    """The photo as a dim room's camera sees it: the tracker finds no hand in it, the photo search
    (its padded view) does."""
    return (rgb.astype(np.float32) * factor).astype(np.uint8)


def tracked(frames: list[np.ndarray]) -> int:
    """Frames in which MediaPipe's tracker alone finds a hand."""
    with HandDetector(static_image_mode=False) as tracker:
        return sum(tracker.detect(rgb) is not None for rgb in frames)


def read_frames(frames: list[np.ndarray], searched: list | None = None) -> list:
    """Each frame's Recognition; `searched` gets the frames at which a full search ran."""
    with Recognizer(running_mode="video") as video:
        results = []
        for i, rgb in enumerate(frames):
            before = video.search.searches
            results.append(video.recognize_frame(rgb, i / FPS))
            if searched is not None and video.search.searches > before:
                searched.append(i)
        return results


@pytest.fixture(scope="module")
def dim_w() -> np.ndarray:
    return dim(read_rgb(fixture_photo("W")))


def test_a_hand_only_the_photo_search_finds_is_read_in_video(dim_w):
    with Recognizer() as photo:
        assert photo.recognize(dim_w).label == "W"  # the photo reader reads it
    frames = [dim_w] * 20
    assert tracked(frames) == 0  # the tracker alone finds no hand in any frame
    searched = []
    read = [r.label for r in read_frames(frames, searched)]
    # The first frame is searched; the view that found the hand reads every frame after it.
    assert read.count("W") == len(frames), read
    assert searched == [0]


def test_the_search_runs_on_a_budget_where_there_is_no_hand():
    wall = np.full((480, 640, 3), 128, np.uint8)
    wall[::7] = 90  # a striped wall: no hand in any view
    seconds = 3.0
    frames = [wall] * int(seconds * FPS)
    searched = []
    assert all(r.hand is None for r in read_frames(frames, searched))
    # One search per SEARCH_EVERY seconds of video, no more.
    assert len(searched) == int(np.ceil(seconds / SEARCH_EVERY)), searched
    assert all(
        b - a >= SEARCH_EVERY * FPS - 1e-9 for a, b in zip(searched, searched[1:], strict=False)
    ), searched


def test_no_hand_stays_no_hand_with_the_search():
    frames = [read_rgb(NO_HAND)] * 10  # the signer's face and the wall
    assert all(r.label is None for r in read_frames(frames))


def test_live_spells_a_letter_only_the_search_finds(dim_w, tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(12):  # 1.2 s at live's 10 frames/s for folders
        cv2.imwrite(str(folder / f"{i:03d}.png"), dim_w[..., ::-1])
    with Recognizer(running_mode="video") as video:
        summary = run_live(video, str(folder))
    assert summary["text"] == "W"
    assert all(r["hand"] is not None for r in summary["records"])


def test_a_shared_photo_the_tracker_misses_is_read_in_video():
    photo = SHARED / "community-signers" / "longhong" / "W" / "longhong_W_000.jpg"
    if not photo.is_file():
        pytest.skip("needs ../shared/data/community-signers")
    frames = [read_rgb(photo)] * 10
    assert tracked(frames) == 0
    assert [r.label for r in read_frames(frames)].count("W") >= 9
