"""Write the runtime bundle (src/signlens/assets/recognizer.onnx, and recognizer-pixel.onnx when the model
has a pixel member) from the bundled checkpoint: what `predict`, `live` and `serve` run, in ONNX Runtime,
without torch (export.runtime_bundle). Run it after every rebuild of recognizer.pt (build_recognizer.py
does); the runtime refuses a bundle made from another checkpoint.

    .venv/bin/python scripts/export_runtime.py [--weights CKPT] [--out-dir DIR] [--landmarks FILE.npz]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    from signlens.errors import SignlensError
    from signlens.export.runtime_bundle import export_runtime
    from signlens.pipeline.bundle import bundled_recognizer_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None, help="recogniser checkpoint [bundled]")
    parser.add_argument("--out-dir", type=Path, default=None, help="folder [beside the checkpoint]")
    parser.add_argument("--landmarks", default=None, help="a landmark file (.npz) for the parity check too")
    args = parser.parse_args()
    weights = args.weights or bundled_recognizer_path()
    try:
        report = export_runtime(weights, args.out_dir or weights.parent, args.landmarks)
    except SignlensError as exc:
        print(f"export_runtime: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
