"""Build a landmark data set from any labelled image set: `signlens landmarks extract`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from signlens.data.folders import list_image_folder, take_of
from signlens.data.landmarks import save_landmark_file
from signlens.data.sources import NAMED_SETS, data_root, load_data
from signlens.errors import SignlensError
from signlens.pipeline.hands import HandDetector, read_rgb


def labelled_images(spec: str) -> tuple[list[str], Iterator[tuple[np.ndarray, int, str]], int, dict]:
    """(class names, iterator of (rgb, label, source), count, checksums) for a folder tree or a CSV set."""
    path = data_root() / NAMED_SETS[spec] if spec in NAMED_SETS else Path(spec)
    if path.is_dir() and not any(path.glob("*.csv")) and not any(path.glob("*.zip")):
        files, labels, class_names = list_image_folder(path)

        def folder_items():
            for f, label in zip(files, labels, strict=True):
                yield read_rgb(f), label, str(f.relative_to(path))

        return class_names, folder_items(), len(files), {}
    # CSV sets (Sign MNIST): tiny 28 px crops, upscaled so the detector has pixels to work with.
    bundle = load_data(spec)
    parts = [p for p in (bundle.train, bundle.test) if p is not None]

    def csv_items():
        import cv2

        for part in parts:
            for image, label, source in zip(part.images, part.labels, part.sources, strict=True):
                rgb = cv2.resize(np.repeat(image, 3, axis=2), (224, 224), interpolation=cv2.INTER_CUBIC)
                yield rgb, int(label), source

    return bundle.class_names, csv_items(), sum(len(p) for p in parts), bundle.checksums


VIEWS = ("photo", "mirrored")


def photo_views(rgb: np.ndarray, views: tuple[str, ...]) -> Iterator[tuple[str, np.ndarray]]:
    """The photo as it is and/or mirrored left-right. MediaPipe reads a mirrored photo afresh, as the
    other hand: its landmarks are a second, independent estimate of the same handshape, not a copy."""
    for view in views:
        yield view, rgb if view == "photo" else np.ascontiguousarray(rgb[:, ::-1])


def extract_landmarks(
    spec: str,
    out: str | Path,
    pad: float = 0.5,
    min_confidence: float = 0.3,
    progress: Callable | None = None,
    views: tuple[str, ...] = ("photo",),
    on_total: Callable[[int], None] | None = None,
) -> dict:
    """Detect one hand per image (in each of `views`) and save its landmarks, one row per view with a
    hand; images where no view shows a hand are listed."""
    unknown = sorted(set(views) - set(VIEWS))
    if unknown or not views:
        raise SignlensError(f"unknown view(s) {unknown}; choose from {', '.join(VIEWS)}")
    class_names, items, total, checksums = labelled_images(spec)
    if total == 0:
        raise SignlensError(f"no images found in {spec}")
    if on_total:
        on_total(total)
    rows: dict[str, list] = {
        k: []
        for k in (
            "image_points",
            "world_points",
            "labels",
            "handedness",
            "scores",
            "sources",
            "groups",
            "bboxes",
            "image_sizes",
            "views",
        )
    }
    failures, failure_labels = [], []
    found_per_view = dict.fromkeys(views, 0)
    start = time.perf_counter()
    with HandDetector(static_image_mode=True, pad=pad, min_detection_confidence=min_confidence) as detector:
        for rgb, label, source in items:
            found = 0
            for view, image in photo_views(rgb, views):
                hand = detector.detect(image)
                if hand is None:
                    continue
                found += 1
                found_per_view[view] += 1
                rows["image_points"].append(hand.image_points)
                rows["world_points"].append(hand.world_points)
                rows["labels"].append(label)
                rows["handedness"].append(hand.handedness)
                rows["scores"].append(hand.score)
                rows["sources"].append(source)
                rows["groups"].append(take_of(Path(source).name) or "")
                rows["bboxes"].append(hand.bbox)
                rows["image_sizes"].append(rgb.shape[1::-1])
                rows["views"].append(view)
            if progress:
                progress()
            if not found:
                failures.append(source)
                failure_labels.append(label)
    seconds = time.perf_counter() - start
    if not rows["labels"]:
        raise SignlensError(f"no hand was detected in any of the {total} images of {spec}")
    arrays = {
        "image_points": np.stack(rows["image_points"]).astype(np.float32),
        "world_points": np.stack(rows["world_points"]).astype(np.float32),
        "labels": np.asarray(rows["labels"], dtype=np.int64),
        "class_names": np.asarray([c.upper() for c in class_names]),
        "handedness": np.asarray(rows["handedness"]),
        "scores": np.asarray(rows["scores"], dtype=np.float32),
        "sources": np.asarray(rows["sources"]),
        "groups": np.asarray(rows["groups"]),
        "bboxes": np.asarray(rows["bboxes"], dtype=np.int32),
        "image_sizes": np.asarray(rows["image_sizes"], dtype=np.int32),
        "views": np.asarray(rows["views"]),
        "failure_sources": np.asarray(failures, dtype=str),
        "failure_labels": np.asarray(failure_labels, dtype=np.int64),
    }
    meta = {
        "data": spec,
        "checksums": checksums,
        "detector": {"pad": pad, "min_detection_confidence": min_confidence, "static_image_mode": True},
        "num_images": total,
        "num_detected": total - len(failures),  # photos with a hand in at least one view
        "views": list(views),
        "detected_per_view": found_per_view,
        "seconds": round(seconds, 2),
    }
    save_landmark_file(out, arrays, meta)
    return {**meta, "failures": failures, "detection_rate": meta["num_detected"] / total}
