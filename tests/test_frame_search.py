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
from signlens.pipeline.reading import PhotoReader
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


# Video reads what a photo reads where the tracker is unsure: the model is trained on photo readings,
# and on a held hand the tracker (cropping around the last frame's points) can settle on landmarks a
# little off them that the model reads worse.


def test_a_frame_the_tracker_leaves_unsure_is_answered_from_its_photo_reading():
    rgb = read_rgb(fixture_photo("L"))
    frames = 6
    reader = PhotoReader()
    try:
        first = reader.find(rgb, views=("photo",))  # predict's first reading of the photo
    finally:
        reader.close()
    with Recognizer(running_mode="video") as video:
        sure = [video.recognize_frame(rgb, i / FPS) for i in range(frames)]
        assert [r.label for r in sure] == ["L"] * frames
        assert video.search.rereads == 0  # a sure frame costs nothing more
        # At a threshold no reading reaches, every tracked frame is unsure: each is read again, once,
        # and answered from the photo's reading (its hand, its letter, its confidence).
        unsure = [video.recognize_frame(rgb, (frames + i) / FPS, threshold=1.0) for i in range(frames)]
        assert video.search.rereads == frames
        photo_answer = video.classify(first, rgb, threshold=1.0)
    for result in unsure:
        assert result.label is None
        np.testing.assert_array_equal(result.hand.image_points, first.image_points)
        assert result.confidence == pytest.approx(photo_answer.confidence, abs=1e-9)
        assert result.timings["search"] > 0


def test_no_hand_frames_are_not_read_again():
    with Recognizer(running_mode="video") as video:
        for i in range(5):
            video.recognize_frame(read_rgb(NO_HAND), i / FPS)
        assert video.search.rereads == 0


def test_a_held_photo_the_tracker_reads_unsure_is_spelled_as_the_photo_reads():
    import cv2

    photo = SHARED / "community-signers" / "mariia" / "P" / "mariia_P_010.jpg"
    if not photo.is_file():
        pytest.skip("needs ../shared/data/community-signers")
    rgb = cv2.resize(read_rgb(photo), (640, 480), interpolation=cv2.INTER_LINEAR)  # the page's camera size
    frames = 8
    with Recognizer() as still:
        assert still.recognize(rgb).label == "P"
    with Recognizer(running_mode="video") as video:
        with HandDetector(static_image_mode=False) as tracker:  # the tracker's own readings of the frames
            tracked = [video.classify(tracker.detect(rgb), rgb).label for _ in range(frames)]
        assert tracked.count(None) >= 2, tracked  # some held frames it reads unsure
        read = [video.recognize_frame(rgb, i / FPS).label for i in range(frames)]
    assert read == ["P"] * frames, read
