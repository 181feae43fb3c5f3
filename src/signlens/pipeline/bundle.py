"""Which model a `Recognizer` runs, and from which files.

The bundled recogniser is built as a checkpoint (`assets/recognizer.pt`, scripts/build_recognizer.py)
and run as its runtime bundle (`assets/recognizer.onnx`, and `recognizer-pixel.onnx` when it has a
pixel member; scripts/export_runtime.py): the ONNX graph the on-device page runs, in ONNX Runtime, so
`predict`, `live` and `serve` import no torch. A model named with `weights` loads as its file is: a
checkpoint through torch, an ONNX recogniser graph or image classifier through ONNX Runtime.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from signlens.errors import SignlensError
from signlens.inference.graph import PIXEL_GRAPH, RUNTIME_GRAPH, LandmarkGraph, PixelGraph
from signlens.inference.protocol import Classifier
from signlens.io import md5_file
from signlens.pipeline.pixels import PixelOpinion


def bundled_recognizer_path() -> Path:
    """The bundled recogniser's checkpoint (what the build writes and the runtime bundle comes from)."""
    path = Path(str(resources.files("signlens") / "assets" / "recognizer.pt"))
    if not path.is_file():
        raise SignlensError(
            f"the bundled recogniser is missing ({path}); rebuild it with scripts/build_recognizer.py"
        )
    return path


@dataclass
class Parts:
    classifier: Classifier
    calibration: dict  # the build's calibration record
    pixel: PixelOpinion | None
    source: Path  # the file describe() names and checksums


def load_parts(weights: str | Path | None, mirror_tta: bool | None) -> Parts:
    """The bundled recogniser's runtime bundle (its checkpoint, through torch, only when `mirror_tta`
    asks for other mirrored readings than the graph's), or the model at `weights`."""
    if weights is None:
        checkpoint = bundled_recognizer_path()
        return load_file(checkpoint) if mirror_tta is not None else load_bundle(checkpoint)
    parts = load_file(Path(weights))
    if mirror_tta is not None and isinstance(parts.classifier, LandmarkGraph):
        raise SignlensError(
            f"{weights}: a recogniser graph reads mirrored hands as it was exported; "
            "give its checkpoint to choose mirror_tta"
        )
    return parts


def load_bundle(checkpoint: Path) -> Parts:
    """The runtime bundle beside `checkpoint`, refused when it was made from another checkpoint (a
    rebuilt model whose bundle was not exported again)."""
    path = checkpoint.with_name(RUNTIME_GRAPH)
    if not path.is_file():
        raise SignlensError(
            f"the bundled recogniser's graph is missing ({path}); run scripts/export_runtime.py"
        )
    graph = LandmarkGraph(path)
    if graph.source_md5 != md5_file(checkpoint):
        raise SignlensError(
            f"{path} was exported from another {checkpoint.name}; run scripts/export_runtime.py again"
        )
    return Parts(graph, graph.calibration, graph_pixel(graph, path), checkpoint)


def load_file(path: Path) -> Parts:
    """A checkpoint (torch) or an export (ONNX, TorchScript), with its record and pixel member."""
    from signlens.inference.load import is_export, load_classifier  # torch: only for a named model

    if is_export(path):
        classifier = load_classifier(path)
        if isinstance(classifier, LandmarkGraph):
            return Parts(classifier, classifier.calibration, graph_pixel(classifier, path), path)
        return Parts(classifier, {}, None, path)
    from signlens.engine.checkpoint import load_checkpoint

    payload = load_checkpoint(path)  # read once: model, record, pixel member
    classifier = load_classifier(path, payload=payload)
    calibration = dict(payload.get("calibration") or {})
    pixel = None
    if classifier.kind == "landmarks" and payload.get("pixel") is not None:
        pixel = PixelOpinion.from_payload(payload["pixel"], calibration.get("fusion") or {}, str(path))
    return Parts(classifier, calibration, pixel, path)


def graph_pixel(graph: LandmarkGraph, path: Path) -> PixelOpinion | None:
    """A recogniser graph's pixel member (its own ONNX graph, named in the metadata, beside it)."""
    if not graph.pixel_graph:
        return None
    member = path.with_name(graph.pixel_graph)
    if graph.pixel_graph != PIXEL_GRAPH or not member.is_file():
        raise SignlensError(f"{path}: its pixel member's graph {member} is missing")
    fusion = graph.calibration.get("fusion") or {}
    return PixelOpinion.with_fusion(OpenedOnFirstUse(member), fusion, str(path))


class OpenedOnFirstUse:
    """The pixel member's ONNX classifier, opened when first asked: most photos are sure without it, and
    a one-photo `predict` should not wait for a graph it never runs."""

    backend = "onnx"

    def __init__(self, path: Path):
        self.path = path
        self._classifier = None
        self._lock = threading.Lock()  # readers on several threads may ask at once

    @property
    def classifier(self) -> PixelGraph:
        with self._lock:
            if self._classifier is None:
                self._classifier = PixelGraph(self.path, threads=1)
            return self._classifier

    def logits(self, images):
        return self.classifier.logits(images)


def recorded_calibration(path: str | Path) -> dict:
    """The calibration record a recogniser's build wrote into its checkpoint ({} for a plain run)."""
    from signlens.inference.load import is_export

    if is_export(path):
        return {}
    from signlens.engine.checkpoint import load_checkpoint

    return dict(load_checkpoint(path).get("calibration") or {})
