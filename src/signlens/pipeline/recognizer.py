"""The recogniser: photo -> hand -> landmarks -> calibrated letter, or an honest "no hand" / "unsure".

The bundled model (`signlens/assets/recognizer.pt`, made by scripts/build_recognizer.py) reads hand
landmarks first: a handshape's geometry survives other signers, skin tones, lighting and rooms, where a
pixel CNN trained on a few rooms' photos alone does not. Where the landmarks leave the answer unsure, a
small CNN over the hand crop gives a second opinion (pipeline.pixels): the thumb of a fist letter, which
the 21 points blur, is still in the pixels.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from signlens.data.landmarks import to_canonical
from signlens.engine.checkpoint import load_checkpoint
from signlens.errors import SignlensError
from signlens.inference import Classifier, is_export, load_classifier
from signlens.pipeline.hands import Hand, HandDetector
from signlens.pipeline.pixels import PixelOpinion
from signlens.pipeline.reading import PhotoReader, ReadSettings
from signlens.pipeline.thresholds import recorded_defaults


def bundled_recognizer_path() -> Path:
    path = Path(str(resources.files("signlens") / "assets" / "recognizer.pt"))
    if not path.is_file():
        raise SignlensError(
            f"the bundled recogniser is missing ({path}); rebuild it with scripts/build_recognizer.py"
        )
    return path


@dataclass
class Recognition:
    label: str | None  # None: no hand, or below the confidence threshold
    confidence: float  # calibrated probability of the best class (0 when there is no hand)
    top: list[tuple[str, float]]
    hand: Hand | None
    best: str | None  # the best class even when unsure (None when there is no hand)

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "top": [[name, round(p, 4)] for name, p in self.top],
            "hand": None if self.hand is None else self.hand.to_json()["bbox"],
            "handedness": None if self.hand is None else self.hand.handedness,
        }


class Recognizer:
    def __init__(
        self,
        classifier: Classifier,
        detector: HandDetector | None,
        threshold: float | None = None,
        mirror_tta: bool | None = None,
        top_k: int = 3,
        views: tuple[str, ...] | None = None,
        reader: PhotoReader | None = None,
        calibration: dict | None = None,
        second_below: float | None = None,
        pixel: PixelOpinion | None = None,
    ):
        self.classifier, self.detector, self.reader = classifier, detector, reader
        self.calibration = dict(calibration or {})  # the checkpoint's record, as its build wrote it
        self.pixel = pixel  # the hand-crop CNN's second opinion, where the landmarks are unsure
        # Photos are read in each view the model was built for (the mirrored photo too: a second,
        # independent landmark estimate of the same hand); video frames only as they are.
        self.views = tuple(views or getattr(classifier, "views", ("photo",)))
        # None: each model averages with the mirrored hand only if it saw mirrored hands in training.
        self.mirror_tta = mirror_tta
        # Defaults from the model's own calibration record (chosen on held-out signers by the build).
        defaults = recorded_defaults(calibration or {})
        self.threshold = defaults["photo"] if threshold is None else threshold
        # The second reading costs a detector pass: it is made only when the first leaves the answer
        # below this confidence (where the build measured that it changes answers).
        self.second_below = defaults["second_below"] if second_below is None else second_below
        self.min_hand_score = defaults["min_hand_score"]  # below it, the "hand" may be an ear: no letter
        self.top_k = top_k

    @classmethod
    def load(cls, weights: str | Path | None = None, video: bool = False, **options) -> Recognizer:
        """A landmark model reads the hand it finds; an image classifier (whole photos in training) reads
        the whole photo, with no hand detection. Photos are read by predict's one reading path; video
        frames by MediaPipe's tracker."""
        path = weights or bundled_recognizer_path()
        # One hand at a time is far too small a tensor to split across threads: a second intra-op
        # thread only spins against MediaPipe's (classify took 6 ms on one thread, 90 ms on two, on the
        # loaded 2-core box). Parallelism comes from recognize_all's readers instead.
        torch.set_num_threads(1)
        payload = None if is_export(path) else load_checkpoint(path)  # read once: model, record, pixel member
        classifier = load_classifier(path, payload=payload)
        complexity = options.pop("model_complexity", 1)
        detector, reader = None, None
        calibration = dict((payload or {}).get("calibration") or {})
        if classifier.kind == "landmarks":
            options.setdefault("pixel", pixel_opinion(payload or {}, calibration, path))
            if video:
                detector = HandDetector(static_image_mode=False, model_complexity=complexity)
            else:
                reader = PhotoReader(ReadSettings(model_complexity=complexity))
                detector = reader.detector
        if video:  # a second, mirrored read would reset the tracker's frame-to-frame state
            options["views"] = ("photo",)
            if options.get("threshold") is None:
                options["threshold"] = recorded_defaults(calibration)["live"]
        return cls(classifier, detector, reader=reader, calibration=calibration, **options)

    def canonical(self, hand: Hand) -> np.ndarray:
        return to_canonical(
            hand.world_points[None], hand.image_points[None], [hand.handedness], self.classifier.config.points
        )

    def classify(self, hand: Hand | None, rgb: np.ndarray | None = None) -> Recognition:
        """One reading of a hand (a video frame's); with the frame `rgb`, the pixel member's opinion
        where the landmarks are unsure."""
        if hand is None:
            return self.classify_views([])
        logits = self.classifier.logits(self.canonical(hand), mirror_tta=self.mirror_tta)
        return self.with_pixels(self.answer(logits, hand), logits, hand, rgb)

    def with_pixels(self, result: Recognition, logits: np.ndarray, hand: Hand, rgb) -> Recognition:
        """`result` again with the hand crop's opinion fused in, where the rule asks for it."""
        if rgb is None or self.pixel is None or not self.pixel.wanted(result.confidence):
            return result
        return self.answer(logits, hand, self.pixel.logits(rgb, hand))

    def classify_views(self, hands: list[Hand]) -> Recognition:
        """One answer from one or more landmark estimates of the same hand (log-probabilities averaged)."""
        if not hands:
            return Recognition(None, 0.0, [], None, None)
        points = np.concatenate([self.canonical(hand) for hand in hands])
        return self.answer(self.classifier.logits(points, mirror_tta=self.mirror_tta), hands[0])

    def answer(self, logits: np.ndarray, hand: Hand | None, pixels: np.ndarray | None = None) -> Recognition:
        """Rows of logits (readings of one photo) averaged into one calibrated, thresholded answer; fused
        with the pixel member's logits of the hand crop when given."""
        mean = logits.mean(0, keepdims=True)
        fused = pixels is not None
        probs = (self.pixel.calibrated(mean, pixels) if fused else self.classifier.calibrated(mean))[0]
        order = np.argsort(-probs)[: self.top_k]
        top = [(self.classifier.class_names[i], float(probs[i])) for i in order]
        best, confidence = top[0]
        sure = confidence >= self.threshold and (hand is None or hand.score >= self.min_hand_score)
        return Recognition(best if sure else None, confidence, top, hand, best)

    def recognize(self, rgb: np.ndarray) -> Recognition:
        """A photo: find the hand (pipeline.reading's search of views); when the answer is below
        `second_below` and the model reads the "mirrored" view, read the hand a second time from the
        mirrored region around it, and classify both readings together. No hand found, no letter: the
        second reading only re-reads a hand already found, so it cannot invent one. An image classifier
        reads the whole photo instead."""
        return self._recognize(self.reader, rgb)

    def _recognize(self, reader: PhotoReader | None, rgb: np.ndarray) -> Recognition:
        if self.detector is None:
            return self.answer(self.classifier.logits(rgb[None]), None)
        hand = reader.find(rgb) if reader is not None else self.detector.detect(rgb)
        if hand is None:
            return self.classify_views([])
        logits = self.classifier.logits(self.canonical(hand), mirror_tta=self.mirror_tta)
        result = self.answer(logits, hand)
        if "mirrored" in self.views and reader is not None and result.confidence < self.second_below:
            second = reader.reread(rgb, hand)
            if second is not None:
                more = self.classifier.logits(self.canonical(second), mirror_tta=self.mirror_tta)
                logits = np.concatenate([logits, more])
                result = self.answer(logits, hand)
        return self.with_pixels(result, logits, hand, rgb)

    def recognize_all(self, items: Iterable, load: Callable | None = None, workers: int = 2) -> Iterator:
        """(item, rgb, Recognition) for each of `items` (arrays, or anything `load` decodes), in order; a
        SignlensError while decoding or reading one item comes back in place of its Recognition (rgb
        None), and the others go on. MediaPipe releases the interpreter lock while it runs, so `workers`
        threads, each with its own reader, keep as many cores busy; at most 2 x workers photos are in
        flight at once."""
        load = load or (lambda item: item)

        def one(item, reader):
            try:
                rgb = load(item)
                return item, rgb, self._recognize(reader, rgb)
            except SignlensError as exc:
                return item, None, exc

        if workers <= 1 or self.reader is None:
            for item in items:
                yield one(item, self.reader)
            return
        readers: queue.SimpleQueue = queue.SimpleQueue()
        made = [PhotoReader(self.reader.settings) for _ in range(workers - 1)]
        for reader in (self.reader, *made):
            readers.put(reader)

        def pooled(item):
            reader = readers.get()
            try:
                return one(item, reader)
            finally:
                readers.put(reader)

        pending: deque = deque()
        try:
            with ThreadPoolExecutor(workers) as pool:
                for item in items:
                    pending.append(pool.submit(pooled, item))
                    if len(pending) >= 2 * workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            for reader in made:
                reader.close()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        elif self.detector is not None:
            self.detector.close()


def pixel_opinion(payload: dict, calibration: dict, source: str | Path) -> PixelOpinion | None:
    """A recogniser checkpoint's pixel member with its fusion rule, or None (a landmark-only model)."""
    if payload.get("pixel") is None:
        return None
    return PixelOpinion.from_payload(payload["pixel"], calibration.get("fusion") or {}, str(source))


def recorded_calibration(path: str | Path) -> dict:
    """The calibration record a recogniser's build wrote into its checkpoint ({} for a plain run)."""
    if is_export(path):
        return {}
    return dict(load_checkpoint(path).get("calibration") or {})
