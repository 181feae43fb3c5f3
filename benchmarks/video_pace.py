"""browser_pace's clips spelled by the VIDEO recogniser in Python (no browser): the tracker's answers as
recognize_frame gives them, and with its unsure frames answered from the frame's photo reading instead.

For each held-out signer: the fold ensemble that never saw the signer, answered by the rule chosen
without the signer (browser_pace.fold_runtime), spells browser_pace's clip of that signer at each of
`--rates` letters a second. Each frame goes as the server receives it (the y4m's 4:2:0 round trip, then
the page's JPEG at 0.8) through recognize_frame and the live session's vote and speller, as
serve.stream.Session.step does, on the clip's own clock (frame n at n/15 s). Printed per signer, rate
and variant: the text, letters right, wrong letters per 50 (in place of a true one, or extra) and ms a
frame (recognize_frame and the vote; the machine's load moves it: say which). The variants alternate
on the same frames (`--variants`, VARIANTS; the re-reading is the benchmark's own, after
recognize_frame: the model is trained on photo readings, and the tracker's on a held hand can drift).

    SIGNLENS_DATA=../shared/data .venv/bin/python benchmarks/video_pace.py
        [--signers mariia ikedyike himanshu straciulita lolzorus zarakiliz] [--rates 1 2]
        [--variants tracker reread agree]
        [--json runs/video_pace.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser_pace import FPS, WORDS, checked_words, clip_frames, fold_runtime  # noqa: E402
from live_pace import score  # noqa: E402

MOST_SIGNERS = 12  # bounds a run


def as_sent(rgb: np.ndarray) -> np.ndarray:
    """A frame as the server decodes it: the camera's 4:2:0 round trip, then the page's JPEG at 0.8."""
    import cv2

    from signlens.data.images import decode_image

    yuv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    back = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(back, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise SystemExit("OpenCV could not encode a frame as JPEG")
    return decode_image(jpg.tobytes(), name="frame")


VARIANTS = {
    "tracker": "recognize_frame as it is: the tracker's answer",
    "reread": "a tracked frame below the threshold answered from the frame's photo reading",
    "agree": "... only where the photo reading answers the tracked reading's best letter",
}


def spell(runtime: Path, frames: list[np.ndarray], variant: str) -> tuple[str, float, int]:
    """(text, ms a frame, frames re-read) of one fresh VIDEO recogniser and live session on `frames`.
    The photo reading is predict's first (its search's first view: the palm detector afresh)."""
    from signlens.pipeline.reading import PhotoReader, ReadSettings
    from signlens.pipeline.recognizer import Recognizer, RunningMode
    from signlens.pipeline.session import LiveSession

    with Recognizer(runtime, running_mode=RunningMode.VIDEO) as recognizer:
        reader = PhotoReader(ReadSettings(model_complexity=recognizer.options.model_complexity))
        first_view, rereads = reader.settings.search[:1], 0
        session = LiveSession(recognizer.threshold)
        try:
            start = time.perf_counter()
            for n, rgb in enumerate(frames):
                t, threshold = n / FPS, float(session.settings["threshold"])
                result = recognizer.recognize_frame(rgb, t, threshold=threshold)
                if variant != "tracker" and result.label is None and result.hand is not None:
                    rereads += 1
                    fresh = reader.find(rgb, views=first_view)
                    again = None if fresh is None else recognizer.classify(fresh, rgb, threshold=threshold)
                    if again is not None and (variant == "reread" or again.label == result.best):
                        result = again
                points = None if result.hand is None else result.hand.image_points
                session.update(result.label, points, t)
            ms = 1000 * (time.perf_counter() - start) / len(frames)
        finally:
            reader.close()
        return session.text, ms, rereads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--signers",
        nargs="+",
        default=["mariia", "ikedyike", "himanshu", "straciulita", "lolzorus", "zarakiliz"],
    )
    parser.add_argument("--words", default=WORDS, help="comma-separated, static letters only")
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 2.0], help="letters a second")
    parser.add_argument("--variants", nargs="+", default=["tracker", "reread"], choices=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    words = checked_words(args.words, args.rates)
    if len(args.signers) > MOST_SIGNERS:
        raise SystemExit(f"--signers: at most {MOST_SIGNERS}")
    from signlens.data.sources import data_root

    for signer in args.signers:
        if not (data_root() / "community-signers" / signer).is_dir():
            raise SystemExit(f"--signers: no community-signers/{signer} under {data_root()}")

    truth = "".join(words)
    rows = []
    for signer in args.signers:
        rng = np.random.default_rng(args.seed)  # each signer's clips as browser_pace makes them
        with tempfile.TemporaryDirectory(prefix="video-pace-") as tmp:
            runtime, _, _ = fold_runtime(signer, Path(tmp), page=False)
            for rate in args.rates:
                frames = [as_sent(f) for f in clip_frames(signer, words, rate, rng)]
                for variant in args.variants:
                    text, ms, rereads = spell(runtime, frames, variant)
                    right, wrong, extra = score(truth, text.replace(" ", ""))
                    row = {"signer": signer, "rate": rate, "variant": variant, "spelled": text,
                           "right": right, "wrong": wrong + extra, "letters": len(truth),
                           "ms_per_frame": ms, "frames": len(frames), "rereads": rereads}  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print("| signer | letters/s | variant | spelled | right | wrong per 50 | ms/frame | re-read frames |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['signer']} | {r['rate']:g} | {r['variant']} | {r['spelled'] or '(nothing)'} | "
            f"{r['right']}/{r['letters']} | {50 * r['wrong'] / r['letters']:.1f} | {r['ms_per_frame']:.1f} | "
            f"{r['rereads']}/{r['frames']} |"
        )
    for variant in args.variants:
        mine = [r for r in rows if r["variant"] == variant]
        right, wrong = sum(r["right"] for r in mine), sum(r["wrong"] for r in mine)
        letters = sum(r["letters"] for r in mine)
        ms = np.mean([r["ms_per_frame"] for r in mine])
        print(
            f"{variant}: right {right}/{letters}, wrong {wrong} ({50 * wrong / letters:.1f} per 50), "
            f"right - 2 wrong = {right - 2 * wrong}, mean {ms:.1f} ms/frame"
        )
    if args.json:
        from signlens.io import write_json

        write_json(args.json, {"words": words, "seed": args.seed, "rows": rows})


if __name__ == "__main__":
    main()
