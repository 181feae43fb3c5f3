"""Build a landmark data set from any labelled image set: `signlens landmarks extract`.

Photos are read exactly as `predict` reads them (pipeline.reading): the hand found by the same search of
views, and, with the "mirrored" view, the same second reading. A model trained on these rows therefore
sees the landmarks it will be given, and a score computed from them is the score of `predict`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from signlens.data.changes import changed, photo_rng
from signlens.data.folders import list_image_folder, take_of
from signlens.data.landmarks import load_landmark_file, save_landmark_file
from signlens.data.photo_sets import LETTERS, PHOTO_SETS, list_photo_set
from signlens.data.sources import NAMED_SETS, data_root, load_data
from signlens.errors import SignlensError
from signlens.io import md5_file
from signlens.pipeline.hands import Hand, HandDetector, moved, read_rgb
from signlens.pipeline.reading import PhotoReader, ReadSettings, is_gray

VIEWS = ("photo", "mirrored")  # the first reading, and the mirrored second reading of the same hand
# Not a change of the photo but of how it is read: as video's tracker reads a hand held still in a camera
# frame (`TrackedReader`). The tracker crops the hand from the last frame's landmarks, not from the palm
# detector's box, and its landmarks of the same hand differ enough to move a letter a model never saw so.
TRACKED = "tracked"
CAMERA_SIDE = 640  # the long side of the page's camera frames
HELD_FRAMES = 4  # frames the hand is held before the reading kept: the palm detector's, then tracked ones


def camera_frame(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """`rgb` scaled, up or down, to a camera frame of CAMERA_SIDE on its long side; (frame, scale)."""
    import cv2

    height, width = rgb.shape[:2]
    factor = CAMERA_SIDE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR), factor


class TrackedReader:
    """Reads a photo's hand as a live video does: the photo scaled to a camera frame and held for
    HELD_FRAMES frames through the tracker `Recognizer` uses in VIDEO mode, after a blank frame that
    makes the tracker let go of the last photo's hand."""

    last_view = TRACKED

    def __init__(self, settings: ReadSettings):
        self.detector = HandDetector(static_image_mode=False, model_complexity=settings.model_complexity)

    def find(self, rgb: np.ndarray) -> Hand | None:
        frame, factor = camera_frame(rgb)
        self.detector.detect(np.zeros_like(frame))
        hand = None
        for _ in range(HELD_FRAMES):
            hand = self.detector.detect(frame)
        return None if hand is None else moved(hand, 1 / factor, 0, 0, *rgb.shape[1::-1])

    def close(self) -> None:
        self.detector.close()


def labelled_images(
    spec: str,
) -> tuple[list[str], Iterator[tuple[np.ndarray, int, str]], int, dict]:
    """(class names, iterator of (rgb, label, source), count, checksums) for a named photo set, a folder
    tree or a CSV set. Photo files are checksummed one by one (so a cache can tell them apart)."""
    if spec in PHOTO_SETS and spec != "asl-dataset":  # (ayuraj's folder is read as a class-folder tree)
        photos = list_photo_set(spec, data_root())
        checksums = {p.source: md5_file(p.path) for p in photos}

        def photo_items():
            for p in photos:
                yield read_rgb(p.path), LETTERS.index(p.label), p.source

        return LETTERS, photo_items(), len(photos), checksums
    path = data_root() / NAMED_SETS[spec] if spec in NAMED_SETS else Path(spec)
    if path.is_dir() and not any(path.glob("*.csv")) and not any(path.glob("*.zip")):
        files, labels, class_names = list_image_folder(path)
        checksums = {str(f.relative_to(path)): md5_file(f) for f in files}

        def folder_items():
            for f, label in zip(files, labels, strict=True):
                yield read_rgb(f), label, str(f.relative_to(path))

        return class_names, folder_items(), len(files), checksums
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


def digest(checksums: dict, settings: ReadSettings, views) -> str:
    """One name for these photos read with these settings and views (a cache key)."""
    text = "\n".join(f"{k} {v}" for k, v in sorted(checksums.items()))
    return hashlib.sha1(f"{text}\n{settings.key()}\n{','.join(views)}".encode()).hexdigest()[:16]


def changed_items(
    spec: str, items: Iterator, change: str, boxes: dict | None = None
) -> Iterator[tuple[np.ndarray, int, str]]:
    """`items` with one everyday change at a random strength (data.changes), each photo's the same on
    every run, named `source#change`; photos the change does not apply to are left out. The hand boxes
    are the set's own, or `boxes` (e.g. where an earlier reading found the hand). TRACKED leaves the photo
    as it is (the reading is what changes)."""
    if change == TRACKED:
        for rgb, label, source in items:
            yield rgb, label, f"{source}#{change}"
        return
    given = boxes is not None
    if not given:
        boxes = {p.source: p.box for p in list_photo_set(spec, data_root())} if spec in PHOTO_SETS else {}
    for rgb, label, source in items:
        if given and source not in boxes:  # no hand found in the photo: nothing to change about
            continue
        image = changed(rgb, change, boxes.get(source), photo_rng(source, change), vary=True)
        if image is not None:
            yield np.ascontiguousarray(image), label, f"{source}#{change}"


def group_of(source: str) -> str:
    """The take a photo belongs to: ayuraj's hand and view, or a sign-mnist-source signer's letter (its
    ten frames are one take), or a community signer's letter (one burst). A changed copy (`source#change`)
    belongs to its photo's take."""
    source = source.split("#")[0]
    name = Path(source).name
    if Path(source).parent.name.startswith("user_"):
        return f"{Path(source).parent.name}_{name[0]}"
    community = COMMUNITY_FILE.match(name)
    if community:
        return f"{community.group(1)}_{community.group(2)}"
    return take_of(name) or ""


COMMUNITY_FILE = re.compile(r"([a-z0-9]+)_([A-Z])_\d+\.jpg$")


def extract_landmarks(
    spec: str,
    out: str | Path,
    progress: Callable | None = None,
    views: tuple[str, ...] = ("photo",),
    on_total: Callable[[int], None] | None = None,
    settings: ReadSettings | None = None,
    reuse: bool = False,
    change: str | None = None,
    boxes: dict | None = None,
) -> dict:
    """Read one hand per image as `predict` does (in each of `views`) and save its landmarks, one row per
    view with a hand; images where the search finds no hand are listed. With `reuse`, an existing `out`
    made from the same photo bytes, settings and views is kept as it is. With `change`, the images are
    read with that everyday change (data.changes) instead, as training material; `boxes` ({source: box})
    stands in for a set without recorded hand boxes. The TRACKED change reads each photo once, as video's
    tracker does."""
    settings = settings or ReadSettings()
    unknown = sorted(set(views) - set(VIEWS))
    if unknown or not views or views[0] != "photo":
        raise SignlensError(f"views must be photo or photo,mirrored, got {','.join(views)}")
    if change == TRACKED:  # the reading changes, not the photo: no hand box is needed
        if views != ("photo",):
            raise SignlensError("tracked readings are made in the photo view only: video reads a hand once")
        boxes = None
    class_names, items, total, checksums = labelled_images(spec)
    if change:  # the count is an upper bound: a change may not apply to every photo
        items = changed_items(spec, items, change, boxes)
        checksums = {f"{k}#{change}": (f"{v} {boxes.get(k)}" if boxes else v) for k, v in checksums.items()}
        if change == TRACKED:
            checksums = {k: f"{v} {CAMERA_SIDE}px {HELD_FRAMES} frames" for k, v in checksums.items()}
    if total == 0:
        raise SignlensError(f"no images found in {spec}")
    key = digest(checksums, settings, views)
    earlier = {}
    if reuse and Path(out).is_file():
        meta = load_landmark_file(out)["meta"]
        if meta.get("digest") == key:
            return {**meta, "failures": [], "detection_rate": meta["num_detected"] / meta["num_images"]}
        earlier = reusable_rows(out, checksums, settings, views)
    if on_total:
        on_total(total)
    names = ("image_points", "world_points", "labels", "handedness", "scores", "sources", "groups",
             "bboxes", "image_sizes", "views", "found_by")  # fmt: skip
    rows: dict[str, list] = {k: [] for k in names}
    failures, failure_labels = [], []
    found_per_view = dict.fromkeys(views, 0)
    found_by: dict[str, int] = {}
    start = time.perf_counter()
    reader = TrackedReader(settings) if change == TRACKED else PhotoReader(settings)
    read = 0
    try:
        for rgb, label, source in items:
            read += 1
            if source in earlier and not is_gray(rgb):
                for row in earlier[source]:
                    for k in names:
                        rows[k].append(row[k])
                found_by[row["found_by"]] = found_by.get(row["found_by"], 0) + 1
                for row in earlier[source]:
                    found_per_view[row["views"]] += 1
                if progress:
                    progress()
                continue
            hand = reader.find(rgb)
            if progress:
                progress()
            if hand is None:
                failures.append(source)
                failure_labels.append(label)
                continue
            found_by[reader.last_view] = found_by.get(reader.last_view, 0) + 1
            readings = [("photo", hand)]
            if "mirrored" in views:
                readings.append(("mirrored", reader.reread(rgb, hand)))
            for view, reading in readings:
                if reading is None:
                    continue
                found_per_view[view] += 1
                rows["image_points"].append(reading.image_points)
                rows["world_points"].append(reading.world_points)
                rows["labels"].append(label)
                rows["handedness"].append(reading.handedness)
                rows["scores"].append(reading.score)
                rows["sources"].append(source)
                rows["groups"].append(group_of(source))
                rows["bboxes"].append(reading.bbox)
                rows["image_sizes"].append(rgb.shape[1::-1])
                rows["views"].append(view)
                rows["found_by"].append(reader.last_view)
    finally:
        reader.close()
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
        "found_by": np.asarray(rows["found_by"]),
        "failure_sources": np.asarray(failures, dtype=str),
        "failure_labels": np.asarray(failure_labels, dtype=np.int64),
    }
    meta = {
        "data": spec,
        **({"change": change} if change else {}),
        "checksums": checksums if len(checksums) <= 5000 else {},
        "digest": key,
        "reading": settings.to_json(),  # predict's own settings: the file is what predict would read
        "num_images": read,
        "num_detected": read - len(failures),
        "views": list(views),
        "detected_per_view": found_per_view,
        "found_by": found_by,
        "seconds": round(seconds, 2),
    }
    save_landmark_file(out, arrays, meta)
    return {**meta, "failures": failures, "detection_rate": meta["num_detected"] / read}


def reusable_rows(out: Path, checksums: dict, settings: ReadSettings, views) -> dict[str, list[dict]]:
    """Rows of an earlier file that these settings would read the same: the same photo bytes, detector
    and views, found by a view both searches try first in the same order (a later change of the search
    leaves them as they were). Gray photos are always read again (their search changed with version 2),
    and so are photos found by the tiles (only large photos are tiled since version 3)."""
    data = load_landmark_file(out)
    meta = data["meta"]
    before = meta.get("reading") or {}
    ignored = ("search", "version", "gray_ramps")  # (gray photos are read again whatever their ramps)
    same = all(before.get(k) == v for k, v in settings.to_json().items() if k not in ignored)
    if not same or list(meta.get("views", [])) != list(views) or "found_by" not in data:
        return {}
    prefix = []
    for a, b in zip(before.get("search", []), settings.search, strict=False):
        if a != b or a == "tiles":  # (tiles: only large photos since version 3)
            break
        prefix.append(a)
    old = meta.get("checksums") or {}
    rows: dict[str, list[dict]] = {}
    for i, source in enumerate(data["sources"]):
        source = str(source)
        if (
            str(data["found_by"][i]) in prefix
            and old.get(source)
            and old.get(source) == checksums.get(source)
        ):
            rows.setdefault(source, []).append(
                {k: data[k][i] for k in ("image_points", "world_points", "labels", "handedness", "scores",
                                         "sources", "groups", "bboxes", "image_sizes", "views", "found_by")}
            )  # fmt: skip
    return rows


__all__ = ["PHOTO_SETS", "VIEWS", "extract_landmarks", "labelled_images"]
