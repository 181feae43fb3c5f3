"""From per-frame guesses to steady letters and text.

Single frames flicker (motion blur, a finger half hidden), so a letter is the majority of a short
window of frames; fingerspelling commits a letter once it has been held, needs the hand to change or
leave before the same letter counts again, and ends a word when the hand is gone for a pause.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass


class MajorityVote:
    """The most frequent label over the last `window` frames, if it has at least `min_share` of them.
    Frames with no hand or an unsure answer vote None."""

    def __init__(self, window: int = 7, min_share: float = 0.6):
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
    hold_seconds: float = 0.5  # a smoothed letter must stay this long to be written
    pause_seconds: float = 1.0  # this long with no hand ends the word

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
