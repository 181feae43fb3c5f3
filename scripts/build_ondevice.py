"""Put the on-device mode's files where `signlens serve` serves them (run by `make install`).

- the browser packages pinned in web/package-lock.json (installed there by `npm ci`): @mediapipe/hands
  (its models and WebAssembly: the landmark stage on a GPU), @mediapipe/tasks-vision's WebAssembly (the
  landmark stage on the CPU) and onnxruntime-web's WebAssembly build;
- hand_landmarker.task for tasks-vision, assembled from the mediapipe Python package's own palm detector
  and landmark model (the ones the Python pipeline runs), so both paths read hands with the same weights;
- the bundled recogniser exported as one ONNX graph (signlens export), with its report (class names),
  calibrated by the answer rule's temperature;
- session.json: the live session's settings as pipeline/session.py defines them, at the model's live
  threshold, and the answer rule (pipeline/answer.py) a video Recognizer of the model answers by, as
  data (the page's speller, sliders and letter gate read it in the on-device mode).

All go to src/signlens/serve/static/ondevice/ (generated, not committed), so a page loads nothing from
any other host. Usage: .venv/bin/python scripts/build_ondevice.py [--weights CKPT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "web" / "node_modules"
OUT = ROOT / "src" / "signlens" / "serve" / "static" / "ondevice"
# What the page loads: hands.js fetches the rest of its folder by name (locateFile), and
# onnxruntime-web's WebAssembly build needs its loader and binary beside it.
FILES = {
    "mediapipe": [
        (MODULES / "@mediapipe" / "hands", name)
        for name in (
            "hands.js",
            "hands.binarypb",
            "hands_solution_packed_assets_loader.js",
            "hands_solution_packed_assets.data",
            "hands_solution_simd_wasm_bin.js",
            "hands_solution_simd_wasm_bin.wasm",
            "hands_solution_wasm_bin.js",
            "hands_solution_wasm_bin.wasm",
            "hand_landmark_full.tflite",  # model_complexity=1, as the Python recogniser
        )
    ],
    # tasks-vision: its module and WebAssembly (the SIMD build; the other only where SIMD is missing).
    "tasks": [
        (MODULES / "@mediapipe" / "tasks-vision", "vision_bundle.mjs"),
        *[
            (MODULES / "@mediapipe" / "tasks-vision" / "wasm", name)
            for name in (
                "vision_wasm_internal.js",
                "vision_wasm_internal.wasm",
                "vision_wasm_nosimd_internal.js",
                "vision_wasm_nosimd_internal.wasm",
            )
        ],
    ],
    "ort": [
        (MODULES / "onnxruntime-web" / "dist", name)
        for name in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
    ],
}

RULE_ATOL = 1e-6  # float32 rounding between the graph's softmax and numpy's
PACKAGES = ("@mediapipe/hands", "@mediapipe/tasks-vision", "onnxruntime-web")
# Which files each landmark path loads (the page caches those it used for offline; static/offline.mjs).
PATHS = {"cpu": "tasks/", "webgl": "mediapipe/"}


def hand_landmarker_task(out: Path) -> dict[str, str]:
    """tasks-vision's model bundle (a zip of hand_detector.tflite and hand_landmarks_detector.tflite) from
    the pip mediapipe's palm_detection_full and hand_landmark_full: the models the Python pipeline runs
    with model_complexity=1, with their TFLite metadata (input normalisation) as they ship."""
    import mediapipe

    modules = Path(mediapipe.__file__).parent / "modules"
    members = {
        "hand_detector.tflite": modules / "palm_detection" / "palm_detection_full.tflite",
        "hand_landmarks_detector.tflite": modules / "hand_landmark" / "hand_landmark_full.tflite",
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as bundle:  # stored: tasks-vision reads it in place
        for name, source in members.items():
            bundle.write(source, name)
    return {
        "mediapipe": mediapipe.__version__,
        **{f"{n} (md5)": hashlib.md5(p.read_bytes()).hexdigest() for n, p in members.items()},
    }


def rule_check(graph: Path, rule: dict) -> float:
    """The largest difference between the graph's probabilities and `pipeline.answer.answer`'s on the
    graph's own log-probabilities with the page's rule, on reproducible random hands."""
    import numpy as np

    from signlens.export.recognizer_graph import graph_inputs, onnx_session, synthetic_hands
    from signlens.inference.graph import LOG_OUTPUT, OUTPUT
    from signlens.pipeline.answer import AnswerRule, answer

    session = onnx_session(graph)
    names = [i.name for i in session.get_inputs()]
    probs, logits = session.run([OUTPUT, LOG_OUTPUT], graph_inputs(synthetic_hands(256), names))
    python = answer(logits, None, None, None, AnswerRule(**{**rule, "fusion": None})).probs
    return float(np.abs(python.astype(np.float64) - probs).max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None, help="recogniser checkpoint [bundled]")
    args = parser.parse_args()
    missing = [
        str(folder / name)
        for files in FILES.values()
        for folder, name in files
        if not (folder / name).is_file()
    ]
    if missing:
        print(f"build_ondevice: missing {missing[0]} (run `npm ci` in web/)", file=sys.stderr)
        return 2
    from signlens.export.recognizer_graph import export_recognizer
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.pipeline.session import device_definition

    staging = OUT.with_name(".ondevice-staging")
    shutil.rmtree(staging, ignore_errors=True)
    for sub, files in FILES.items():
        (staging / sub).mkdir(parents=True)
        for folder, name in files:
            shutil.copy2(folder / name, staging / sub / name)
    models = hand_landmarker_task(staging / "tasks" / "hand_landmarker.task")
    session = device_definition(args.weights)
    rule = session["answer_rule"]
    graph = staging / "recognizer.onnx"
    weights = args.weights or bundled_recognizer_path()
    report = export_recognizer(weights, graph, temperature=rule["temperature"])
    if not report["parity"]["passed"]:
        print(
            f"build_ondevice: the exported graph failed its parity check: {report['parity']}", file=sys.stderr
        )
        return 1
    off = rule_check(graph, rule)
    if off > RULE_ATOL:
        print(
            f"build_ondevice: the graph's probabilities are {off:.1e} off the answer rule's", file=sys.stderr
        )
        return 1
    (staging / "session.json").write_text(json.dumps(session, indent=1) + "\n")
    versions = {
        name: json.loads((MODULES / name / "package.json").read_text())["version"] for name in PACKAGES
    }
    (staging / "versions.json").write_text(
        json.dumps({**versions, "hand_landmarker.task": models}, indent=2) + "\n"
    )
    # What the service worker caches at install (static/sw.js): the files every visit needs. Each
    # landmark path's files are cached by the page once it has loaded them (a visit loads one path, so
    # it downloads one), and the non-SIMD WebAssembly only where a browser without SIMD fetches it.
    everything = sorted(str(f.relative_to(staging)) for f in staging.rglob("*") if f.is_file())
    files = {
        "common": [f for f in everything if not f.startswith(tuple(PATHS.values()))],
        **{
            path: [
                f
                for f in everything
                if f.startswith(folder) and "_solution_wasm_bin" not in f and "nosimd" not in f
            ]
            for path, folder in PATHS.items()
        },
    }
    (staging / "files.json").write_text(json.dumps(files, indent=1) + "\n")
    # Swap the folder in whole, so a server never serves a half-copied set.
    old = OUT.with_name(".ondevice-old")
    shutil.rmtree(old, ignore_errors=True)
    if OUT.exists():
        OUT.rename(old)
    staging.rename(OUT)
    shutil.rmtree(old, ignore_errors=True)
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(
        f"on-device files in {OUT.relative_to(ROOT)}: {size / 1e6:.1f} MB ({versions}, mediapipe {models['mediapipe']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
