"""Put the on-device mode's files where `signlens serve` serves them (run by `make install`).

- the browser packages pinned in web/package-lock.json (installed there by `npm ci`): @mediapipe/hands
  (its models and WebAssembly) and onnxruntime-web's WebAssembly build;
- the bundled recogniser exported as one ONNX graph (signlens export), with its report (class names).

All go to src/signlens/serve/static/ondevice/ (generated, not committed), so a page loads nothing from
any other host. Usage: .venv/bin/python scripts/build_ondevice.py [--weights CKPT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
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
    "ort": [
        (MODULES / "onnxruntime-web" / "dist", name)
        for name in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
    ],
}


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
    from signlens.pipeline.recognizer import bundled_recognizer_path

    staging = OUT.with_name(".ondevice-staging")
    shutil.rmtree(staging, ignore_errors=True)
    for sub, files in FILES.items():
        (staging / sub).mkdir(parents=True)
        for folder, name in files:
            shutil.copy2(folder / name, staging / sub / name)
    report = export_recognizer(args.weights or bundled_recognizer_path(), staging / "recognizer.onnx")
    if not report["parity"]["passed"]:
        print(
            f"build_ondevice: the exported graph failed its parity check: {report['parity']}", file=sys.stderr
        )
        return 1
    versions = {
        name: json.loads((MODULES / name / "package.json").read_text())["version"]
        for name in ("@mediapipe/hands", "onnxruntime-web")
    }
    (staging / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    # What the service worker caches at install (static/sw.js): all but the non-SIMD WebAssembly, which
    # only browsers without WebAssembly SIMD load (and then cache as they fetch it).
    offline = sorted(
        str(f.relative_to(staging))
        for f in staging.rglob("*")
        if f.is_file() and "_solution_wasm_bin" not in f.name
    )
    (staging / "files.json").write_text(json.dumps(offline, indent=1) + "\n")
    # Swap the folder in whole, so a server never serves a half-copied set.
    old = OUT.with_name(".ondevice-old")
    shutil.rmtree(old, ignore_errors=True)
    if OUT.exists():
        OUT.rename(old)
    staging.rename(OUT)
    shutil.rmtree(old, ignore_errors=True)
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"on-device files in {OUT.relative_to(ROOT)}: {size / 1e6:.1f} MB ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
