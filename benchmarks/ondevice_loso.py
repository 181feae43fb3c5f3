"""The on-device pipeline on the leave-one-signer-out protocol (benchmarks/ondevice.py's "loso" phase).

For each photo signer, the fold models of the bundled recogniser's landmark members that never saw that
signer (the recogniser build's LOSO runs under runs/recognizer/loso, found by the names study.recognizer.loso
gives them, not by folds.json, which the latest LOSO run of any recipe rewrites) are exported as one
graph, as the page's graph is exported from the bundled recogniser. The page has no pixel member, so
neither side here has one: the comparison is of the same function. A bounded sample of that signer's
photos (per letter) goes through headless Chromium: the page's landmark stage (the path it picks, or
?landmarks=) and the fold graph in onnxruntime-web. The same photos' Python answers come from the same
fold models on the Python pipeline's readings (the build's cache, changed copies included where the
build trained on them), through predict's rule (study.recognizer.loso.as_predict). The same pass compares the
browser's landmarks with the Python ones on every photo both read in full view.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_readings(record: dict, cache: Path) -> list[Path]:
    """The reading files the bundled recogniser was built from (its record's data: each photo set, and
    each set's changed copies, keyed SET or SET-CHANGE), in the build's cache."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_recognizer import PHOTO_SETS, readings_file

    files = []
    for key in record["build"]["data"]:
        name = next(n for n in PHOTO_SETS if key == n or key.startswith(n + "-"))
        files.append(readings_file(cache, name, key[len(name) + 1 :] or None))
    return files


def bundled_folds(readings, members: list[str], work: Path) -> dict[str, list[str]]:
    """{signer: fold run folders} of the bundled recogniser's landmark members, where pipeline.run_loso
    trains them."""
    from signlens.study.recognizer.loso import fold_dir, fold_rows, is_pixel

    folds = {}
    for signer in sorted(set(readings.signers)):
        folds[signer] = [
            str(fold_dir(work, m, readings, fold_rows(readings, m, signer)))
            for m in members
            if not is_pixel(m)
        ]
        missing = [d for d in folds[signer] if not (ROOT / d / "fold.done").is_file()]
        if missing:
            raise SystemExit(f"no finished LOSO fold {missing[0]} (run benchmarks/recognizer_loso.py)")
    return folds


def fold_graph(signer: str, dirs: list[str], work: Path) -> Path:
    """The fold ensemble that never saw `signer`, exported as the page's graph is (cached by checkpoints)."""
    from signlens.engine.checkpoint import save_checkpoint
    from signlens.engine.ensemble import ensemble_checkpoint
    from signlens.export.recognizer_graph import export_recognizer

    checkpoints = [ROOT / d / "best.pt" for d in dirs]
    out = work / f"{signer}-{'+'.join(Path(d).name for d in dirs)}.onnx"  # by its fold runs
    newest = max(c.stat().st_mtime for c in checkpoints)
    if out.is_file() and out.stat().st_mtime > newest:
        return out
    weights = save_checkpoint(work / f"{signer}.pt", ensemble_checkpoint(checkpoints))
    report = export_recognizer(weights, out, parity_samples=256)
    if not report["parity"]["passed"]:
        raise SystemExit(f"the fold graph of {signer} failed its parity check: {report['parity']}")
    return out


def python_answers(readings, dirs: list[str], signer: str, temperature: float, second_below: float):
    """The fold ensemble's answers on the held-out signer's Python readings: {source: (predict, first)}."""
    from signlens.engine.ensemble import ensemble_checkpoint
    from signlens.inference import LandmarkClassifier
    from signlens.study.recognizer.loso import as_predict, photo_logits

    classifier = LandmarkClassifier.from_checkpoint(ensemble_checkpoint([ROOT / d / "best.pt" for d in dirs]))
    held = np.flatnonzero((readings.signers == signer) & ~readings.changed)
    first, second, _, sources = photo_logits(classifier, readings, held)
    final, _ = as_predict(first, second, temperature, second_below)
    return {s: (int(f), int(a)) for s, f, a in zip(sources, final.argmax(1), first.argmax(1), strict=True)}


# The readings' source tags (scripts/build_recognizer.py's PHOTO_SETS) and the folders their photos are in.
PHOTO_FOLDERS = {"ayuraj": "asl_dataset", "sms": "sign-mnist-source", "community": "community-signers"}


def photo_file(source: str) -> Path:
    from signlens.data.sources import data_root

    tag, name = source.split(":", 1)
    return data_root() / PHOTO_FOLDERS[tag] / name


CHUNK = 4
BROWSER = """const m = await import('/static/device-recognizer.mjs'); const {blankFrame} = await import('/static/hand-landmarks.mjs'); await m.loadModels();
const ort = await import('/static/ondevice/ort/ort.wasm.min.mjs');
const [graph, photos, inputs, output] = args;
if (graph) window.foldSession = await ort.InferenceSession.create(  // once a signer; photos come in chunks
  Uint8Array.from(atob(graph), (c) => c.charCodeAt(0)), {executionProviders: ['wasm']});
const session = window.foldSession;
const none = (x) => !x || !x.multiHandLandmarks || !x.multiHandLandmarks.length;
const out = [];
for (const uri of photos) {
  const img = new Image(); img.src = uri; await img.decode();
  let [w, h, border] = [img.naturalWidth, img.naturalHeight, 0];
  const t0 = performance.now(); let r = await m.landmarks(blankFrame()).then(() => m.landmarks(img));
  if (none(r)) {  // as HandDetector on a miss: again with a black border of half the image size
    border = Math.round(0.5 * Math.max(w, h)); const c = document.createElement('canvas');
    c.width = w + 2 * border; c.height = h + 2 * border;
    const g = c.getContext('2d'); g.fillRect(0, 0, c.width, c.height); g.drawImage(img, border, border);
    r = await m.landmarks(blankFrame()).then(() => m.landmarks(c)); [w, h] = [c.width, c.height];
  }
  const ms = performance.now() - t0;
  if (none(r)) { out.push({found: false, ms}); continue; }
  const xyz = (ps) => Float32Array.from(ps.flatMap((p) => [p.x, p.y, p.z]));
  const marks = r.multiHandLandmarks[0], world = r.multiHandWorldLandmarks[0], hand = r.multiHandedness[0].label;
  const all = {world_landmarks: () => new ort.Tensor('float32', xyz(world), [1, 21, 3]),
    image_landmarks: () => new ort.Tensor('float32', xyz(marks), [1, 21, 3]),
    image_size: () => new ort.Tensor('float32', Float32Array.from([w, h]), [1, 2]),
    is_left: () => new ort.Tensor('float32', Float32Array.from([hand === 'Left' ? 1 : 0]), [1])};
  const probs = (await session.run(Object.fromEntries(inputs.map((n) => [n, all[n]()]))))[output].data;
  out.push({found: true, ms, border, hand, probs: Array.from(probs), marks: Array.from(xyz(marks)),
            world: Array.from(xyz(world))});
}
return out;"""


def loso_phase(
    driver, run_js, per_letter: int, work: Path, files: list[Path] | None, signers: str = ""
) -> dict:
    """The LOSO comparison and the landmark agreement over every signer (see the module docstring)."""
    from signlens.data.landmarks import load_landmark_file
    from signlens.engine.checkpoint import load_checkpoint
    from signlens.pipeline.bundle import bundled_recognizer_path
    from signlens.study.recognizer.loso import load_readings

    bundled = load_checkpoint(bundled_recognizer_path())
    calibration = bundled["calibration"]
    files = files or build_readings(calibration, ROOT / "runs" / "recognizer")
    readings = load_readings(files, bundled["preprocess"]["landmarks"]["points"])
    folds = bundled_folds(readings, calibration["members"], Path("runs") / "recognizer" / "loso")
    raw = {}  # (set:source) -> the Python full-view reading: normalised image points, world points, hand
    for file in files:
        data, tag = load_landmark_file(file), file.stem.split("-")[0]
        for i, (s, v, by) in enumerate(zip(data["sources"], data["views"], data["found_by"], strict=True)):
            if v == "photo" and by == "photo":
                image = data["image_points"][i] / np.r_[data["image_sizes"][i], data["image_sizes"][i][0]]
                raw[f"{tag}:{s}"] = (image, data["world_points"][i], str(data["handedness"][i]))
    work.mkdir(parents=True, exist_ok=True)
    rng, rows, per_signer = np.random.default_rng(0), [], {}
    for signer, dirs in sorted(folds.items()):
        if signers and signer not in signers.split(","):
            continue
        answers = python_answers(
            readings, dirs, signer, calibration["temperature"], calibration["defaults"]["second_below"]
        )
        held = sorted(
            {
                s
                for s, g, c in zip(readings.sources, readings.signers, readings.changed, strict=True)
                if g == signer and not c
            }
        )
        held += [s for s, _ in readings.missed.get(signer, [])]  # no hand in Python: an error there
        label_of = dict(zip(readings.sources, readings.labels, strict=True))
        label_of.update(dict(readings.missed.get(signer, [])))
        chosen = []
        for letter in sorted({label_of[s] for s in held}):
            pool = [s for s in held if label_of[s] == letter]
            chosen += [pool[i] for i in rng.choice(len(pool), size=min(per_letter, len(pool)), replace=False)]
        graph = fold_graph(signer, dirs, work)
        meta = json.loads(graph.with_name(graph.name + ".json").read_text())
        uris = [
            f"data:image/jpeg;base64,{base64.b64encode(photo_file(s).read_bytes()).decode()}" for s in chosen
        ]
        out, blob = [], base64.b64encode(graph.read_bytes()).decode()
        for k in range(0, len(uris), CHUNK):  # a few photos a call: WebGL photos take seconds each here
            out += run_js(
                driver, BROWSER, blob if k == 0 else None, uris[k : k + CHUNK], meta["inputs"], meta["output"]
            )
        for source, o in zip(chosen, out, strict=True):
            python = answers.get(source, (None, None))
            row = {"signer": signer, "source": source, "truth": int(label_of[source]), "python": python[0],
                   "python_first": python[1], "device": int(np.argmax(o["probs"])) if o["found"] else None,
                   "ms": o["ms"], "border": o.get("border", 0)}  # fmt: skip
            if o["found"] and not o["border"] and source in raw:
                image, world, hand = raw[source]
                row["image_diff"] = float(
                    np.abs(np.reshape(o["marks"], (21, 3))[:, :2] - image[:, :2]).mean()
                )
                row["world_diff"] = float(np.abs(np.reshape(o["world"], (21, 3)) - world).mean())
                row["same_hand"] = o["hand"] == hand
            rows.append(row)
        mine = [r for r in rows if r["signer"] == signer]
        per_signer[signer] = {
            "photos": len(mine),
            "device": sum(r["device"] == r["truth"] for r in mine) / len(mine),
            "python": sum(r["python"] == r["truth"] for r in mine) / len(mine),
        }
        print(f"  {signer}: {per_signer[signer]}", flush=True)
    return summarise(rows, per_signer)


def summarise(rows: list[dict], per_signer: dict) -> dict:
    n, compared = len(rows), [r for r in rows if "image_diff" in r]
    rate = lambda key: sum(r[key] == r["truth"] for r in rows) / n  # noqa: E731
    both = [r for r in rows if r["device"] is not None and r["python"] is not None]
    return {
        "photos": n,
        "signers": len(per_signer),
        "accuracy_device": rate("device"),
        "accuracy_python_predict": rate("python"),
        "accuracy_python_first_reading": rate("python_first"),
        "found_device": sum(r["device"] is not None for r in rows) / n,
        "found_python": sum(r["python"] is not None for r in rows) / n,
        "same_letter_when_both_found": sum(r["device"] == r["python"] for r in both) / max(1, len(both)),
        "landmarks_compared": len(compared),
        "image_mean_abs_diff": float(np.mean([r["image_diff"] for r in compared])) if compared else None,
        "image_mean_abs_diff_p95": float(np.percentile([r["image_diff"] for r in compared], 95))
        if compared
        else None,
        "world_mean_abs_diff_m": float(np.mean([r["world_diff"] for r in compared])) if compared else None,
        "same_handedness": sum(r["same_hand"] for r in compared) / max(1, len(compared)),
        "photo_ms_p50": float(np.median([r["ms"] for r in rows[1:]])),
        "per_signer": per_signer,
        "rows": rows,
    }
