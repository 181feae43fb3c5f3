"""The runtime bundle: a recogniser checkpoint as the ONNX graphs that `predict`, `live` and `serve` run
(inference.graph), so the runtime needs ONNX Runtime and no torch.

- `recognizer.onnx`: the landmark ensemble, the graph the on-device page runs (export.recognizer_graph),
  with the checkpoint's calibration record, photo views and members in its metadata, and the md5 of the
  checkpoint it came from (the runtime refuses a bundle older than its checkpoint);
- `recognizer-pixel.onnx`, when the checkpoint has a pixel member: the hand-crop CNN (64 px masked crop
  in, logits out), exported as `signlens export` exports any image classifier; the fusion rule stays
  in the record (pipeline.pixels).

Both are checked against the checkpoint in torch before they are written: the same calibrated
probabilities (within PROB_ATOL) and the same top letter, on the given landmark file's hands and on
reproducible random ones. scripts/export_runtime.py runs this; scripts/build_recognizer.py calls it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from signlens.engine.checkpoint import load_checkpoint, validate_payload
from signlens.errors import SignlensError
from signlens.export.exporter import base_metadata, torch_to_onnx
from signlens.export.recognizer_graph import (
    RecognizerGraph,
    graph_metadata,
    load_parity_data,
    to_onnx_bytes,
)
from signlens.inference import LandmarkClassifier, TorchClassifier
from signlens.inference import metadata as md
from signlens.inference.graph import PIXEL_GRAPH, RUNTIME_GRAPH, LandmarkGraph, PixelGraph, graph_session
from signlens.io import atomic_write

PROB_ATOL = 1e-4  # the largest calibrated-probability difference from the checkpoint in torch


def export_runtime(weights: str | Path, folder: str | Path, parity_data: str | None = None) -> dict[str, Any]:
    """Write the runtime bundle of checkpoint `weights` into `folder` (see the module doc) and return
    its parity report; a graph that disagrees with the checkpoint is not written (SignlensError)."""
    weights, folder = Path(weights), Path(folder)
    payload = load_checkpoint(weights)
    classifier = LandmarkClassifier.from_checkpoint(weights, payload)
    graph = RecognizerGraph(classifier).eval()
    proto = onnx.load_from_string(to_onnx_bytes(graph))
    pixel = payload.get("pixel")
    props = {
        **graph_metadata(classifier, weights, graph),
        "calibration": json.dumps(payload.get("calibration") or {}),
        "views": json.dumps(list(payload.get("views", ["photo"]))),
        "member_list": json.dumps(
            [
                {"model": type(m).__name__, "form": s.form, "mirror_tta": v == 2}
                for m, s, v in zip(graph.models, graph.specs, graph.views, strict=True)
            ]
        ),  # fmt: skip
        "pixel_graph": PIXEL_GRAPH if pixel is not None else "",
    }
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    blob = proto.SerializeToString()
    runtime = LandmarkGraph(folder / RUNTIME_GRAPH, session=graph_session(blob))
    report = {"weights": str(weights), "landmarks": landmark_parity(classifier, runtime, parity_data)}
    pixel_blob = None
    if pixel is not None:
        pixel_blob, report["pixel"] = pixel_graph(weights, pixel)
    failed = [k for k in ("landmarks", "pixel") if k in report and not report[k]["passed"]]
    if failed:
        raise SignlensError(f"the runtime bundle of {weights} disagrees with it: {report}")
    folder.mkdir(parents=True, exist_ok=True)
    if pixel_blob is not None:  # the pixel graph first: the landmark graph names it
        atomic_write(folder / PIXEL_GRAPH, lambda tmp: tmp.write_bytes(pixel_blob))
    atomic_write(folder / RUNTIME_GRAPH, lambda tmp: tmp.write_bytes(blob))
    if pixel_blob is None:
        (folder / PIXEL_GRAPH).unlink(missing_ok=True)  # a landmark-only model: no stale pixel graph
    report["files"] = {p.name: p.stat().st_size for p in (folder / RUNTIME_GRAPH, folder / PIXEL_GRAPH)
                       if p.is_file()}  # fmt: skip
    return report


def landmark_parity(classifier: LandmarkClassifier, runtime: LandmarkGraph, spec: str | None) -> dict:
    """The graph's calibrated probabilities against the checkpoint's in torch, hand by hand as the
    recogniser reads them (image points in pixels, handedness as MediaPipe labels it)."""
    sets = [load_parity_data(None, 512)[0]]
    if spec:
        sets.append(load_parity_data(spec, 0)[0])
    rows = {"samples": 0, "max_abs_prob_diff": 0.0, "top1_agreement": 1.0}
    agree = 0
    for data in sets:
        hands = (data["world_points"], data["image_points"], data["handedness"])
        reference = classifier.calibrated(classifier.hand_logits(*hands))
        probs = runtime.calibrated(runtime.hand_logits(*hands))
        rows["samples"] += len(reference)
        rows["max_abs_prob_diff"] = max(rows["max_abs_prob_diff"], float(np.abs(reference - probs).max()))
        agree += int((reference.argmax(1) == probs.argmax(1)).sum())
    rows["top1_agreement"] = agree / max(1, rows["samples"])
    rows["passed"] = rows["max_abs_prob_diff"] < PROB_ATOL and rows["top1_agreement"] == 1.0
    return rows


def pixel_graph(weights: Path, pixel: dict, samples: int = 64) -> tuple[bytes, dict]:
    """The pixel member as an ONNX image classifier (its metadata as `signlens export` writes it) and
    its parity with torch on reproducible random crops."""
    pixel = validate_payload(pixel, f"{weights} (pixel member)")
    member = TorchClassifier.from_checkpoint(f"{weights} (pixel member)", pixel)
    props = md.encode(base_metadata(member, weights, member.model))
    with tempfile.TemporaryDirectory() as tmp:
        path = torch_to_onnx(member.model, member.in_chans, member.img_size, Path(tmp) / PIXEL_GRAPH, props)
        blob = path.read_bytes()
        runtime = PixelGraph(path)  # as the runtime runs it
        rng = np.random.default_rng(0)
        crops = rng.integers(0, 256, (samples, member.img_size, member.img_size, member.in_chans), np.uint8)
        reference, logits = member.logits(crops), runtime.logits(crops)
    diff = float(np.abs(member.calibrated(reference) - member.calibrated(logits)).max())
    agree = float((reference.argmax(1) == logits.argmax(1)).mean())
    report = {"samples": samples, "max_abs_prob_diff": diff, "top1_agreement": agree}
    report["passed"] = diff < PROB_ATOL and agree == 1.0
    return blob, report
