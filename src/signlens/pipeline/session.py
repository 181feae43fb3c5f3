"""One live session, defined once: its settings (defaults and limits) and its rules (the threshold, the
majority vote, the speller and J/Z from the fingertip's path, pipeline.smoothing).

`signlens live`, the WebSocket /v1/stream and both modes of the web page read their settings from here:
the server hands `definition()` to the page (GET /v1/session and the stream's "ready" message), and the
on-device build writes it beside the exported graph (static/ondevice/session.json), so the page's
sliders, the API's checks and the CLI's options cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from signlens.pipeline.frame_search import SEARCH_EVERY, SEARCH_SECONDS
from signlens.pipeline.motion import MOTION_SECONDS
from signlens.pipeline.smoothing import REPEAT_SHIFT, REPEAT_STEADY, Spelling


@dataclass(frozen=True)
class Setting:
    default: float | None  # None: the recogniser's own live threshold, recorded in its checkpoint
    low: float
    high: float
    step: float  # the page's slider step; any value in [low, high] is accepted
    what: str


# Fingerspelling runs at 2-4 letters a second: the vote's delay plus the hold must fit in half a second of
# one letter, with no gap between letters, at any camera rate (5-30 frames/s). The window is in seconds so
# that the delay does not grow as the frame rate falls; a quarter of a second holds 2-3 frames at 8-10
# frames/s, where a 0.5 s letter leaves no room for more. benchmarks/live_pace.py measures the choice
# against the pace and the frame rate.
SETTINGS: dict[str, Setting] = {
    "threshold": Setting(None, 0.0, 1.0, 0.05, "Confidence below which a frame votes 'unsure'"),
    "hold": Setting(0.25, 0.0, 3.0, 0.05, "Seconds a letter must stay steady before it is written"),
    "pause": Setting(1.0, 0.2, 10.0, 0.1, "Seconds without a hand that end a word"),
    "window": Setting(0.25, 0.0, 2.0, 0.05, "Seconds of frames in the majority vote"),
    "min_share": Setting(0.6, 0.1, 1.0, 0.05, "Share of the window's frames the winning letter needs"),
}


def defaults(threshold: float) -> dict:
    """The settings a session starts with, for a recogniser whose live threshold is `threshold`."""
    return {name: threshold if s.default is None else s.default for name, s in SETTINGS.items()}


def definition(threshold: float) -> dict:
    """What the page needs to offer the settings: the defaults, each setting's range, step and meaning."""
    return {
        "settings": defaults(threshold),
        "limits": {
            name: {"min": s.low, "max": s.high, "step": s.step, "what": s.what}
            for name, s in SETTINGS.items()
        },
        "motion_seconds": MOTION_SECONDS,
        # Where the tracker finds no hand: a search at most every `every` seconds, of at most `seconds`.
        "frame_search": {"every": SEARCH_EVERY, "seconds": SEARCH_SECONDS},
        # A double letter: the hand slides this share of its size and rests within `steady` of one place.
        "repeat": {"shift": REPEAT_SHIFT, "steady": REPEAT_STEADY},
    }


def device_definition(weights: str | Path | None = None) -> dict:
    """What the on-device page reads (static/ondevice/session.json, written by the build): the definition
    at the model's live threshold, and the answer rule (pipeline.answer) a VIDEO Recognizer of the model
    answers frames by, as data: the page's graph calibrates by its temperature, and the page gives a
    letter by its threshold and least hand score (static/answer.mjs), so no parameter is restated in JS.
    `weights`: as Recognizer's (None: the bundled model, from its runtime bundle)."""
    from signlens.pipeline.bundle import load_parts
    from signlens.pipeline.recognizer import Recognizer

    parts = load_parts(weights, None)
    rule = Recognizer.from_parts(
        parts.classifier, None, calibration=parts.calibration, pixel=parts.pixel, running_mode="video"
    ).answer_rule()
    return {**definition(rule.threshold), "answer_rule": asdict(rule)}


def checked(values: dict) -> dict:
    """`values` (any subset of the settings) if every one is known and in range, else a ValueError
    naming the first that is not."""
    for key, value in values.items():
        if key not in SETTINGS:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
        s = SETTINGS[key]
        number = not isinstance(value, bool) and isinstance(value, int | float) and value == value
        if not number or not s.low <= value <= s.high:
            raise ValueError(f"{key} must be a number from {s.low:g} to {s.high:g}, got {value!r}")
    return values


class LiveSession:
    """One camera's settings and spelling, with the page's semantics: new settings restart the vote
    and the timings but keep the text; reset clears everything. The caller applies `threshold` to the
    recogniser's answers (the label passed to `update` is already thresholded)."""

    def __init__(self, threshold: float, **values):
        self.settings = defaults(threshold) | checked(values)
        self.reset()

    def reset(self) -> None:
        s = self.settings
        repeat = (REPEAT_SHIFT, REPEAT_STEADY)
        self.spelling = Spelling(s["window"], s["min_share"], s["hold"], s["pause"], MOTION_SECONDS, repeat)

    def configure(self, values: dict) -> None:
        text = self.spelling.text
        self.settings.update(checked(values))
        self.reset()
        self.spelling.speller.text = text  # new timings apply from here on; the text so far stays

    @property
    def text(self) -> str:
        return self.spelling.text

    def update(self, label: str | None, image_points, now: float) -> tuple[str | None, str | None]:
        """(smoothed letter, letter written at this frame); `image_points` None when no hand."""
        return self.spelling.update(label, image_points, now)
