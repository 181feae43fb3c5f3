"""Live recognition over a camera, a video file or a folder of frames: `signlens live`.

Per frame: track the hand (MediaPipe tracking mode), classify its landmarks with mirrored test-time
augmentation, threshold the calibrated confidence, smooth by majority vote, and spell letters into
text; J and Z come from the fingertip's path (pipeline.motion). Headless by default; `--show` opens a window, `--save` writes the annotated video, `--jsonl`
one JSON line per processed frame.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signlens.data.images import IMAGE_SUFFIXES, decode_image, is_regular_file
from signlens.errors import SignlensError
from signlens.io import native_stderr_silenced, prepare_parent
from signlens.pipeline.recognition import Recognition
from signlens.pipeline.recognizer import Recognizer
from signlens.pipeline.session import LiveSession

MAX_CAMERA = 63  # camera indices beyond this are not cameras but typos


@dataclass
class Frame:
    index: int
    time: float  # seconds: video time for files and folders, wall time for cameras
    bgr: np.ndarray


def open_source(source: str, folder_fps: float = 10.0) -> tuple[Iterator[Frame], float]:
    """(frames, frames per second) from a camera index, a video file or a folder of images."""
    import cv2

    path = Path(source)
    if path.is_dir():
        # The one image decoder (limits, EXIF orientation), regular files only, as for predict.
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and is_regular_file(p))
        if not files:
            raise SignlensError(f"no images in folder {path}")

        def folder_frames():
            for i, f in enumerate(files):
                yield Frame(i, i / folder_fps, np.ascontiguousarray(decode_image(f, "RGB")[..., ::-1]))

        return folder_frames(), folder_fps
    camera = source.isdigit()
    if camera and int(source) > MAX_CAMERA:
        raise SignlensError(f"no camera {source} (camera indices are 0..{MAX_CAMERA})")
    if not camera and not path.exists():
        raise SignlensError(
            f"video source not found: {source} (give a camera index, a video file or a folder)"
        )
    if not camera and not is_regular_file(path):
        raise SignlensError(f"cannot read video {source}: not a regular file")
    with native_stderr_silenced():  # OpenCV's back-ends print their own warnings on a failed open
        capture = cv2.VideoCapture(int(source) if camera else str(path))
        opened = capture.isOpened()
    if not opened:
        raise SignlensError(f"cannot open {'camera' if camera else 'video'} {source}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if fps == fps and 0 < fps <= 1000 else 30.0  # some files claim 0, NaN or 90000

    def video_frames():
        start, i = time.perf_counter(), 0
        try:
            while True:
                with native_stderr_silenced():
                    ok, image = capture.read()
                if not ok or image is None or image.ndim != 3 or min(image.shape[:2]) < 1:
                    break
                yield Frame(i, time.perf_counter() - start if camera else i / fps, image)
                i += 1
        finally:
            capture.release()

    return video_frames(), fps


def draw_overlay(
    bgr: np.ndarray, result: Recognition, smoothed: str | None, text: str, fps: float
) -> np.ndarray:
    """Live overlay: the hand box, skeleton and label, the smoothed letter, the text so far and the
    frame rate."""
    import cv2

    out = result.draw(bgr, bgr=True)
    height = out.shape[0]
    cv2.putText(out, f"{smoothed or '-'}", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 3)
    cv2.putText(out, text[-40:], (10, height - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    cv2.putText(
        out, f"{fps:.0f} fps", (out.shape[1] - 110, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (200, 200, 200), 2
    )
    return out


def run_live(
    recognizer: Recognizer,
    source: str,
    jsonl: Path | None = None,
    save: Path | None = None,
    show: bool = False,
    settings: dict | None = None,
    max_frames: int | None = None,
) -> dict:
    """Process every frame; returns a summary with the spelled text and per-stage timings. `settings`:
    any of the live session's settings (pipeline.session: hold, pause, window, min_share; the threshold
    is the recogniser's), the rest at their defaults."""
    import cv2

    for tmp_of in (jsonl, save):
        if tmp_of is not None:
            prepare_parent(Path(tmp_of))
    frames, fps = open_source(source)
    spelling = LiveSession(recognizer.threshold, **(settings or {}))
    records, timings = [], {"detect": [], "classify": [], "total": []}
    writer = None
    tmp_save = save.with_name(f".{save.stem}.tmp{save.suffix}") if save else None
    jsonl_tmp = jsonl.with_name(f".{jsonl.name}.tmp") if jsonl else None
    log = open(jsonl_tmp, "w", encoding="utf-8") if jsonl_tmp else None  # noqa: SIM115 (closed below)
    completed = False
    shown_fps = 0.0
    try:
        for frame in frames:
            if max_frames is not None and frame.index >= max_frames:
                break
            t0 = time.perf_counter()
            rgb = np.ascontiguousarray(frame.bgr[..., ::-1])
            result = recognizer.recognize_frame(rgb, frame.time)
            t2 = time.perf_counter()
            hand = result.hand
            smoothed, written = spelling.update(
                result.label, None if hand is None else hand.image_points, frame.time
            )
            timings["detect"].append(result.timings["detect"])
            timings["classify"].append(result.timings["classify"])
            timings["total"].append(t2 - t0)
            shown_fps = 0.9 * shown_fps + 0.1 / max(t2 - t0, 1e-6) if shown_fps else 1 / max(t2 - t0, 1e-6)
            answer = result.to_dict()
            record = {
                "frame": frame.index,
                "time": round(frame.time, 4),
                "raw": answer["label"],
                "best": result.best,
                "confidence": answer["confidence"],
                "smoothed": smoothed,
                "written": written,
                "hand": answer["hand"],
                "text": spelling.text,
            }
            records.append(record)
            if log:
                log.write(json.dumps(record) + "\n")
            if save or show:
                annotated = draw_overlay(frame.bgr, result, smoothed, spelling.text, shown_fps)
                if save:
                    if writer is None:
                        with native_stderr_silenced():
                            writer = cv2.VideoWriter(
                                str(tmp_save), cv2.VideoWriter_fourcc(*"mp4v"), fps, annotated.shape[1::-1]
                            )
                        if not writer.isOpened():
                            raise SignlensError(f"cannot write video {save} (OpenCV could not open it)")
                    writer.write(annotated)
                if show:
                    cv2.imshow("signlens", annotated)
                    if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                        break
        completed = True
    finally:
        if log:
            log.close()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
        for tmp, final in ((jsonl_tmp, jsonl), (tmp_save, save)):
            if tmp is not None and tmp.exists():
                # Only a finished run replaces the outputs; a failed one leaves no half-written file.
                tmp.replace(final) if completed else tmp.unlink()
    ms = {k: np.array(v) * 1000 for k, v in timings.items()}
    return {
        "frames": len(records),
        "text": spelling.text.strip(),
        "latency_ms": {
            k: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
            for k, v in ms.items()
            if len(v)
        },
        "records": records,
    }
