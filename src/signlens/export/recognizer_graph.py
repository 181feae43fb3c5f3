"""A landmark recogniser as ONE ONNX graph, for the browser: `signlens export --weights recognizer.pt`.

Inputs are what MediaPipe Hands gives a page, untouched: the 21 world landmarks, the 21 normalised
image landmarks and the frame size when a member reads image points, and the handedness label as a
0/1 flag. Everything else happens inside the graph, in the same torch code the Python recogniser
runs (`to_canonical`'s mirroring, `landmark_features`, the drawn skeleton mask), so a page does no
feature arithmetic of its own and cannot drift from Python: each member's mirrored test-time
augmentation, the average of the members' log-probabilities, the calibration temperature and the
softmax are all in the graph. The members are read from the checkpoint, whatever they are.

The temperature is the answer rule's (pipeline.answer.AnswerRule, which the on-device build hands in):
the graph's `probabilities` are that rule's calibrated probabilities of its `log_probabilities`, the
first step of `answer` done where the page cannot restate it.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from signlens import __version__
from signlens.data.landmarks import NUM_POINTS, load_landmark_file, to_canonical
from signlens.engine.checkpoint import load_checkpoint
from signlens.errors import SignlensError
from signlens.export.graph_features import features
from signlens.inference import LandmarkClassifier
from signlens.inference.graph import GRAPH_FORMAT, IMAGE, LEFT, LOG_OUTPUT, OUTPUT, SIZE, WORLD, graph_session
from signlens.inference.protocol import softmax
from signlens.io import atomic_write, md5_file, write_json

OPSET = 17  # onnxruntime 1.20 and onnxruntime-web 1.20 run opsets up to 21
INPUT_DOC = {
    WORLD: "float32 (batch, 21, 3): MediaPipe Hands world landmarks (metres), as given",
    IMAGE: "float32 (batch, 21, 3): MediaPipe Hands normalised image landmarks (x, y in 0..1), as given",
    SIZE: "float32 (batch, 2): width and height of the frame in pixels",
    LEFT: "float32 (batch,): 1 where MediaPipe labels the hand 'Left', else 0",
}
PROB_ATOL = 1e-3  # the bound on the largest probability difference
TOP1_MIN = 0.995


class RecognizerGraph(nn.Module):
    """Landmarks (+ handedness) -> calibrated class probabilities, for any LandmarkClassifier."""

    def __init__(self, classifier, mirror_tta: bool | None = None, temperature: float | None = None):
        super().__init__()
        self.points = classifier.config.points
        self.models = nn.ModuleList([model for model, _, _ in classifier.members])
        self.specs = [features for _, _, features in classifier.members]
        # As LandmarkClassifier.logits: None leaves mirrored TTA to each member's training.
        self.views = [
            2 if (config.mirror > 0 if mirror_tta is None else mirror_tta) else 1
            for _, config, _ in classifier.members
        ]
        # None: the checkpoint's own (what a Recognizer of it calibrates by).
        self.temperature = float(classifier.temperature if temperature is None else temperature)

    @property
    def input_names(self) -> list[str]:
        image = [IMAGE, SIZE] if self.points in ("image", "both") else []
        world = [WORLD] if self.points in ("world", "both") else []
        return [*world, *image, LEFT]

    def canonical(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """to_canonical in torch: world and/or pixel image points, x negated for a left hand."""
        parts = []
        if WORLD in inputs:
            parts.append(inputs[WORLD])
        if IMAGE in inputs:  # hands.py's pixels: x * width, y * height, z * width
            width, height = inputs[SIZE][:, 0:1], inputs[SIZE][:, 1:2]
            scale = torch.stack([width, height, width], dim=-1)  # (B, 1, 3)
            parts.append(inputs[IMAGE] * scale)
        points = torch.cat(parts, dim=1)
        sign = 1.0 - 2.0 * inputs[LEFT].view(-1, 1)  # -1 for a left hand
        flip = torch.stack([sign, torch.ones_like(sign), torch.ones_like(sign)], dim=-1)
        return points * flip

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        points = self.canonical(dict(zip(self.input_names, tensors, strict=True)))
        cache: dict[tuple, torch.Tensor] = {}  # members with the same features share them (traced once)
        total = 0
        for model, spec, views in zip(self.models, self.specs, self.views, strict=True):
            key = (spec.points, spec.rotation_free, spec.form, spec.mask_size, views)
            if key not in cache:  # the hands, then (views == 2) their mirror images
                cache[key] = features(points, spec, mirrored=views == 2)
            logits = model(cache[key])
            if views == 2:
                logits = logits.view(2, -1, logits.shape[-1]).mean(0)
            total = total + F.log_softmax(logits, dim=1)
        mean = total / len(self.models)
        # The members' mean log-probabilities too: the Python runtime averages a photo's two readings
        # and fuses the pixel member on them, before the temperature (inference.graph).
        return torch.softmax(mean / self.temperature, dim=1), mean


def example_inputs(names: list[str], batch: int = 2) -> tuple[torch.Tensor, ...]:
    shapes = {WORLD: (batch, NUM_POINTS, 3), IMAGE: (batch, NUM_POINTS, 3), SIZE: (batch, 2), LEFT: (batch,)}
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.rand(shapes[name], generator=generator) for name in names)


def to_onnx_bytes(graph: RecognizerGraph, opset: int = OPSET) -> bytes:
    """The TorchScript-based exporter (offline, as exporter.py), every input and output batch-dynamic."""
    buffer = io.BytesIO()
    names = graph.input_names
    axes = {name: {0: "batch"} for name in [*names, OUTPUT, LOG_OUTPUT]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph.eval(),
            example_inputs(names),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=[OUTPUT, LOG_OUTPUT],
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def graph_inputs(data: dict, names: list[str]) -> dict[str, np.ndarray]:
    """Graph inputs for the rows of a landmark file (signlens landmarks extract): image points are
    stored in pixels, so they are given back normalised with the frame size, as MediaPipe gives them."""
    left = np.char.lower(np.asarray(data["handedness"]).astype(str)) == "left"
    out = {WORLD: np.asarray(data["world_points"], np.float32), LEFT: left.astype(np.float32)}
    if IMAGE in names:
        size = np.asarray(data["image_sizes"], np.float32)  # (N, 2) width, height
        scale = np.stack([size[:, 0], size[:, 1], size[:, 0]], axis=-1)[:, None, :]
        out[IMAGE] = (np.asarray(data["image_points"], np.float32) / scale).astype(np.float32)
        out[SIZE] = size
    return {name: out[name] for name in names}


def python_probabilities(classifier, data: dict, temperature: float | None = None) -> np.ndarray:
    """What the Python recogniser gives each row: Recognizer.classify on one hand (calibrated by
    `temperature`, None: the classifier's own)."""
    points = to_canonical(
        data["world_points"], data["image_points"], data["handedness"], classifier.config.points
    )
    logits = classifier.logits(points)
    return softmax(logits / (classifier.temperature if temperature is None else temperature))


def onnx_session(path_or_bytes, threads: int = 1):
    """The graph's session as the runtime opens it (inference.graph)."""
    return graph_session(path_or_bytes, threads)


def run_session(session, inputs: dict[str, np.ndarray], batch_size: int = 512) -> np.ndarray:
    n = len(next(iter(inputs.values())))
    chunks = [
        session.run([OUTPUT], {k: v[i : i + batch_size] for k, v in inputs.items()})[0]
        for i in range(0, n, batch_size)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def parity(reference: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    diff = np.abs(reference.astype(np.float64) - probs.astype(np.float64))
    agree = float((reference.argmax(1) == probs.argmax(1)).mean()) if len(reference) else 1.0
    out = {
        "samples": int(len(reference)),
        "top1_agreement": agree,
        "max_abs_prob_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_prob_diff": float(diff.mean()) if diff.size else 0.0,
        "atol": PROB_ATOL,
        "min_top1": TOP1_MIN,
    }
    out["passed"] = bool(out["max_abs_prob_diff"] <= PROB_ATOL and agree >= TOP1_MIN)
    return out


def synthetic_hands(n: int, seed: int = 0) -> dict:
    """Reproducible hand-sized random landmark sets (for a parity check when no landmark file is given):
    a spread of points about 10 cm across, as MediaPipe's world landmarks are."""
    rng = np.random.default_rng(seed)
    world = rng.normal(0, 0.04, size=(n, NUM_POINTS, 3)).astype(np.float32)
    image = (rng.uniform(0.2, 0.8, size=(n, NUM_POINTS, 3)) * [640, 480, 640]).astype(np.float32)
    return {
        "world_points": world,
        "image_points": image,
        "image_sizes": np.tile(np.array([[640, 480]], np.int32), (n, 1)),
        "handedness": np.where(rng.random(n) < 0.5, "Left", "Right"),
    }


def load_parity_data(spec: str | None, samples: int) -> tuple[dict, str]:
    """A landmark file (`landmarks:FILE` or a .npz path) for the parity check, else synthetic hands."""

    if not spec:
        return synthetic_hands(samples), f"{samples} synthetic random landmark sets (no landmark file given)"
    path = Path(spec.removeprefix("landmarks:"))
    if path.suffix != ".npz":
        raise SignlensError(f"--calib-data for a recogniser is a landmark file (.npz), got {spec!r}")
    data = load_landmark_file(path)
    return data, f"all {len(data['labels'])} landmark sets of {path.name}"


def graph_metadata(classifier, weights: Path, graph: RecognizerGraph) -> dict[str, str]:
    import json

    meta = {
        "signlens_format": GRAPH_FORMAT,
        "class_names": json.dumps(classifier.class_names),
        "inputs": json.dumps({name: INPUT_DOC[name] for name in graph.input_names}),
        "output": "float32 (batch, classes): calibrated probabilities",
        "log_output": "float32 (batch, classes): the members' mean log-probabilities, before the temperature",
        "temperature": repr(graph.temperature),
        "members": str(len(graph.models)),
        "source": weights.name,
        "source_md5": md5_file(weights),
        "signlens_version": __version__,
        "torch_version": str(torch.__version__),
    }
    return meta


def is_landmark_checkpoint(path: str | Path) -> bool:
    """True for a signlens checkpoint of a landmark model or ensemble (what `export` routes here)."""

    path = Path(path)
    if path.suffix.lower() != ".pt" or not path.is_file():
        return False  # the image exporter reports missing files and exports with its own message
    return load_checkpoint(path)["preprocess"].get("kind") == "landmarks"


def export_recognizer(
    weights: str | Path,
    out: str | Path | None = None,
    parity_data: str | None = None,
    parity_samples: int = 512,
    opset: int = OPSET,
    fmt: str = "onnx",
    int8: bool = False,
    temperature: float | None = None,
) -> dict[str, Any]:
    """Export a landmark recogniser checkpoint as one ONNX graph, check it against the Python recogniser
    with ONNX Runtime, and write `<out>.json` (the report, which also carries the class names a page
    needs). A graph that fails the parity bounds is still written, and the report says FAILED.
    `temperature`: the answer rule's, where the caller has one (None: the checkpoint's)."""
    import onnx

    if fmt != "onnx" or int8:
        raise SignlensError("a landmark recogniser exports to fp32 ONNX only (--format onnx, no --int8)")
    if parity_samples < 1:
        raise SignlensError("--parity-samples must be at least 1")
    started = time.perf_counter()
    weights = Path(weights)
    out = Path(out) if out else weights.with_suffix(".onnx")
    if out.exists() and out.is_dir():
        raise SignlensError(f"--out {out} is a directory; give a file name")
    classifier = LandmarkClassifier.from_checkpoint(weights)
    graph = RecognizerGraph(classifier, temperature=temperature).eval()
    proto = onnx.load_from_string(to_onnx_bytes(graph, opset))
    for key, value in graph_metadata(classifier, weights, graph).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"{GRAPH_FORMAT}: MediaPipe Hands landmarks -> calibrated probabilities"
    onnx.checker.check_model(proto)
    blob = proto.SerializeToString()
    data, note = load_parity_data(parity_data, parity_samples)
    reference = python_probabilities(classifier, data, graph.temperature)
    probs = run_session(onnx_session(blob), graph_inputs(data, graph.input_names))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: tmp.write_bytes(blob))
    report = {
        "weights": str(weights),
        "format": "onnx",
        "graph": GRAPH_FORMAT,
        "out": str(out),
        "opset": opset,
        "bytes": out.stat().st_size,
        "class_names": classifier.class_names,
        "inputs": graph.input_names,
        "output": OUTPUT,
        "members": [
            {"model": type(m).__name__, "form": s.form, "mirror_tta": v == 2}
            for m, s, v in zip(graph.models, graph.specs, graph.views, strict=True)
        ],
        "temperature": graph.temperature,
        # The thresholds the build chose on held-out signers (pipeline/thresholds.py reads the same record).
        "defaults": load_checkpoint(weights).get("calibration", {}).get("defaults", {}),
        "params": int(sum(p.numel() for p in graph.parameters())),
        "parity_data": note,
        "parity": parity(reference, probs),
        "source_md5": md5_file(weights),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json(out.with_name(out.name + ".json"), report)
    return report


def summary(report: dict[str, Any]) -> list[str]:
    """The export verb's human-readable lines."""
    p = report["parity"]
    members = ", ".join(f"{m['form']}{' +mirror' if m['mirror_tta'] else ''}" for m in report["members"])
    return [
        f"[bold]{report['out']}[/bold]  one ONNX graph (opset {report['opset']}), {report['bytes']:,} bytes, "
        f"{report['params']:,} params; inputs {', '.join(report['inputs'])} -> {report['output']}",
        f"{len(report['members'])} members averaged in the graph: {members}; temperature {report['temperature']:.4f}",
        f"parity vs the Python recogniser on {report['parity_data']}: top-1 agreement "
        f"{100 * p['top1_agreement']:.2f}%, max |prob diff| {p['max_abs_prob_diff']:.2e} -> "
        f"{'ok' if p['passed'] else 'FAILED'}",
        f"report: {report['out']}.json",
    ]
