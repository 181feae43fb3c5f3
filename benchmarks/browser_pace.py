"""The web page against issue 25's targets, in headless Chromium with a fake camera, on a signer the
served recogniser never saw, answered by a rule chosen without that signer.

The clip: one held-out signer's photos (one room; community-signers/<signer>, 400x300, scaled to
640x480), one photo picked at random for each letter, spelling a few words at `--rates` letters a second
(each letter held 1/rate s, no gap between letters; the default words are 28 letters, 23 of the 24 static
ones, with HELLO's double L), 2 s of the empty room (the photos' mean colour) before, 1.5 s between
words and 2.5 s after; 15 frames/s, a .y4m Chromium plays as its camera. A double letter is another
photo of it with the hand slid sideways (towards the middle) by twice the share of its size the speller
asks for (pipeline.smoothing.REPEAT_SHIFT, of the hand box the build's search found), as a signer slides
between the two.

The recogniser: the leave-one-signer-out fold runs of the bundled recogniser's build that did not train
on the signer (runs/recognizer/loso, found by the names the build gives them), joined as the bundled
recogniser joins its members, with the calibration record (temperature, second-reading rule, photo and
live thresholds, least hand score; pixel fusion where there is a pixel member, which this benchmark
refuses) that `calibration_record` chooses on the other signers' held-out answers alone, as
study.recognizer.holdout.nested_loso scores a stranger; it is written into the fold model as the build
writes the bundled recogniser's. The held-out answers are read from the build's cache (runs/recognizer:
the readings the bundled recogniser's record names, and its finished fold runs): nothing is trained, and
the benchmark stops if the cache is not the build's. The fold model is exported as a runtime bundle
(what `signlens serve --weights` runs) and as the page's graph (what the on-device mode loads, answered
in place of the built one at /static/ondevice/, with its session defaults). Both modes of the page run
the clip from a fresh load with the session's defaults; printed per mode and rate: letters spelled right
(aligned to the truth), wrong letters written per 50 letters (in place of a true one, or extra), the
server's round trip p50 (frame sent to answer received, 640x480 JPEG), frames a second answered (the
device mode reads the video at the page's animation-frame pace, so over the camera's 15 it reads some
frames twice; its per-frame landmark and classifier times are printed too), console errors.

Loopback only; every wait is bounded. Timings depend on the machine and its load: say which.

    SIGNLENS_DATA=../shared/data .venv/bin/python benchmarks/browser_pace.py [--signer mariia]
        [--words HELLO,QUICK,BROWN,FOX,STAMPED,GYM] [--rates 1 2] [--modes server device]
        [--json runs/browser_pace.json]
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
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from live_pace import score  # noqa: E402
from ondevice import serve_app  # noqa: E402

FPS, WIDTH, HEIGHT = 15, 640, 480
LEAD, BETWEEN, TAIL = 2.0, 1.5, 2.5  # seconds of the empty room
STATIC_LETTERS = set("ABCDEFGHIKLMNOPQRSTUVWXY")
# Common words, 28 letters: every static letter but V, and a double letter (HELLO).
WORDS = "HELLO,QUICK,BROWN,FOX,STAMPED,GYM"
MOST_LETTERS = 60  # bounds a run: about a minute of clip at 1 letter a second
WORK = Path("runs/recognizer")  # the recogniser build's cache, under the root

# Installed before the page's scripts: when each camera frame leaves for the server and when its answer
# comes back (the page keeps one frame in flight), and when the camera's video starts playing.
PROBE = """
window.__bench = { sent: [], answered: [], skipped: 0, playing: null };
document.addEventListener("playing", () => { window.__bench.playing ??= performance.now(); }, true);
window.WebSocket = class extends window.WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const type = JSON.parse(event.data).type;
      if (type === "result") window.__bench.answered.push(performance.now());
      if (type === "skipped") window.__bench.skipped += 1;
    });
  }
  send(data) {
    if (typeof data !== "string") window.__bench.sent.push(performance.now());
    return super.send(data);
  }
};
"""


def held_out_answers(signer: str, folder: Path):
    """(fold runs that never saw `signer`, members, every signer's held-out answers, photos with no hand
    per signer) from the bundled recogniser's build cache; stops if the cache is not that build's."""
    from build_recognizer import PHOTO_SETS, readings_file
    from signlens.data.landmarks import load_landmark_file
    from signlens.engine.checkpoint import load_checkpoint
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.study.recognizer.loso import (
        fold_dir,
        fold_rows,
        is_pixel,
        load_readings,
        member_config,
        run_loso,
    )

    built = load_checkpoint(bundled_recognizer_path())["calibration"]
    members, data = built["members"], built["build"]["data"]
    if any(is_pixel(m) for m in members):
        raise SystemExit(
            "the bundled recogniser has a pixel member: this benchmark serves landmark members only"
        )
    files = []
    for name in PHOTO_SETS:
        for change in (None, *built["build"]["changes"]):
            key = name + (f"-{change}" if change else "")
            if key not in data:
                continue
            file = readings_file(ROOT / WORK, name, change)
            if not file.is_file() or load_landmark_file(file)["meta"].get("digest") != data[key]["digest"]:
                raise SystemExit(f"{file} is not the readings the bundled recogniser was built from")
            files.append(file)
    readings = load_readings(files, member_config(members[0], 1).landmarks.points)
    signers = sorted(set(readings.signers))
    if signer not in signers:
        raise SystemExit(f"--signer: {signer} is none of the build's signers ({', '.join(signers)})")
    # The build's fold runs, found by the names run_loso gives them (folds.json lists whichever LOSO ran
    # last, of any recipe), linked into a folder of our own: run_loso finds every run finished there, so
    # it trains nothing, and its folds.json goes there, not over the build's.
    runs = {}
    for s in signers:
        for m in members:
            run = fold_dir(ROOT / WORK / "loso", m, readings, fold_rows(readings, m, s))
            if not (run / "fold.done").is_file():
                raise SystemExit(f"no finished fold run {run}: run scripts/build_recognizer.py")
            (folder / run.name).symlink_to(run, target_is_directory=True)
            runs.setdefault(s, []).append(run / "best.pt")
    folds, misses = run_loso(readings, members, folder, threads=1, log=lambda *_, **__: None)
    return runs[signer], members, folds, misses


def fold_runtime(signer: str, folder: Path, page: bool = True) -> tuple[Path, Path | None, dict]:
    """(runtime bundle graph, page graph, calibration record) of the fold ensemble that never saw `signer`,
    with the rule chosen on the other signers' held-out answers; `page=False`: no page graph (None)."""
    from signlens.engine.checkpoint import load_checkpoint, save_checkpoint
    from signlens.engine.ensemble import ensemble_checkpoint
    from signlens.export.recognizer_graph import export_recognizer
    from signlens.export.runtime_bundle import export_runtime
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.study.recognizer.loso import calibration_record

    (folder / "folds").mkdir()
    runs, members, folds, misses = held_out_answers(signer, folder / "folds")
    others = [f for f in folds if f["signer"] != signer]
    record = calibration_record(others, {s: n for s, n in misses.items() if s != signer}, members)
    # Plain Python values only, as the build writes its record (numpy scalars would not load).
    record = json.loads(json.dumps(record, default=lambda x: x.item() if hasattr(x, "item") else str(x)))
    record["chosen_without"] = signer
    payload = {**ensemble_checkpoint(runs), "calibration": record}
    payload["views"] = load_checkpoint(bundled_recognizer_path()).get("views", ["photo"])
    weights = save_checkpoint(folder / f"loso-{signer}.pt", payload)
    export_runtime(weights, folder / "runtime")
    if not page:
        return folder / "runtime" / "recognizer.onnx", None, record
    graph = folder / "page" / "recognizer.onnx"
    graph.parent.mkdir()
    report = export_recognizer(weights, graph, parity_samples=256)
    if not report["parity"]["passed"]:
        raise SystemExit(f"the fold graph failed its parity check: {report['parity']}")
    return folder / "runtime" / "recognizer.onnx", graph, record


def clip(signer: str, words: list[str], rate: float, rng: np.random.Generator, path: Path) -> float:
    """Writes the clip (see the module doc); returns its length in seconds."""
    from serve_helpers import write_y4m

    frames = clip_frames(signer, words, rate, rng)
    write_y4m(path, frames, FPS)
    return len(frames) / FPS


def clip_frames(signer: str, words: list[str], rate: float, rng: np.random.Generator) -> list[np.ndarray]:
    """The clip's frames (RGB, FPS a second; see the module doc)."""
    import cv2

    from build_recognizer import found_boxes, readings_file
    from signlens.data.images import decode_image
    from signlens.data.sources import data_root
    from signlens.pipeline.smoothing import REPEAT_SHIFT

    folder = data_root() / "community-signers" / signer
    boxes = found_boxes(readings_file(ROOT / WORK, "community-signers"))  # the hand the build's search found

    def frame(letter: str, slide: bool) -> np.ndarray:
        takes = sorted((folder / letter).glob("*.jpg"))
        if slide:  # a take whose hand the search found, to know how far to slide it
            takes = [t for t in takes if f"{signer}/{letter}/{t.name}" in boxes]
        take = takes[rng.integers(len(takes))]
        rgb = decode_image(take)
        scale = WIDTH / rgb.shape[1]
        rgb = cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
        if not slide:
            return rgb
        x0, y0, x1, y1 = (scale * v for v in boxes[f"{signer}/{letter}/{take.name}"])
        shift = 2 * REPEAT_SHIFT * max(x1 - x0, y1 - y0) * (1 if x0 + x1 < WIDTH else -1)  # to the middle
        move = np.float32([[1, 0, shift], [0, 1, 0]])
        return cv2.warpAffine(rgb, move, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE)

    held = [frame(c, i > 0 and word[i - 1] == c) for word in words for i, c in enumerate(word)]
    room = np.full_like(held[0], np.mean([h.mean((0, 1)) for h in held], 0).astype(np.uint8))
    frames, k = [room] * round(LEAD * FPS), 0
    for w, word in enumerate(words):
        if w:
            frames += [room] * round(BETWEEN * FPS)
        for _ in word:  # letter k takes its share of a steady pace: 7 or 8 frames at 2 letters/s
            frames += [held[k]] * (int((k + 1) * FPS / rate) - int(k * FPS / rate))
            k += 1
    frames += [room] * round(TAIL * FPS)
    return frames


def serve(runtime: Path, page: Path):
    """`signlens serve` on the fold's runtime bundle, in a thread on 127.0.0.1, its page's on-device
    graph and session.json (the fold's answer rule, as the build writes it) answered by the fold's:
    (url, server, thread)."""
    from fastapi.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    from signlens.pipeline.session import device_definition
    from signlens.serve.app import create_app
    from signlens.serve.settings import Settings

    app = create_app(Settings(weights=str(runtime)))
    answers = {
        "recognizer.onnx": lambda _: FileResponse(page),
        "recognizer.onnx.json": lambda _: FileResponse(page.with_name(page.name + ".json")),
        "session.json": lambda _: JSONResponse(device_definition(runtime)),
    }
    for name, answer in answers.items():  # ahead of the /static mount
        app.router.routes.insert(0, Route(f"/static/ondevice/{name}", answer))
    return serve_app(app, ready_seconds=180)


def run_mode(driver, url: str, mode: str, seconds: float) -> dict:
    """One pass of the clip through the page in `mode` (a fresh load): the spelled text and timings."""
    from serve_helpers import text, wait_for

    driver.get_log("browser")
    driver.get(f"{url}/?source={mode}")
    if mode == "device":
        wait_for(driver, lambda: "Ready" in text(driver, "status"), 180, "the models ready on the device")
    else:
        wait_for(driver, lambda: driver.find_elements("id", "mode"), 60, "the mode choice shown")
    driver.find_element("id", "start").click()
    wait_for(driver, lambda: driver.execute_script("return window.__bench.playing"), 60, "the camera")
    stats = "return import('/static/device-recognizer.mjs').then((m) => m.deviceStats().frames)"
    frames_at = lambda: driver.execute_async_script(  # noqa: E731
        f"const done = arguments[0]; (async () => {{ {stats} }})().then(done);"
    )
    since_playing = "return (performance.now() - window.__bench.playing) / 1000"
    started = None
    deadline = time.monotonic() + seconds + 30  # bounded, should the page's clock stall
    while time.monotonic() < deadline:
        elapsed = driver.execute_script(since_playing)
        if started is None and elapsed >= 1.0:
            started = (elapsed, frames_at() if mode == "device" else 0)
        if elapsed >= seconds - 0.5:  # in the clip's empty tail: the last letter has had its time
            break
        time.sleep(0.2)
    ended = (driver.execute_script(since_playing), frames_at() if mode == "device" else 0)
    spelled = text(driver, "spelled")
    probe = driver.execute_script("return window.__bench")
    driver.find_element("id", "start").click()  # stop the camera
    trips = []
    for answered in probe["answered"]:  # one frame in flight: the last frame sent before the answer
        before = [s for s in probe["sent"] if s <= answered]
        if before:
            trips.append(answered - before[-1])
    span = ended[0] - (started or ended)[0]
    if mode == "device":
        fps = (ended[1] - started[1]) / span if started and span > 0 else 0.0
    else:
        in_span = [a for a in probe["answered"] if a >= probe["playing"] + 1000 * (started or ended)[0]]
        fps = len(in_span) / span if span > 0 else 0.0
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    device = {}
    if mode == "device":  # the page's own per-frame times: what it could read, beside what it did
        device = driver.execute_async_script(
            """const done = arguments[0];
            import('/static/device-recognizer.mjs').then((m) => { const s = m.deviceStats();
              done({path: s.path, landmark: s.landmarkMs, classify: s.classifyMs}); });"""
        )
        device = {
            "landmark_path": device["path"],
            "landmark_ms_p50": float(np.median(device["landmark"])) if device["landmark"] else None,
            "classify_ms_p50": float(np.median(device["classify"])) if device["classify"] else None,
        }
    return {
        "spelled": spelled,
        "round_trip_ms_p50": float(np.median(trips)) if trips else None,
        "round_trips": len(trips),
        "skipped": probe["skipped"],
        "frames_per_second": fps,
        "console_errors": errors,
        **device,
    }


def checked_words(text: str, rates: list[float]) -> list[str]:
    """--words as a list (static letters, at most MOST_LETTERS), once --rates is in bounds too."""
    words = [w.strip().upper() for w in text.split(",") if w.strip()]
    if not words or any(set(w) - STATIC_LETTERS for w in words):
        raise SystemExit(f"--words: letters from {''.join(sorted(STATIC_LETTERS))} only (no J, Z)")
    if sum(map(len, words)) > MOST_LETTERS:
        raise SystemExit(f"--words: at most {MOST_LETTERS} letters in all")
    if not 0.25 <= min(rates) <= max(rates) <= 4:
        raise SystemExit("--rates: 0.25 to 4 letters a second")
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--signer", default="mariia", help="a community signer of the bundled recogniser's build"
    )
    parser.add_argument("--words", default=WORDS, help="comma-separated, static letters only")
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 2.0], help="letters a second")
    parser.add_argument("--modes", nargs="+", default=["server", "device"], choices=["server", "device"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    words = checked_words(args.words, args.rates)
    from serve_helpers import chromium_with_fake_camera
    from signlens.data.sources import data_root
    from signlens.io import write_json
    from signlens.pipeline.session import device_definition

    if not (data_root() / "community-signers" / args.signer).is_dir():
        raise SystemExit(f"--signer: no community-signers/{args.signer} under {data_root()}")

    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="browser-pace-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        runtime, page, record = fold_runtime(args.signer, tmp)
        rule = device_definition(runtime)["answer_rule"]  # what the page and the server answer by
        took = time.perf_counter() - t0
        print(
            f"fold ensemble without {args.signer} exported in {took:.0f} s; rule: {json.dumps(rule)}",
            flush=True,
        )
        url, server, thread = serve(runtime, page)
        try:
            for rate in args.rates:
                seconds = clip(args.signer, words, rate, rng, tmp / f"clip-{rate:g}.y4m")
                driver = chromium_with_fake_camera(
                    tmp / f"profile-{rate:g}", tmp / f"clip-{rate:g}.y4m", "1280,900"
                )
                try:
                    driver.set_script_timeout(60)
                    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
                    for mode in args.modes:
                        out = run_mode(driver, url, mode, seconds)
                        truth = "".join(words)
                        right, wrong, extra = score(truth, out["spelled"].replace(" ", ""))
                        row = {"mode": mode, "rate": rate, "truth": " ".join(words), **out,
                               "right": right / len(truth), "wrong_per_50": 50 * (wrong + extra) / len(truth)}  # fmt: skip
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                finally:
                    driver.quit()
        finally:
            server.should_exit = True
            thread.join(30)
    print(
        f"\n{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; held out: {args.signer}"
    )
    print(
        "| mode | letters/s | spelled | right | wrong per 50 | round trip p50 | frames/s | console errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        trip = f"{r['round_trip_ms_p50']:.0f} ms" if r["round_trip_ms_p50"] is not None else "-"
        print(
            f"| {r['mode']} | {r['rate']:g} | {r['spelled'] or '(nothing)'} | {r['right']:.0%} | "
            f"{r['wrong_per_50']:.1f} | {trip} | {r['frames_per_second']:.1f} | {len(r['console_errors'])} |"
        )
    for r in rows:
        if r["mode"] == "device":
            print(
                f"device, {r['rate']:g} letters/s: landmarks ({r['landmark_path']} path) p50 "
                f"{r['landmark_ms_p50']:.1f} ms, classifier p50 {r['classify_ms_p50']:.1f} ms a frame"
            )
    if args.json:
        write_json(args.json, {"signer": args.signer, "words": words, "rule": rule, "rows": rows})


if __name__ == "__main__":
    main()
