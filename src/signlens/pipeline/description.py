"""A recogniser described (`Recognizer.describe()`, what /v1/model shows): classes, the input it reads,
calibration, thresholds, the pixel member and its fusion rule, version and checksum."""

from __future__ import annotations

import hashlib
from pathlib import Path

from signlens import __version__

IMAGE_INPUT = "one photo or camera frame (JPEG, PNG, BMP, WebP, GIF or TIFF, sniffed from the bytes)"


def description(recognizer, source: Path | None, bundled: bool) -> dict:
    classifier = recognizer.classifier
    if recognizer.kind == "landmarks":
        config = getattr(classifier, "config", None)
        reads = {"landmarks": "21 MediaPipe hand landmarks", "points": getattr(config, "points", None)}
    else:
        reads = {"whole_image": True, "size": getattr(classifier, "img_size", None)}
    return {
        "name": "bundled recogniser" if bundled else getattr(source, "name", "unknown"),
        "kind": recognizer.kind,
        "classes": recognizer.class_names,
        "input": {"image": IMAGE_INPUT, **reads, "views": list(recognizer.views)},
        "calibration": calibration_record(classifier, recognizer.calibration),
        "threshold": recognizer.threshold,
        "members": len(getattr(classifier, "members", [])) or 1,
        "pixel_member": pixel_record(recognizer.pixel),
        "signlens_version": __version__,
        "sha256": None if source is None or not source.is_file() else sha256(source),
    }


def calibration_record(classifier, saved: dict) -> dict:
    """The temperature, and the record the recogniser's build wrote into the checkpoint (if any)."""
    record: dict = {"method": "temperature", "temperature": float(classifier.temperature)}
    record.update({k: v for k, v in saved.items() if isinstance(v, int | float | str | bool | list | dict)})
    return record


def pixel_record(pixel) -> dict | None:
    """The hand-crop CNN's second opinion and its fusion rule (None for a landmark-only recogniser)."""
    if pixel is None:
        return None
    return {
        "crop": {"size": pixel.size, "margin": pixel.margin, "masked": pixel.masked},
        "asked_below": pixel.below,
        "weight": pixel.weight,
        "temperature": pixel.temperature,
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
