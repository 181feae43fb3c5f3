"""The recogniser: photo -> hand -> landmarks -> calibrated letter, or an honest "no hand" / "unsure".

    import signlens

    with signlens.Recognizer() as recognizer:  # the bundled model, reading photos
        print(recognizer.recognize("photo.jpg").label)

The bundled model (`signlens/assets/recognizer.pt`, made by scripts/build_recognizer.py) reads hand
landmarks first: a handshape's geometry survives other signers, skin tones, lighting and rooms, where a
pixel CNN trained on a few rooms' photos alone does not. Where the landmarks leave the answer unsure, a
small CNN over the hand crop gives a second opinion (pipeline.pixels): the thumb of a fist letter, which
the 21 points blur, is still in the pixels.

Options fixed at build time are a frozen `RecognizerOptions`; what may change per call (threshold,
top_k) is an argument of each call, so one recogniser serves callers who want different ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from signlens.errors import SignlensError
from signlens.inference.protocol import Classifier
from signlens.pipeline.answer import AnswerRule, Answers, answer
from signlens.pipeline.bundle import load_parts
from signlens.pipeline.description import description
from signlens.pipeline.frame_search import FrameSearch
from signlens.pipeline.hands import Hand, HandDetector, read_rgb
from signlens.pipeline.options import (
    RecognizerOptions,
    RunningMode,
    checked_rgb,
    checked_seconds,
    checked_threshold,
    checked_timestamp,
    checked_top_k,
)
from signlens.pipeline.pixels import PixelOpinion
from signlens.pipeline.reading import PhotoReader, ReadSettings
from signlens.pipeline.recognition import Recognition
from signlens.pipeline.threads import read_in_threads
from signlens.pipeline.thresholds import recorded_defaults

__all__ = ["Recognition", "Recognizer", "RecognizerOptions", "RunningMode"]


class Recognizer:
    """Reads hand signs in photos (IMAGE mode) or in a video's frames (VIDEO mode).

    `Recognizer()` loads the bundled model for photos; `Recognizer(weights, running_mode="video",
    threshold=0.6)` any other, with any `RecognizerOptions` field as a keyword; `create_from_options`
    takes a `RecognizerOptions`. Close it (or use `with`) to free MediaPipe's graphs. One recogniser
    serves one thread at a time (MediaPipe's graphs are not thread-safe); `recognize_all` reads many
    photos on threads of its own."""

    def __init__(self, weights: str | Path | None = None, **options):
        self._load(RecognizerOptions(weights=weights, **options))

    @classmethod
    def create_from_options(cls, options: RecognizerOptions) -> Recognizer:
        recognizer = cls.__new__(cls)
        recognizer._load(options)
        return recognizer

    @classmethod
    def create(cls, weights: str | Path | None = None, **options) -> Recognizer:
        return cls(weights, **options)

    @classmethod
    def from_parts(
        cls,
        classifier: Classifier,
        detector: HandDetector | None,
        *,
        reader: PhotoReader | None = None,
        calibration: dict | None = None,
        pixel: PixelOpinion | None = None,
        views: tuple[str, ...] | None = None,
        second_below: float | None = None,
        threshold: float | None = None,
        top_k: int = 3,
        mirror_tta: bool | None = None,
        running_mode: RunningMode | str = RunningMode.IMAGE,
    ) -> Recognizer:
        """A recogniser over parts already loaded (the build's benchmarks swap in fold models); the
        caller keeps ownership of the detector and reader."""
        options = RecognizerOptions(
            running_mode=running_mode, threshold=threshold, top_k=top_k, mirror_tta=mirror_tta
        )
        recognizer = cls.__new__(cls)
        recognizer._assemble(options, classifier, detector, reader, calibration, pixel, views, second_below)
        return recognizer

    def _load(self, options: RecognizerOptions) -> None:
        """A landmark model reads the hand it finds; an image classifier (whole photos in training) reads
        the whole photo, with no hand detection. Photos are read by predict's one reading path; video
        frames by MediaPipe's tracker. The bundled model runs as its ONNX graphs (pipeline.bundle)."""
        parts = load_parts(options.weights, options.mirror_tta)
        classifier, calibration, pixel = parts.classifier, parts.calibration, parts.pixel
        video = options.running_mode is RunningMode.VIDEO
        detector, reader = None, None
        if classifier.kind == "landmarks":
            if video:
                detector = HandDetector(static_image_mode=False, model_complexity=options.model_complexity)
            else:
                reader = PhotoReader(ReadSettings(model_complexity=options.model_complexity))
                detector = reader.detector
        # A second, mirrored read of a frame would reset the tracker's frame-to-frame state.
        views = ("photo",) if video else None
        self._assemble(options, classifier, detector, reader, calibration, pixel, views, None)
        self._source = parts.source
        self._bundled = options.weights is None
        # Where the tracker finds no hand, the frame is searched as a photo is (pipeline.frame_search).
        self.search = FrameSearch(options.model_complexity) if video and detector is not None else None

    def _assemble(
        self, options, classifier, detector, reader, calibration, pixel, views, second_below
    ) -> None:
        self.options = options
        self.classifier, self.detector, self.reader = classifier, detector, reader
        self.calibration = dict(calibration or {})  # the checkpoint's record, as its build wrote it
        self.pixel = pixel  # the hand-crop CNN's second opinion, where the landmarks are unsure
        # Photos are read in each view the model was built for (the mirrored photo too: a second,
        # independent landmark estimate of the same hand); video frames only as they are.
        self.views = tuple(views or getattr(classifier, "views", ("photo",)))
        # None: each model averages with the mirrored hand only if it saw mirrored hands in training.
        self.mirror_tta = options.mirror_tta
        # Defaults from the model's own calibration record (chosen on held-out signers by the build).
        defaults = recorded_defaults(self.calibration)
        mode_default = defaults["live" if options.running_mode is RunningMode.VIDEO else "photo"]
        self._threshold = mode_default if options.threshold is None else options.threshold
        # The second reading costs a detector pass: it is made only when the first leaves the answer
        # below this confidence (where the build measured that it changes answers).
        self.second_below = defaults["second_below"] if second_below is None else second_below
        self.min_hand_score = defaults["min_hand_score"]  # below it, the "hand" may be an ear: no letter
        self._source: Path | None = Path(classifier.source) if getattr(classifier, "source", "") else None
        self._bundled = False
        self._last_timestamp: float | None = None
        self._closed = False
        self.search: FrameSearch | None = None

    @property
    def threshold(self) -> float:
        """The default confidence threshold (the options', else the model's own for the running mode)."""
        return self._threshold

    @property
    def top_k(self) -> int:
        return self.options.top_k

    @property
    def running_mode(self) -> RunningMode:
        return self.options.running_mode

    @property
    def kind(self) -> str:
        """ "landmarks": reads the hand it finds; "image": an image classifier reading the whole picture."""
        return self.classifier.kind

    @property
    def class_names(self) -> list[str]:
        return list(self.classifier.class_names)

    def recognize(
        self,
        image,
        *,
        threshold: float | None = None,
        top_k: int | None = None,
        search_seconds: float | None = None,
    ) -> Recognition:
        """A photo (a file path, encoded image bytes or an RGB uint8 array): find the hand (the search of
        views in pipeline.reading); when the answer is below `second_below` and the model reads the
        "mirrored" view, read the hand a second time from the mirrored region around it, and classify
        both readings together. No hand found, no letter: the second reading only re-reads a hand
        already found, so it cannot invent one. An image classifier reads the whole photo instead.
        `search_seconds`: look at no further view of the search after this long (the first is always
        looked at); the result's `search_stopped` says when that left views unseen."""
        self._require(RunningMode.IMAGE, "recognize(image) reads photos", "recognize_frame(rgb, timestamp)")
        rule = self._rule(threshold, top_k)
        seconds = None if search_seconds is None else checked_seconds(search_seconds, "search_seconds")
        return self._recognize(self.reader, as_rgb(image), *rule, seconds)

    def recognize_frame(
        self, rgb: np.ndarray, timestamp: float, *, threshold: float | None = None, top_k: int | None = None
    ) -> Recognition:
        """One frame of a video (RGB uint8), at `timestamp` seconds (never earlier than the last frame's):
        the tracker's one reading of the hand, with the pixel member's opinion where the landmarks are
        unsure. The result's `timings` hold the seconds spent detecting and classifying."""
        self._require(RunningMode.VIDEO, "recognize_frame reads a video's frames", "recognize(image)")
        rule = self._rule(threshold, top_k)
        rgb = checked_rgb(rgb)
        self._last_timestamp = checked_timestamp(timestamp, self._last_timestamp)
        start = time.perf_counter()
        if self.detector is None:  # an image classifier reads the whole frame
            result = self._whole(rgb, *rule)
            result.timings = {"detect": 0.0, "search": 0.0, "classify": time.perf_counter() - start}
            return result
        hand = self.detector.detect(rgb)
        tracked = time.perf_counter()
        if hand is None and self.search is not None:
            hand = self.search.find(rgb, self._last_timestamp)
        found = time.perf_counter()
        result = self.classify(hand, rgb, threshold=rule[0], top_k=rule[1])
        # "detect" includes "search": the seconds the fallback spent where the tracker found no hand.
        result.timings = {
            "detect": found - start,
            "search": found - tracked,
            "classify": time.perf_counter() - found,
        }
        return result

    def classify(
        self, hand: Hand | None, rgb: np.ndarray | None = None, *, threshold=None, top_k=None
    ) -> Recognition:
        """One reading of a hand found elsewhere (a video frame's); with its frame `rgb`, the pixel
        member's opinion where the landmarks are unsure."""
        rule = self._rule(threshold, top_k)
        if hand is None:
            return no_hand()
        return self._read(hand, rgb, None, *rule)

    def hand_logits(self, hand: Hand) -> np.ndarray:
        """The landmark model's (1, classes) mean log-probabilities for one hand as MediaPipe gives it."""
        points = (hand.world_points[None], hand.image_points[None], [hand.handedness])
        return self.classifier.hand_logits(*points, mirror_tta=self.mirror_tta)

    def canonical(self, hand: Hand) -> np.ndarray:
        from signlens.data.landmarks import to_canonical  # torch: for tests and the build, not the runtime

        return to_canonical(
            hand.world_points[None], hand.image_points[None], [hand.handedness], self.classifier.config.points
        )

    def answer_rule(self, threshold: float | None = None) -> AnswerRule:
        """The rule this recogniser answers by (pipeline.answer), at `threshold` (None: its own)."""
        return AnswerRule(
            self.classifier.temperature,
            self.second_below,
            self._threshold if threshold is None else threshold,
            self.min_hand_score,
            None if self.pixel is None else self.pixel.fusion,
        )

    def _read(self, hand: Hand, rgb, reader: PhotoReader | None, threshold, top_k) -> Recognition:
        """The answer rule on one hand: its second reading (by `reader`, from the mirrored region around
        it) and the pixel member's opinion of its crop (from `rgb`), each made only where the rule asks."""
        rule, scores = self.answer_rule(threshold), np.array([hand.score], np.float64)
        first, second = self.hand_logits(hand), None
        answers = answer(first, None, None, scores, rule)
        if answers.asks_second[0] and "mirrored" in self.views and reader is not None:
            again = reader.reread(rgb, hand)
            if again is not None:
                second = self.hand_logits(again)
                answers = answer(first, second, None, scores, rule)
        if answers.asks_pixels[0] and rgb is not None and self.pixel is not None:
            answers = answer(first, second, self.pixel.logits(rgb, hand), scores, rule)
        return self._recognition(answers, hand, top_k)

    def _whole(self, rgb: np.ndarray, threshold, top_k) -> Recognition:
        """An image classifier's answer to the whole picture (no hand, so no hand score to gate on)."""
        answers = answer(self.classifier.logits(rgb[None]), None, None, None, self.answer_rule(threshold))
        return self._recognition(answers, None, top_k)

    def _recognition(self, answers: Answers, hand: Hand | None, top_k: int | None) -> Recognition:
        probs = answers.probs[0]
        order = np.argsort(-probs)[: top_k or self.top_k]
        top = [(self.classifier.class_names[i], float(probs[i])) for i in order]
        best, confidence = top[0]
        return Recognition(best if answers.answered[0] else None, confidence, top, hand, best)

    def _recognize(self, reader: PhotoReader | None, rgb: np.ndarray, threshold, top_k, seconds=None):
        if self.detector is None:
            return self._whole(rgb, threshold, top_k)
        if reader is None:
            hand, stopped = self.detector.detect(rgb), False
        else:
            reader.deadline = None if seconds is None else time.monotonic() + seconds
            try:
                hand, stopped = reader.find(rgb), reader.stopped
            finally:
                reader.deadline = None
        if hand is None:
            return no_hand(search_stopped=stopped)
        return self._read(hand, rgb, reader, threshold, top_k)

    def recognize_all(
        self,
        items: Iterable,
        load: Callable | None = None,
        workers: int = 2,
        *,
        threshold: float | None = None,
        top_k: int | None = None,
    ) -> Iterator:
        """(item, rgb, Recognition) for each of `items` (file paths or arrays, or anything `load` decodes),
        in order; a SignlensError while decoding or reading one item comes back in place of its
        Recognition (rgb None), and the others go on. MediaPipe releases the interpreter lock while it
        runs, so `workers` threads, each with its own reader, keep as many cores busy
        (pipeline.threads)."""
        self._require(RunningMode.IMAGE, "recognize_all reads photos", "recognize_frame(rgb, timestamp)")
        return self._recognize_all(items, load or as_rgb, workers, self._rule(threshold, top_k))

    def _recognize_all(self, items: Iterable, load: Callable, workers: int, rule) -> Iterator:
        def one(item, reader):
            try:
                rgb = load(item)
                return item, rgb, self._recognize(reader, rgb, *rule)
            except SignlensError as exc:
                return item, None, exc

        if workers <= 1 or self.reader is None:
            return (one(item, self.reader) for item in items)
        return read_in_threads(self.reader, items, one, workers)

    def describe(self) -> dict:
        """What the model is (what /v1/model shows): name, kind, classes, the input it reads,
        calibration, default threshold, members, the pixel member and its fusion rule, version, sha256."""
        return description(self, self._source, self._bundled)

    def _rule(self, threshold, top_k) -> tuple[float, int]:
        """This call's threshold and top_k: the given ones, checked, else the recogniser's."""
        if self._closed:
            raise SignlensError("this Recognizer is closed; create a new one")
        return (
            self._threshold if threshold is None else checked_threshold(threshold),
            self.top_k if top_k is None else checked_top_k(top_k),
        )

    def _require(self, mode: RunningMode, what: str, other: str) -> None:
        if self.running_mode is not mode:
            raise SignlensError(
                f"{what}; this Recognizer runs in {self.running_mode.value} mode: use {other}"
            )

    def close(self) -> None:
        """Free MediaPipe's graphs; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self.reader is not None:
            self.reader.close()
        elif self.detector is not None:
            self.detector.close()
        if self.search is not None:
            self.search.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def no_hand(search_stopped: bool = False) -> Recognition:
    return Recognition(None, 0.0, [], None, None, search_stopped=search_stopped)


def as_rgb(image) -> np.ndarray:
    """A photo as RGB uint8: a file path or encoded bytes through the one decoder (limits, EXIF
    orientation), or an RGB array as it is."""
    if isinstance(image, str | Path):
        return read_rgb(image)
    if isinstance(image, bytes | bytearray | memoryview):
        from signlens.data.images import decode_image

        return decode_image(image, "RGB")
    return checked_rgb(image)
