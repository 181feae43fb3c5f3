"""Checkpoint -> ONNX (fp32 or int8) or TorchScript, checked against the PyTorch model after export.

The exported file carries the checkpoint's pre-processing (input size, channels, normalisation),
class names, architecture, training config, parameter and MAC counts, and the parity figures, so
`signlens predict/val/benchmark` (and any other runtime) can use it without the checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from signlens import __version__
from signlens.engine.config import TrainConfig
from signlens.engine.rundata import run_splits
from signlens.errors import SignlensError
from signlens.export.quantize import quantize_int8
from signlens.inference import (
    EXPORT_SUFFIXES,
    OnnxClassifier,
    TorchClassifier,
    TorchScriptClassifier,
    export_suffix,
    is_export,
)
from signlens.inference import metadata as md
from signlens.io import atomic_write, md5_file, write_json
from signlens.models.describe import count_macs, count_params

FORMATS = tuple(EXPORT_SUFFIXES.values())
OPSET = 17
PARITY_ATOL = 1e-3  # fp32 export: max |logit difference| allowed (observed ~1e-6)


def default_out(weights: Path, fmt: str, int8: bool) -> Path:
    return weights.with_name(weights.stem + (".int8" if int8 else "") + export_suffix(fmt))


def sample_data(data: str | None, classifier, need: bool, seed: int = 0) -> tuple[Any, Any, str]:
    """(training ImageSet for calibration, test ImageSet, note) from `data` (default: the model's
    training data), split the way the training run split it. Returns (None, None, why) when the data
    cannot be loaded and `need` is false; raises SignlensError when it is needed."""
    config = TrainConfig.from_dict(classifier.train_config)
    name = data or classifier.train_config.get("data")
    if not name:
        if need:
            raise SignlensError("no data to calibrate on: pass --calib-data NAME|PATH")
        return None, None, "no data named"
    try:
        bundle, train, _, test = run_splits(config, name, classifier.img_size, classifier.in_chans)
    except SignlensError as exc:
        if need or data:  # a data set the user named must exist
            raise
        return None, None, f"data unavailable ({exc})"
    missing = sorted(set(test.class_names) - set(classifier.class_names))
    if missing:
        raise SignlensError(f"data '{bundle.name}' has classes the model does not know: {missing}")
    note = f"{bundle.name}: {'official ' if bundle.test_is_official else 'held-out '}test split"
    return train, test, note


def labels_for(classifier, images) -> np.ndarray:
    """Data labels mapped onto the model's class indices (same names, maybe another order)."""
    remap = np.array([classifier.class_names.index(n) for n in images.class_names])
    return remap[images.labels]


def pick(n_total: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=min(n, n_total), replace=False))


def parity(reference: np.ndarray, other: np.ndarray, atol: float | None) -> dict:
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    agree = float((reference.argmax(1) == other.argmax(1)).mean()) if len(reference) else 1.0
    out = {
        "samples": int(len(reference)),
        "max_abs_logit_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_logit_diff": float(diff.mean()) if diff.size else 0.0,
        "top1_agreement": agree,
    }
    if atol is not None:
        out["atol"] = atol
        out["passed"] = bool(out["max_abs_logit_diff"] <= atol and agree == 1.0)
    return out


def torch_to_onnx(model, in_chans: int, img_size: int, path: Path, props: dict[str, str], opset: int = OPSET):
    """The TorchScript-based exporter (dynamo=False works offline), dynamic batch axis, metadata."""
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            torch.zeros(1, in_chans, img_size, img_size),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=[md.INPUT_NAME],
            output_names=[md.OUTPUT_NAME],
            dynamic_axes={md.INPUT_NAME: {0: "batch"}, md.OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    drop_identity_pools(proto)
    set_onnx_metadata(proto, props)
    proto.doc_string = "signlens export: " + md.INPUT_DOC
    onnx.checker.check_model(proto)
    atomic_write(path, lambda tmp: onnx.save(proto, str(tmp)))
    return path


def drop_identity_pools(proto) -> int:
    """Remove pooling nodes that copy their input (1x1 kernel, stride 1, no padding), such as an
    AdaptiveAvgPool2d that is a no-op at the exported input size: each costs a kernel launch per call."""
    from onnx import helper

    graph_outputs = {o.name for o in proto.graph.output}
    removed = 0
    for node in list(proto.graph.node):
        if node.op_type not in ("AveragePool", "MaxPool") or len(node.output) != 1:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        identity = (
            all(k == 1 for k in attrs.get("kernel_shape", [0]))
            and all(s == 1 for s in attrs.get("strides", [1]))
            and not any(attrs.get("pads", [0]))
            and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", b"VALID")
            and node.output[0] not in graph_outputs
        )
        if not identity:
            continue
        for other in proto.graph.node:
            for i, name in enumerate(other.input):
                if name == node.output[0]:
                    other.input[i] = node.input[0]
        proto.graph.node.remove(node)
        removed += 1
    return removed


def set_onnx_metadata(proto, props: dict[str, str]) -> None:
    kept = {p.key: p.value for p in proto.metadata_props}
    kept.update(props)
    del proto.metadata_props[:]
    for key, value in kept.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def rewrite_onnx_metadata(path: Path, props: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    set_onnx_metadata(proto, props)
    atomic_write(path, lambda tmp: onnx.save(proto, str(tmp)))


def base_metadata(classifier, weights: Path, model) -> dict[str, Any]:
    import torch

    return {
        "class_names": classifier.class_names,
        "img_size": classifier.img_size,
        "in_chans": classifier.in_chans,
        "mean": classifier.mean_values,
        "std": classifier.std_values,
        "model": classifier.meta.get("model"),
        "config": classifier.train_config,
        "calibration": classifier.meta.get("calibration"),  # its temperature, applied by every loader
        "params": count_params(model),
        "macs": count_macs(model, (1, classifier.in_chans, classifier.img_size, classifier.img_size)),
        "source": weights.name,
        "source_md5": md5_file(weights),
        "signlens_version": __version__,
        "torch_version": str(torch.__version__),
        "precision": "fp32",
    }


def trace(model, in_chans: int, img_size: int):
    """The TorchScript module `export --format torchscript` writes: a trace, neither frozen nor
    optimised further (what a deployer loads is what the benchmark times)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(model.eval(), torch.zeros(1, in_chans, img_size, img_size))


def write_torchscript(traced, meta: dict[str, Any], path: Path) -> Path:
    """Save a traced module with its metadata as the extra file `signlens.json`, atomically."""
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(traced, buffer, _extra_files={"signlens.json": json.dumps(md.encode(meta))})
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean()) if len(labels) else float("nan")


def export_model(
    weights: str | Path,
    fmt: str = "onnx",
    out: str | Path | None = None,
    int8: bool = False,
    calib_data: str | None = None,
    parity_samples: int = 512,
    calib_samples: int = 512,
    calib_method: str = "minmax",
    opset: int = OPSET,
) -> dict[str, Any]:
    """Export `weights` and return the report (also written next to the export as `<out>.json`)."""
    weights = Path(weights)
    if fmt not in FORMATS:
        raise SignlensError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if int8 and fmt != "onnx":
        raise SignlensError("--int8 is only available with --format onnx (ONNX Runtime quantisation)")
    if is_export(weights):
        raise SignlensError(f"{weights} is already an export; export takes a signlens checkpoint (.pt)")
    started = time.perf_counter()
    torch_clf = TorchClassifier.from_checkpoint(weights)
    model = torch_clf.model
    out = Path(out) if out else default_out(weights, fmt, int8)
    if out.exists() and out.is_dir():
        raise SignlensError(f"--out {out} is a directory; give a file name")
    calib_set, test, data_note = sample_data(calib_data, torch_clf, need=int8)
    if test is not None:
        parity_images = test.images[pick(len(test), parity_samples)]
        parity_note = f"{len(parity_images)} images from the {data_note}"
    else:  # no real data here: still check the export, on reproducible noise, and say so
        rng = np.random.default_rng(0)
        shape = (parity_samples, torch_clf.img_size, torch_clf.img_size, torch_clf.in_chans)
        parity_images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        parity_note = f"{parity_samples} random-noise images (no real data: {data_note})"
    meta = base_metadata(torch_clf, weights, model)
    reference = torch_clf.logits(parity_images)
    report: dict[str, Any] = {
        "weights": str(weights),
        "format": fmt,
        "out": str(out),
        "opset": opset if fmt == "onnx" else None,
        "params": meta["params"],
        "macs": meta["macs"],
        "parity_data": parity_note,
        "temperature": torch_clf.temperature,
    }

    if fmt == "torchscript":
        traced = trace(model, torch_clf.in_chans, torch_clf.img_size)
        with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
            probe = write_torchscript(traced, meta, Path(tmp) / "model.torchscript")
            exported = TorchScriptClassifier(probe)
            report["parity"] = parity(reference, exported.logits(parity_images), PARITY_ATOL)
            meta["parity"] = report["parity"]
        write_torchscript(traced, meta, out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".signlens-export-", dir=out.parent) as tmp:
            fp32_path = Path(tmp) / "fp32.onnx"
            torch_to_onnx(model, torch_clf.in_chans, torch_clf.img_size, fp32_path, md.encode(meta), opset)
            fp32 = OnnxClassifier(fp32_path)
            report["parity"] = parity(reference, fp32.logits(parity_images), PARITY_ATOL)
            meta["parity"] = report["parity"]
            final = fp32_path
            if int8:
                if calib_set is None or len(calib_set) == 0:
                    raise SignlensError(f"no training images to calibrate int8 on ({data_note})")
                calib = calib_set.images[pick(len(calib_set), calib_samples, seed=1)]
                int8_path = Path(tmp) / "int8.onnx"
                settings = quantize_int8(fp32_path, int8_path, fp32.prepare(calib), calib_method)
                settings["calibration_data"] = (
                    f"{len(calib)} images from the training split of {data_note.split(':')[0]}"
                )
                q = OnnxClassifier(int8_path)
                report["parity_fp32"] = report.pop("parity")
                report["parity"] = parity(reference, q.logits(parity_images), None)
                labels = labels_for(torch_clf, test)
                acc = {
                    "split": data_note,
                    "samples": int(len(labels)),
                    "torch_fp32": accuracy(torch_clf.logits(test.images), labels),
                    "onnx_fp32": accuracy(fp32.logits(test.images), labels),
                    "onnx_int8": accuracy(q.logits(test.images), labels),
                }
                acc["drop_points"] = 100.0 * (acc["onnx_fp32"] - acc["onnx_int8"])
                report["accuracy"], report["quantization"] = acc, settings
                report["fp32_bytes"] = fp32_path.stat().st_size
                meta.update(precision="int8", quantization=settings, accuracy=acc, parity=report["parity"])
                final = int8_path
            del fp32
            rewrite_onnx_metadata(final, md.encode(meta))
            os.replace(final, out)  # same folder, so the rename is atomic
    report["bytes"] = out.stat().st_size
    report["precision"] = meta["precision"]
    report["seconds"] = round(time.perf_counter() - started, 2)
    write_json(out.with_name(out.name + ".json"), report)
    return report
