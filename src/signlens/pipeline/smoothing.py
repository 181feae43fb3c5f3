"""From per-frame guesses to steady letters and text.

Single frames flicker (motion blur, a finger half hidden), so a letter is the majority of the frames
of a short window of time (seconds, not a count of frames, so that the vote takes as long at 8 frames/s
as at 30); fingerspelling commits a letter once it has been held, needs the hand to change or
leave before the same letter counts again (or, for a double letter, to slide to a new place and rest
there), and ends a word when the hand is gone for a pause. The window, shares and times have no
defaults here: a live session's are defined once, in pipeline.session.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from signlens.pipeline.motion import MOTION_SECONDS, MotionLetters

# A double letter (HELLO's LL, BOOK's OO) is signed by sliding the hand a little and holding the shape
# again: the letter just written counts again once the hand's centre has moved this share of the hand's
# size away from where it was written, and has then rested (within REPEAT_STEADY of one place) for the
# hold time. Resting, not passing: a hand drawing J or Z moves far but never rests mid-path.
REPEAT_SHIFT = 0.35
REPEAT_STEADY = 0.1


def hand_place(points) -> tuple[float, float, float]:
    """(centre x, centre y, size) of a hand's landmarks in pixels: the middle of their box and its longer
    side. Plain float arithmetic, which the browser's speller repeats bit for bit."""
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)


def farther(a: tuple, b: tuple, limit: float) -> bool:
    """Whether places `a` and `b` (x, y first) lie more than `limit` apart."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    return dx * dx + dy * dy > limit * limit


class MajorityVote:
    """The most frequent label over the frames of the last `window_seconds` (the frame at hand and those
    less than `window_seconds` older), if it has at least `min_share` of those frames. Frames with no
    hand or an unsure answer vote None."""

    def __init__(self, window_seconds: float, min_share: float):
        self.window_seconds = window_seconds
        self.min_share = min_share
        self.votes: deque[tuple[float, str | None]] = deque()  # (time, label), oldest first

    def update(self, label: str | None, now: float) -> str | None:
        self.votes.append((now, label))
        while len(self.votes) > 1 and now - self.votes[0][0] >= self.window_seconds:
            self.votes.popleft()
        winner, count = Counter(vote for _, vote in self.votes).most_common(1)[0]
        if winner is None or count < self.min_share * len(self.votes):
            return None
        return winner

    def reset(self) -> None:
        self.votes.clear()


@dataclass
class Speller:
    hold_seconds: float  # a smoothed letter must stay this long to be written
    pause_seconds: float  # this long with no hand ends the word

    def __post_init__(self):
        self.text = ""
        self._candidate: str | None = None
        self._since = 0.0
        self._last_written: str | None = None  # cleared when the hand changes or leaves
        self._hand_gone_since: float | None = None

    def update(self, label: str | None, hand_present: bool, now: float) -> str | None:
        """Feed one frame; returns the letter written at this frame, if any."""
        if not hand_present:
            if self._hand_gone_since is None:
                self._hand_gone_since = now
            self._candidate, self._last_written = None, None
            if (
                now - self._hand_gone_since >= self.pause_seconds
                and self.text
                and not self.text.endswith(" ")
            ):
                self.text += " "
            return None
        self._hand_gone_since = None
        if label != self._last_written:
            self._last_written = None  # the handshape changed: the last letter may be written again
        if label != self._candidate:
            self._candidate, self._since = label, now
            return None
        if label is None or label == self._last_written or now - self._since < self.hold_seconds:
            return None
        self.text += label
        self._last_written = label
        return label


class Spelling:
    """One frame at a time, from the recogniser's answer to text: the majority vote and the speller for
    the static letters, and J and Z from the fingertip's path (pipeline.motion). A motion letter replaces
    a static letter written during its path (the I that J starts from, say), and the handshape held on
    afterwards is not written again until it changes. `signlens live` and the web stream share it."""

    def __init__(
        self,
        window_seconds,
        min_share,
        hold_seconds,
        pause_seconds,
        motion_seconds=MOTION_SECONDS,
        repeat=(REPEAT_SHIFT, REPEAT_STEADY),
    ):
        self.vote = MajorityVote(window_seconds, min_share)
        self.speller = Speller(hold_seconds, pause_seconds)
        self.motion = MotionLetters(motion_seconds)
        self.repeat_shift, self.repeat_steady = repeat
        self._written_at: float | None = None
        self._written_place: tuple[float, float, float] | None = None  # the hand where it last wrote
        self._rest: tuple[float, float, float] | None = None  # (x, y, since): where it rests, moved away

    @property
    def text(self) -> str:
        return self.speller.text

    def update(self, label: str | None, image_points, now: float) -> tuple[str | None, str | None]:
        """(smoothed static letter, letter written at this frame) for one frame; `image_points` is the
        hand's (21, 3) landmarks in pixels, or None when there is no hand."""
        smoothed = self.vote.update(label, now)
        if image_points is None:
            self.vote.reset()
        written = self.speller.update(smoothed, image_points is not None, now)
        place = None if image_points is None else hand_place(image_points)
        if written is None and smoothed is not None and smoothed == self.speller._last_written:
            written = self._repeated(smoothed, place, now)
        else:
            self._rest = None
        if written is not None:
            self._written_at, self._written_place, self._rest = now, place, None
        moved = self.motion.update(image_points, now)
        if moved is None:
            return smoothed, written
        s = self.speller
        if self._written_at is not None and now - self._written_at <= self.motion.seconds and s.text:
            s.text = s.text[:-1]  # the static letter the path started from was the motion letter's start
        s.text += moved
        s._last_written, s._candidate, s._since = smoothed, smoothed, now
        self._written_at, self._written_place, self._rest = None, place, None
        return smoothed, moved

    def _repeated(self, letter: str, place: tuple, now: float) -> str | None:
        """The letter just written, again, once the hand has slid away from where it wrote it and rested
        for the hold time (REPEAT_SHIFT); else None."""
        written = self._written_place
        if written is None or not farther(place, written, self.repeat_shift * written[2]):
            self._rest = None
            return None
        if self._rest is None or farther(place, self._rest, self.repeat_steady * written[2]):
            self._rest = (place[0], place[1], now)  # still moving: rest from here
            return None
        if now - self._rest[2] < self.speller.hold_seconds:
            return None
        self.speller.text += letter
        return letter
