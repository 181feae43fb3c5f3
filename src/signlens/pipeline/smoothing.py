"""From per-frame guesses to steady letters and text.

Single frames flicker (motion blur, a finger half hidden), so a letter is the majority of a short
window of frames; fingerspelling commits a letter once it has been held, needs the hand to change or
leave before the same letter counts again, and ends a word when the hand is gone for a pause. The
window, shares and times have no defaults here: a live session's are defined once, in pipeline.session.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from signlens.pipeline.motion import MOTION_SECONDS, MotionLetters


class MajorityVote:
    """The most frequent label over the last `window` frames, if it has at least `min_share` of them.
    Frames with no hand or an unsure answer vote None."""

    def __init__(self, window: int, min_share: float):
        self.votes: deque[str | None] = deque(maxlen=window)
        self.min_share = min_share

    def update(self, label: str | None) -> str | None:
        self.votes.append(label)
        winner, count = Counter(self.votes).most_common(1)[0]
        if winner is None or count < self.min_share * self.votes.maxlen:
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

    def __init__(self, window, min_share, hold_seconds, pause_seconds, motion_seconds=MOTION_SECONDS):
        self.vote = MajorityVote(window, min_share)
        self.speller = Speller(hold_seconds, pause_seconds)
        self.motion = MotionLetters(motion_seconds)
        self._written_at: float | None = None

    @property
    def text(self) -> str:
        return self.speller.text

    def update(self, label: str | None, image_points, now: float) -> tuple[str | None, str | None]:
        """(smoothed static letter, letter written at this frame) for one frame; `image_points` is the
        hand's (21, 3) landmarks in pixels, or None when there is no hand."""
        smoothed = self.vote.update(label)
        if image_points is None:
            self.vote.reset()
        written = self.speller.update(smoothed, image_points is not None, now)
        if written is not None:
            self._written_at = now
        moved = self.motion.update(image_points, now)
        if moved is None:
            return smoothed, written
        s = self.speller
        if self._written_at is not None and now - self._written_at <= self.motion.seconds and s.text:
            s.text = s.text[:-1]  # the static letter the path started from was the motion letter's start
        s.text += moved
        s._last_written, s._candidate, s._since = smoothed, smoothed, now
        self._written_at = None
        return smoothed, moved
