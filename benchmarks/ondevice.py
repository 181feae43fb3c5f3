"""On-device recognition in headless Chromium: parity, per-stage time, bytes, time to first answer and
accuracy against the Python recogniser (the figures in docs/benchmarks.md, "On-device recognition").
Phases: parity (the served graph vs Python), live (the fake camera; --path picks the landmark path),
loso (fold graphs on held-out signers' photos vs the Python recogniser, and landmark agreement:
benchmarks/ondevice_loso.py), photos (ayuraj photos, in-sample).

Needs `make install` (the page's on-device files), Debian's chromium and chromium-driver, and the
shared photos. Every wait is bounded. Prints the figures and writes them as JSON.

    SIGNLENS_DATA=../shared/data .venv/bin/python benchmarks/ondevice.py [--landmarks runs/ondevice/ayuraj.npz]
        [--phases parity,live,loso] [--path cpu|webgl] [--loso-per-letter 1]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "signlens" / "serve" / "static"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]  # fmt: skip


def serve(settings):
    """`signlens serve`'s app on 127.0.0.1 (a free port) in a thread: (url, server, thread)."""
    from signlens.serve.app import create_app

    return serve_app(create_app(settings))


def serve_app(app, ready_seconds: float = 120):
    """An ASGI app on 127.0.0.1 (a free port) in a thread, once its health check answers:
    (url, server, thread)."""
    import httpx
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/health", timeout=5).status_code == 200:
                return url, server, thread
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not become ready in {ready_seconds:.0f} s")


def browser(profile: Path, clip: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--use-file-for-fake-video-capture={clip}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_script_timeout(600)
    return driver


def run_js(driver, body: str, *args):
    """An async function body in the page; `args` as arguments[0..]; errors come back as SystemExit."""
    script = f"""const done = arguments[arguments.length - 1];
    (async (...args) => {{ {body} }})(...Array.from(arguments).slice(0, -1))
      .then(done, (e) => done({{error: String(e && e.stack || e)}}));"""
    out = driver.execute_async_script(script, *args)
    if isinstance(out, dict) and "error" in out:
        raise SystemExit(f"in the browser: {out['error']}")
    return out


def clip_of(word: str, path: Path, seconds_per_letter: float) -> Path:
    """A fake-camera clip of one signer's photos (320x240) spelling `word`, then an empty room."""
    sys.path.insert(0, str(ROOT / "tests"))
    from serve_helpers import photo, write_y4m
    from signlens.data.images import decode_image

    fps, frames = 10, []
    for letter in word:
        takes = [decode_image(photo("user_5", f"{letter}{i}")) for i in range(10)]
        frames += [takes[i % 10] for i in range(int(seconds_per_letter * fps))]
    frames += [np.full_like(frames[0], 128)] * (2 * fps)
    return write_y4m(path, frames, fps)


def graph_parity(driver, data: dict, names: list[str]) -> dict:
    """The served graph in onnxruntime-web, one hand per call, on every landmark set; vs Python."""
    from signlens.export.recognizer_graph import graph_inputs, parity, python_probabilities
    from signlens.inference import LandmarkClassifier
    from signlens.pipeline.bundle import bundled_recognizer_path

    feeds = graph_inputs(data, names)
    payload = {k: {"dims": list(v.shape[1:]), "data": v.ravel().tolist()} for k, v in feeds.items()}
    out = run_js(
        driver,
        """const m = await import('/static/device-recognizer.mjs'); await m.loadModels();
        const [inputs, rows] = args; const probs = [], ms = [];
        for (let r = 0; r < rows; r++) {
          const one = {};
          for (const [name, {dims, data}] of Object.entries(inputs)) {
            const size = dims.reduce((a, b) => a * b, 1);
            one[name] = data.slice(r * size, (r + 1) * size);
          }
          // The graph's inputs as MediaPipe's hand, read by the page's own classifyHand.
          const points = (a) => Array.from({length: 21}, (_, i) => a ? {x: a[3 * i], y: a[3 * i + 1], z: a[3 * i + 2]} : {x: 0, y: 0, z: 0});
          const hand = {multiHandLandmarks: [points(one.image_landmarks)], multiHandWorldLandmarks: [points(one.world_landmarks)],
            multiHandedness: [{label: one.is_left && one.is_left[0] ? 'Left' : 'Right'}]};
          const [w, h] = one.image_size || [1, 1];
          const t0 = performance.now(); const p = await m.classifyHand(hand, w, h); ms.push(performance.now() - t0);
          probs.push(Array.from(p));
        }
        return {probs, ms};""",
        payload,
        len(data["labels"]),
    )
    reference = python_probabilities(LandmarkClassifier.from_checkpoint(bundled_recognizer_path()), data)
    ms = np.asarray(out["ms"][20:])  # the first calls warm the WebAssembly up
    return {
        **parity(reference, np.asarray(out["probs"], np.float32)),
        "classifier_ms_p50": float(np.percentile(ms, 50)),
        "classifier_ms_p95": float(np.percentile(ms, 95)),
    }


def live_run(driver, url: str, seconds: float, path: str) -> dict:
    """The device source on the fake camera for `seconds`: per-stage times, first answer, bytes."""
    driver.get(url + (f"/?landmarks={path}" if path != "auto" else "/"))
    return run_js(
        driver,
        """const m = await import('/static/source-device.mjs');
        const {deviceStats} = await import('/static/device-recognizer.mjs');
        const video = document.getElementById('video');
        video.srcObject = await navigator.mediaDevices.getUserMedia({video: true}); await video.play();
        const letters = [];
        const source = m.createDeviceSource({onResult: (r) => { if (r.written) letters.push(r.written); },
                                             onStatus: () => {}});
        source.configure({threshold: 0.5, hold: 0.5, pause: 1.0, window: 0.3});
        const t0 = performance.now(); await source.start(video);
        while (performance.now() - t0 < args[0] * 1000) await new Promise((r) => setTimeout(r, 250));
        source.stop();
        const s = deviceStats();
        const bytes = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
          .reduce((sum, e) => sum + (e.transferSize || 0), 0);
        return {load_ms: s.loadMs, first_answer_ms: s.firstAnswerMs, start_ms: s.startMs, frames: s.frames, path: s.path,
                landmark_ms: s.landmarkMs, classify_ms: s.classifyMs, letters, bytes};""",
        seconds,
    )


def photo_accuracy(driver, data: dict, per_letter: int) -> dict:
    """@mediapipe/hands + the graph in the browser on ayuraj photos (a miss retried with a black border, as
    HandDetector does), against the Python landmarks of the same photos (photo view) through the same
    graph: detection, top-1 agreement and accuracy (in-sample: the bundled model saw these signers)."""
    from signlens.data.sources import data_root
    from signlens.export.recognizer_graph import graph_inputs, onnx_session, run_session

    folder = data_root() / "asl_dataset"
    names = [str(c) for c in data["class_names"]]
    rows = {
        str(s): i for i, (s, v) in enumerate(zip(data["sources"], data["views"], strict=True)) if v == "photo"
    }
    rng = np.random.default_rng(0)
    chosen = []
    for letter in "abcdefghiklmnopqrstuvwxy":
        files = sorted((folder / letter).glob("*.jpeg"))
        chosen += [files[i] for i in rng.choice(len(files), size=min(per_letter, len(files)), replace=False)]
    graph = STATIC / "ondevice" / "recognizer.onnx"
    meta = json.loads((STATIC / "ondevice" / "recognizer.onnx.json").read_text())
    session = onnx_session(graph)
    results = []
    for f in chosen:
        uri = "data:image/jpeg;base64," + base64.b64encode(f.read_bytes()).decode()
        out = run_js(
            driver,
            """const m = await import('/static/device-recognizer.mjs'); const {blankFrame} = await import('/static/hand-landmarks.mjs'); await m.loadModels();
            const img = new Image(); img.src = args[0]; await img.decode();
            const t0 = performance.now(); let r = await m.landmarks(blankFrame()).then(() => m.landmarks(img)); let [w, h] = [img.naturalWidth, img.naturalHeight];
            const none = (x) => !x || !x.multiHandLandmarks || !x.multiHandLandmarks.length;
            if (none(r)) {  // as HandDetector on a miss: again with a black border of half the image size
              const b = Math.round(0.5 * Math.max(w, h)), c = document.createElement('canvas');
              c.width = w + 2 * b; c.height = h + 2 * b;
              const g = c.getContext('2d'); g.fillRect(0, 0, c.width, c.height); g.drawImage(img, b, b);
              r = await m.landmarks(blankFrame()).then(() => m.landmarks(c)); [w, h] = [c.width, c.height];
            }
            const ms = performance.now() - t0;
            if (none(r)) return {found: false, ms};
            const p = await m.classifyHand(r, w, h);
            return {found: true, ms, probs: Array.from(p)};""",
            uri,
        )
        truth = f.parent.name.upper()
        row = rows.get(f"{f.parent.name}/{f.name}")
        python = None
        if row is not None:
            one = {k: v[row : row + 1] for k, v in graph_inputs(data, meta["inputs"]).items()}
            python = meta["class_names"][int(run_session(session, one)[0].argmax())]
        device = meta["class_names"][int(np.argmax(out["probs"]))] if out["found"] else None
        results.append({"truth": truth, "device": device, "python": python, "ms": out["ms"]})
    both = [r for r in results if r["device"] and r["python"]]
    return {
        "photos": len(results),
        "found_device": sum(r["device"] is not None for r in results) / len(results),
        "found_python": sum(r["python"] is not None for r in results) / len(results),
        "agreement_when_both_found": sum(r["device"] == r["python"] for r in both) / max(1, len(both)),
        "accuracy_device": sum(r["device"] == r["truth"] for r in results) / len(results),
        "accuracy_python": sum(r["python"] == r["truth"] for r in results) / len(results),
        "photo_landmark_ms_p50": float(np.median([r["ms"] for r in results[1:]])),
        "classes": names,
    }


def report(name: str, record: dict, args) -> None:
    """Print one phase's figures as soon as it ends (and save everything so far)."""
    args.out.write_text(json.dumps(record, indent=1))
    if name == "parity":
        p = record["parity"]
        print(f"parity, Python vs onnxruntime-web in Chromium, {p['samples']} landmark sets: top-1 "
              f"{100 * p['top1_agreement']:.2f}%, max |prob diff| {p['max_abs_prob_diff']:.2e}; classifier graph "
              f"per call p50 {p['classifier_ms_p50']:.2f} ms, p95 {p['classifier_ms_p95']:.2f} ms", flush=True)  # fmt: skip
    elif name == "live":
        live = record["live"]
        lm, cl = np.asarray(live["landmark_ms"]), np.asarray(live["classify_ms"])
        first = live["first_answer_ms"]
        print(f"live ({args.seconds:.0f} s, landmarks on the {live['path']} path): models loaded and warmed up in {live['load_ms'] / 1000:.1f} s; "
              f"landmarks p50 {np.median(lm):.0f} ms/frame ({1000 / np.median(lm):.2f} frames/s); classifier "
              f"p50 {np.median(cl):.1f} ms; {live['frames']} frames; letters {''.join(live['letters'])!r}; first "
              f"answer {first / 1000 if first else float('nan'):.1f} s after opening the page; bytes on first "
              f"visit {live['bytes'] / 1e6:.1f} MB (service-worker cache {record['precache_bytes'][live['path']] / 1e6:.1f} MB)",
              flush=True)  # fmt: skip
    elif name == "loso":
        lo = record["loso"]
        print(f"LOSO ({lo['photos']} photos of {lo['signers']} held-out signers): on the device {100 * lo['accuracy_device']:.1f}% "
              f"right, Python {100 * lo['accuracy_python_predict']:.1f}% (predict's rule; first reading "
              f"{100 * lo['accuracy_python_first_reading']:.1f}%); hand found {100 * lo['found_device']:.1f}% vs "
              f"{100 * lo['found_python']:.1f}%; same letter {100 * lo['same_letter_when_both_found']:.1f}% where both "
              f"found one; landmarks on {lo['landmarks_compared']} photos: mean |diff| {lo['image_mean_abs_diff']:.4f} "
              f"of the image (p95 {lo['image_mean_abs_diff_p95']:.4f}), world {1000 * lo['world_mean_abs_diff_m']:.2f} mm, "
              f"same handedness {100 * lo['same_handedness']:.1f}%; {lo['photo_ms_p50']:.0f} ms a photo", flush=True)  # fmt: skip
    else:
        ph = record["photos"]
        print(f"photos ({ph['photos']}): hand found {100 * ph['found_device']:.1f}% in the browser vs "
              f"{100 * ph['found_python']:.1f}% in Python; top-1 agreement {100 * ph['agreement_when_both_found']:.1f}%; "
              f"accuracy {100 * ph['accuracy_device']:.1f}% vs {100 * ph['accuracy_python']:.1f}%; landmarks "
              f"p50 {ph['photo_landmark_ms_p50']:.0f} ms a photo", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=Path, default=ROOT / "runs" / "ondevice" / "ayuraj.npz")
    parser.add_argument("--phases", default="parity,live,loso", help="any of parity, live, loso, photos")
    parser.add_argument(
        "--path", default="auto", choices=("auto", "cpu", "webgl"), help="landmark path [page's]"
    )
    parser.add_argument("--loso-per-letter", type=int, default=1, help="photos per letter and signer (loso)")
    parser.add_argument("--loso-signers", default="", help="comma-separated held-out signers (loso) [all]")
    parser.add_argument(
        "--readings", type=Path, nargs="+", default=None,
        help="the Python readings (loso) [the recogniser build's cache: the files its record names]",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=60.0, help="live run on the fake camera")
    parser.add_argument("--per-letter", type=int, default=2, help="photos per letter for the accuracy check")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "ondevice" / "benchmark.json")
    args = parser.parse_args()
    from signlens.data.landmarks import load_landmark_file
    from signlens.serve.settings import Settings
    from signlens.study.recognizer.extract import extract_landmarks

    if not (STATIC / "ondevice" / "recognizer.onnx").is_file():
        raise SystemExit("no on-device build: run `make install` first")
    if not args.landmarks.is_file():
        print(f"extracting landmarks (photo and mirrored views) into {args.landmarks} ...", flush=True)
        extract_landmarks("asl-dataset", args.landmarks, views=("photo", "mirrored"))
    data = load_landmark_file(args.landmarks)
    work = args.out.parent
    work.mkdir(parents=True, exist_ok=True)
    clip = clip_of("LIVE", work / "clip.y4m", seconds_per_letter=4.0)
    files = json.loads((STATIC / "ondevice" / "files.json").read_text())
    record = {
        "command": " ".join(sys.argv),
        "path": args.path,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.platform()}, {os.cpu_count()} cores",
        "load_avg_before": os.getloadavg(),
        # What a visit caches for offline use: the common files and one landmark path's.
        "precache_bytes": {
            path: sum((STATIC / "ondevice" / f).stat().st_size for f in files["common"] + files[path])
            for path in ("cpu", "webgl")
        },
    }
    print(f"load average before: {record['load_avg_before'][0]:.2f}", flush=True)
    meta = json.loads((STATIC / "ondevice" / "recognizer.onnx.json").read_text())
    url, server, thread = serve(Settings())
    try:
        for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
            driver = browser(work / f"profile-{phase}", clip)  # a fresh profile: a first visit
            try:
                if phase == "live":
                    record["live"] = live_run(driver, url, args.seconds, args.path)
                else:
                    driver.get(url + (f"/?landmarks={args.path}" if args.path != "auto" else "/"))
                    if phase == "parity":
                        record["parity"] = graph_parity(driver, data, meta["inputs"])
                    elif phase == "loso":
                        from ondevice_loso import loso_phase

                        record["loso"] = loso_phase(
                            driver,
                            run_js,
                            args.loso_per_letter,
                            work / "loso",
                            args.readings,
                            args.loso_signers,
                        )
                    else:
                        record["photos"] = photo_accuracy(driver, data, args.per_letter)
            finally:
                driver.quit()
            report(phase, record, args)
    finally:
        server.should_exit = True
        thread.join(30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
