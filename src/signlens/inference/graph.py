"""A landmark recogniser as the ONNX graph the on-device page runs, run here by ONNX Runtime.

The graph (export.recognizer_graph) takes MediaPipe's landmarks as given and does the rest itself:
canonical points, each member's features and mirrored reading, the members' mean log-probabilities.
The runtime (`predict`, `live`, `serve`) reads hands through it, so it needs no torch, and the page
and Python cannot drift apart. Its metadata carries what the recogniser needs besides the weights: the
class names, the calibration temperature and record, the photo views, and the pixel member's graph.
No torch import here, nor anywhere this module imports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from signlens.errors import SignlensError
from signlens.inference.metadata import decode
from signlens.inference.protocol import normalised, softmax

GRAPH_FORMAT = "signlens-recognizer-graph"
WORLD, IMAGE, SIZE, LEFT = "world_landmarks", "image_landmarks", "image_size", "is_left"
OUTPUT, LOG_OUTPUT = "probabilities", "log_probabilities"
NUM_POINTS = 21
# The runtime bundle's files (export.runtime_bundle writes them beside the checkpoint they come from).
RUNTIME_GRAPH, PIXEL_GRAPH = "recognizer.onnx", "recognizer-pixel.onnx"


def graph_session(path: str | Path | bytes, threads: int | None = 1, providers: list[str] | None = None):
    """An ONNX Runtime session, latency-minded: all graph optimisations, sequential execution, one
    inter-op thread and `threads` intra-op threads (None or 0: ORT's default, one per core; a hand is far
    too small to split, so recogniser graphs take one and parallelism comes from several readers), set
    on this session alone, on the CPU unless `providers` say otherwise. A file that is not a loadable
    ONNX model is a SignlensError naming it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3  # errors only
    source = path if isinstance(path, bytes) else str(path)
    try:
        return ort.InferenceSession(source, options, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/InvalidGraph types
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        name = "graph in memory" if isinstance(path, bytes) else path
        raise SignlensError(f"{name} is not a loadable ONNX model ({first[:200]})") from None


def is_recognizer_graph(session) -> bool:
    return session.get_modelmeta().custom_metadata_map.get("signlens_format") == GRAPH_FORMAT


class GraphPoints:
    """Which landmark points the graph's members read ("world", "image" or "both"), as
    LandmarkClassifier.config.points says it for a checkpoint."""

    def __init__(self, points: str):
        self.points = points


class LandmarkGraph:
    """A landmark recogniser graph behind the `Classifier` interface: `hand_logits` reads MediaPipe
    hands (world points, image points in pixels, handedness), `logits` canonical points, and both give
    the members' mean log-probabilities, which `calibrated` turns into probabilities."""

    kind = "landmarks"
    backend = "onnx"
    img_size = in_chans = None  # reads points, not images

    def __init__(self, path: str | Path, threads: int = 1, session=None):
        path = Path(path)
        if session is None:
            if not path.is_file():
                raise SignlensError(f"recogniser graph not found: {path}")
            session = graph_session(path, threads)
        props = dict(session.get_modelmeta().custom_metadata_map)
        if props.get("signlens_format") != GRAPH_FORMAT:
            raise SignlensError(
                f"{path} is not a signlens recogniser graph (export it with `signlens export`)"
            )
        self.session, self.source = session, str(path)
        self.input_names = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        if LOG_OUTPUT not in outputs:
            raise SignlensError(f"{path} predates log_probabilities; export it again with `signlens export`")
        try:
            self.class_names = list(json.loads(props["class_names"]))
            self.temperature = float(props["temperature"])
            self.calibration: dict[str, Any] = dict(json.loads(props.get("calibration", "{}")))
            self.views = tuple(json.loads(props.get("views", '["photo"]')))
            self.members = list(json.loads(props.get("member_list", "[]"))) or [{}] * int(props["members"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SignlensError(f"{path}: unreadable recogniser graph metadata ({exc})") from None
        if not 0 < self.temperature < float("inf"):
            raise SignlensError(f"{path}: calibration temperature must be positive, got {self.temperature}")
        both = WORLD in self.input_names and IMAGE in self.input_names
        self.config = GraphPoints("both" if both else "world" if WORLD in self.input_names else "image")
        self.pixel_graph = props.get("pixel_graph") or None  # a file name beside this graph
        self.source_md5 = props.get("source_md5")
        self.meta = {"members": len(self.members), "source": props.get("source")}
        self.train_config: dict[str, Any] = {}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"{self.source} (landmark graph, {len(self.members)} member(s), {self.num_classes} classes)"

    def hand_logits(self, world, image, handedness, *, mirror_tta: bool | None = None) -> np.ndarray:
        """(N, 21, 3) world points, (N, 21, 3) image points in pixels (z scaled like x) and N handedness
        labels -> (N, classes) mean log-probabilities. The graph's own canonicalisation mirrors a left
        hand; pixels go in with a frame size of 1, so the points reach it as given."""
        if mirror_tta is not None:
            raise SignlensError(
                "a recogniser graph reads mirrored hands as it was exported; mirror_tta is fixed"
            )
        world = np.asarray(world, np.float32).reshape(-1, NUM_POINTS, 3)
        n = len(world)
        if n == 0:
            return np.zeros((0, self.num_classes), np.float32)
        left = np.char.lower(np.asarray(handedness).astype(str)) == "left"
        feeds = {
            WORLD: world,
            IMAGE: np.asarray(image, np.float32).reshape(-1, NUM_POINTS, 3),
            SIZE: np.ones((n, 2), np.float32),
            LEFT: left.astype(np.float32).reshape(n),
        }
        return self.session.run([LOG_OUTPUT], {name: feeds[name] for name in self.input_names})[0]

    def logits(
        self, canonical_points, batch_size: int = 1024, *, mirror_tta: bool | None = None
    ) -> np.ndarray:
        """Canonical points (N, 21 or 42, 3), already mirrored to a right hand, as LandmarkClassifier."""
        points = np.asarray(canonical_points, np.float32)
        views = 2 if self.config.points == "both" else 1
        points = points.reshape(-1, NUM_POINTS * views, 3)
        world = points[:, :NUM_POINTS] if self.config.points != "image" else points
        image = points[:, -NUM_POINTS:] if self.config.points != "world" else points
        out = [
            self.hand_logits(world[i : i + batch_size], image[i : i + batch_size],
                             ["Right"] * len(world[i : i + batch_size]), mirror_tta=mirror_tta)
            for i in range(0, max(1, len(points)), batch_size)
        ]  # fmt: skip
        return np.concatenate(out)

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits / self.temperature)

    def predict_proba(self, canonical_points, batch_size: int = 1024) -> np.ndarray:
        return self.calibrated(self.logits(canonical_points, batch_size))


class PixelGraph:
    """The runtime bundle's pixel member: an image classifier exported as `signlens export` writes one
    (its input size and normalisation in the metadata), fed images already at that size, as the hand
    crop is. Its answers are OnnxClassifier's, without the resizing that needs torch."""

    kind = "image"
    backend = "onnx"

    def __init__(self, path: str | Path, threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise SignlensError(f"pixel member graph not found: {path}")
        self.session, self.source = graph_session(path, threads), str(path)
        meta = decode(self.session.get_modelmeta().custom_metadata_map, str(path))
        self.class_names = list(meta["class_names"])
        self.img_size, self.in_chans = int(meta["img_size"]), int(meta["in_chans"])
        self._mean = np.asarray(meta["mean"], np.float32).reshape(1, -1, 1, 1)
        self._std = np.asarray(meta["std"], np.float32).reshape(1, -1, 1, 1)
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def logits(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, img_size, img_size, in_chans) -> float32 (N, classes)."""
        images = np.asarray(images)
        if images.shape[1:] != (self.img_size, self.img_size, self.in_chans) or images.dtype != np.uint8:
            raise SignlensError(
                f"{self.source} reads uint8 images of {self.img_size}x{self.img_size}x{self.in_chans}, "
                f"got {images.dtype} {tuple(images.shape[1:])}"
            )
        x = normalised(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), self._mean, self._std)
        return self.session.run([self.output_name], {self.input_name: x})[0]
