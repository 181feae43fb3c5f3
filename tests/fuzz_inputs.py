"""Bad inputs for tests/test_fuzz.py, generated at test time (small files): images, CSVs, zips, folders,
checkpoints, YAML configs, landmark files and videos, plus option values, each paired with the verbs
that read it. A case is (name, argv, expect): "error" (exit 2 and one line) or "any" (a valid oddity:
exit 0, or exit 2 and one line; never a traceback)."""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
SENTINEL = "PICKLE_RAN"


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny (wrong) data chunk: a bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def gif_claiming(width: int, height: int) -> bytes:
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00"
    frame = b"," + struct.pack("<HHHH", 0, 0, width, height) + b"\x00\x02\x02\x44\x01\x00;"
    return screen + frame


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def csv_text(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def good_row(label: int = 0, fill: int = 7) -> list[str]:
    return [str(label)] + [str(fill)] * 784


def image_files(root: Path) -> dict[str, Path]:
    """Name -> a bad (or odd) image file. Names starting "ok_" are valid images a verb may accept."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    jpeg, png = encoded(photo, "JPEG"), encoded(photo, "PNG")
    exif = Image.Exif()
    exif[0x0112] = 9  # an orientation value that does not exist
    files = {
        "empty.jpg": b"",
        "text.jpg": b"this is not an image\n",
        "text.png": b"hello",
        "random.jpg": rng.integers(0, 255, 4096, dtype=np.uint8).tobytes(),
        "random.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + rng.integers(0, 255, 64, dtype=np.uint8).tobytes(),
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "header_only.jpg": jpeg[:20],
        "header_only.png": png[:33],
        "bomb_png.png": png_claiming(20000, 20000),
        "bomb_png_small.png": png_claiming(7000, 7000),
        "bomb_gif.png": gif_claiming(65535, 65535),
        "zero_width.png": png_claiming(0, 10),
        "bmp_bad.bmp": b"BM" + rng.integers(0, 255, 60, dtype=np.uint8).tobytes(),
        "bmp_huge.bmp": b"BM"
        + struct.pack("<IHHI", 70, 0, 0, 54)
        + struct.pack("<IiiHH", 40, 60000, 60000, 1, 24)
        + b"\0" * 24,
        "gif_named.jpg": encoded(photo, "GIF")[:30],
        "pdf.jpg": b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n",
        "zip.png": b"PK\x03\x04" + b"\0" * 40,
        "nul.jpeg": b"\0" * 1000,
        "ok_1x1.png": encoded(Image.new("RGB", (1, 1)), "PNG"),
        "ok_1x10000.png": encoded(Image.new("L", (1, 10000)), "PNG"),
        "ok_10000x1.png": encoded(Image.new("L", (10000, 1)), "PNG"),
        "ok_16bit.png": encoded(Image.fromarray(np.full((20, 20), 40000, np.uint16)), "PNG"),
        "ok_cmyk.jpg": encoded(photo.convert("CMYK"), "JPEG"),
        "ok_palette.png": encoded(photo.convert("P"), "PNG", transparency=0),
        "ok_bad_exif.jpg": encoded(photo, "JPEG", exif=exif.tobytes()),
        "ok_rgba.webp": encoded(photo.convert("RGBA"), "WEBP"),
        "ok_tiff_named.jpg": encoded(photo, "TIFF"),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    paths = {name: root / name for name in files}
    (root / "folder.jpg").mkdir(exist_ok=True)
    paths["folder.jpg"] = root / "folder.jpg"
    (root / "broken_link.jpg").unlink(missing_ok=True)
    (root / "broken_link.jpg").symlink_to(root / "nowhere.jpg")
    paths["broken_link.jpg"] = root / "broken_link.jpg"
    (root / "loop.jpg").unlink(missing_ok=True)
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    paths["loop.jpg"] = root / "loop.jpg"
    paths["missing.jpg"] = root / "missing.jpg"
    return paths


def csv_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    one = ",".join(good_row())
    texts = {
        "empty.csv": "",
        "header_only.csv": HEADER + "\n",
        "wrong_header.csv": "a,b,c\n1,2,3\n",
        "short_header.csv": "label,pixel1\n0,1\n",
        "fraction.csv": csv_text([",".join(["0", "12.5"] + ["7"] * 783)]),
        "fraction_label.csv": csv_text([",".join(["1.5"] + ["7"] * 784)]),
        "nan.csv": csv_text([",".join(["0", "nan"] + ["7"] * 783)]),
        "inf.csv": csv_text([",".join(["0", "inf"] + ["7"] * 783)]),
        "huge.csv": csv_text([",".join(["0", "1e300"] + ["7"] * 783)]),
        "negative.csv": csv_text([",".join(good_row(fill=-1))]),
        "over255.csv": csv_text([",".join(good_row(fill=256))]),
        "label_j.csv": csv_text([",".join(good_row(label=9))]),
        "label_z.csv": csv_text([",".join(good_row(label=25))]),
        "label_neg.csv": csv_text([",".join(good_row(label=-1))]),
        "label_big.csv": csv_text([",".join(good_row(label=10**12))]),
        "word.csv": csv_text([",".join(["0", "abc"] + ["7"] * 783)]),
        "short_row.csv": csv_text([one, "0,1,2"]),
        "long_row.csv": csv_text([one + ",5"]),
        "empty_cell.csv": csv_text([",".join(["0", ""] + ["7"] * 783)]),
        "quoted.csv": csv_text([",".join(['"0"'] + ["7"] * 784)]),
        "tabs.csv": HEADER.replace(",", "\t") + "\n" + one.replace(",", "\t") + "\n",
        "semicolons.csv": HEADER.replace(",", ";") + "\n",
        "one_row.csv": csv_text([one]),
        "two_rows.csv": csv_text([one, ",".join(good_row(label=1))]),
        "one_class.csv": csv_text([one] * 6),
    }
    paths = {}
    for name, text in texts.items():
        (root / name).write_text(text)
        paths[name] = root / name
    (root / "latin1.csv").write_bytes(HEADER.encode() + b"\n\xff\xfe\x00" + one.encode() + b"\n")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (root / "bom.csv").write_bytes(b"\xef\xbb\xbf" + csv_text([one] * 3).encode())
    (root / "dir.csv").mkdir(exist_ok=True)
    for name in ("latin1.csv", "binary.csv", "bom.csv", "dir.csv"):
        paths[name] = root / name
    return paths


def zip_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}

    def make(name: str, members: dict[str, bytes]) -> None:
        with zipfile.ZipFile(root / name, "w", zipfile.ZIP_DEFLATED) as z:
            for member, data in members.items():
                z.writestr(member, data)
        paths[name] = root / name

    make("empty.zip", {})
    make("no_train.zip", {"readme.txt": b"hi"})
    make("bad_csv.zip", {"x/sign_mnist_train.csv": b"a,b\n1,2\n"})
    make("fraction.zip", {"sign_mnist_train.csv": csv_text([",".join(["0", "12.5"] + ["7"] * 783)]).encode()})
    make("csv_is_binary.zip", {"sign_mnist_train.csv": bytes(range(256)) * 4})
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sign_mnist_train.csv", csv_text([",".join(good_row())] * 3))
    data = bytearray(good.getvalue())
    data[60:80] = b"\xff" * 20  # damage the compressed stream
    (root / "corrupt.zip").write_bytes(bytes(data))
    (root / "truncated.zip").write_bytes(good.getvalue()[:50])
    (root / "not_a_zip.zip").write_bytes(b"hello world")
    (root / "dir.zip").mkdir(exist_ok=True)
    for name in ("corrupt.zip", "truncated.zip", "not_a_zip.zip", "dir.zip"):
        paths[name] = root / name
    return paths


def folder_sets(root: Path, images: dict[str, Path]) -> dict[str, Path]:
    """Class-folder trees that are unusable as training data."""
    good = Image.fromarray(np.full((40, 40, 3), 90, np.uint8))
    trees = {
        "no_classes": {},
        "empty_classes": {"a": [], "b": []},
        "only_text": {"a": ["text.jpg"], "b": []},
        "bomb_inside": {"a": ["good"] * 3 + ["bomb_png.png"], "b": ["good"] * 3},
        "small_bomb_inside": {"a": ["good"] * 3, "b": ["good"] * 2 + ["bomb_png_small.png"]},
        "truncated_inside": {"a": ["good"] * 3 + ["truncated.jpg"], "b": ["good"] * 3},
        "one_image": {"a": ["good"]},
        "tiny_classes": {"a": ["good"] * 6, "b": ["good"] * 6, "c": ["good"] * 6, "d": []},
    }
    paths = {}
    for name, classes in trees.items():
        base = root / name
        base.mkdir(parents=True, exist_ok=True)
        (base / "loose_file.txt").write_text("x")
        for cls, members in classes.items():
            (base / cls).mkdir(exist_ok=True)
            for i, member in enumerate(members):
                target = base / cls / f"img{i}{Path(member).suffix or '.png'}"
                if member == "good":
                    good.save(target)
                else:
                    target.write_bytes(images[member].read_bytes())
        paths[name] = base
    return paths


class Evil:
    """Unpickling this runs `touch`: a loader that is not weights-only would create the sentinel."""

    def __init__(self, sentinel: Path):
        self.sentinel = sentinel

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.sentinel}",))


def checkpoint_files(root: Path, image_ckpt: Path, landmark_ckpt: Path) -> dict[str, Path]:
    import torch

    root.mkdir(parents=True, exist_ok=True)
    base = torch.load(image_ckpt, map_location="cpu", weights_only=True)
    lm = torch.load(landmark_ckpt, map_location="cpu", weights_only=True)
    variants: dict[str, object] = {
        "list": [1, 2, 3],
        "no_marker": {k: v for k, v in base.items() if k != "format"},
        "version_x": {**base, "format_version": "x"},
        "version_99": {**base, "format_version": 99},
        "model_none": {**base, "model": None},
        "model_unknown": {**base, "model": {"name": "no-such-net", "args": {}}},
        "model_args_str": {**base, "model": {"name": base["model"]["name"], "args": "x"}},
        "model_args_bogus": {
            **base,
            "model": {**base["model"], "args": {**base["model"]["args"], "bogus": 1}},
        },
        "state_none": {**base, "state_dict": None},
        "state_empty": {**base, "state_dict": {}},
        "state_wrong_shape": {**base, "state_dict": {k: torch.zeros(1) for k in base["state_dict"]}},
        "classes_none": {**base, "class_names": None},
        "classes_empty": {**base, "class_names": []},
        "classes_str": {**base, "class_names": "ABC"},
        "classes_ints": {**base, "class_names": list(range(len(base["class_names"])))},
        "preprocess_none": {**base, "preprocess": None},
        "preprocess_no_size": {
            **base,
            "preprocess": {k: v for k, v in base["preprocess"].items() if k != "img_size"},
        },
        "img_size_str": {**base, "preprocess": {**base["preprocess"], "img_size": "x"}},
        "img_size_zero": {**base, "preprocess": {**base["preprocess"], "img_size": 0}},
        "img_size_huge": {**base, "preprocess": {**base["preprocess"], "img_size": 10**6}},
        "in_chans_2": {**base, "preprocess": {**base["preprocess"], "in_chans": 2}},
        "mean_short": {**base, "preprocess": {**base["preprocess"], "mean": []}},
        "kind_landmarks_on_image": {**base, "preprocess": {**base["preprocess"], "kind": "landmarks"}},
        "kind_unknown": {**base, "preprocess": {**base["preprocess"], "kind": "sound"}},
        "config_str": {**base, "config": "lr: 1"},
        "config_bad_value": {**base, "config": {**base.get("config", {}), "epochs": "ten"}},
        "config_unknown_key": {**base, "config": {**base.get("config", {}), "no_such_key": 1}},
        "lm_image_preprocess": {**lm, "preprocess": base["preprocess"]},
        "lm_no_members": {**lm, "members": []} if "members" in lm else {**lm, "state_dict": {}},
    }
    for key in ("model", "state_dict", "class_names", "preprocess"):
        variants[f"without_{key}"] = {k: v for k, v in base.items() if k != key}
    paths = {}
    for name, payload in variants.items():
        torch.save(payload, root / f"{name}.pt")
        paths[name] = root / f"{name}.pt"
    raw = {
        "empty.pt": b"",
        "text.pt": b"not a checkpoint",
        "random.pt": np.random.default_rng(1).integers(0, 255, 2048, dtype=np.uint8).tobytes(),
        "truncated.pt": image_ckpt.read_bytes()[:1000],
        "evil_pickle.pt": pickle.dumps(Evil(root / SENTINEL)),
        "garbage.onnx": b"not an onnx model",
        "garbage.torchscript": b"PK\x03\x04 not torchscript",
        "png.pt": png_claiming(10, 10),
    }
    for name, data in raw.items():
        (root / name).write_bytes(data)
        paths[name] = root / name
    torch.save({"weights": Evil(root / SENTINEL)}, root / "evil_zip.pt")
    paths["evil_zip.pt"] = root / "evil_zip.pt"
    (root / "dir.pt").mkdir(exist_ok=True)
    paths["dir.pt"] = root / "dir.pt"
    return paths


def yaml_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    texts = {
        "invalid.yaml": "epochs: [1, 2\n",
        "list.yaml": "- 1\n- 2\n",
        "scalar.yaml": "hello\n",
        "epochs_word.yaml": "epochs: ten\n",
        "epochs_fraction.yaml": "epochs: 2.5\n",
        "lr_word.yaml": "lr: fast\n",
        "lr_nan.yaml": "lr: .nan\n",
        "lr_negative.yaml": "lr: -1\n",
        "unknown_key.yaml": "no_such_key: 1\n",
        "augment_scalar.yaml": "augment: 5\n",
        "augment_unknown.yaml": "augment: {spin: 3}\n",
        "augment_word.yaml": "augment: {rotation: lots}\n",
        "landmarks_bad.yaml": "landmarks: {points: elbows}\n",
        "model_args_list.yaml": "model_args: [1, 2]\n",
        "stages_bad.yaml": "stages: [nonsense]\n",
        "stages_scalar.yaml": "stages: 5\n",
        "classes_list.yaml": "classes: [a, b]\n",
        "seed_huge.yaml": "seed: 99999999999\n",
        "python_tag.yaml": "lr: !!python/object/apply:os.system ['true']\n",
        "optimizer_bad.yaml": "optimizer: nope\n",
        "device_bad.yaml": "device: tpu\n",
        "in_chans_bad.yaml": "in_chans: 2\n",
        "batch_zero.yaml": "batch_size: 0\n",
        "recipe_bad.yaml": "recipe: nope\n",
        "tab_indent.yaml": "augment:\n\trotation: 3\n",
        "deep.yaml": "a: " + "[" * 200 + "]" * 200 + "\n",
    }
    paths = {}
    for name, text in texts.items():
        (root / name).write_text(text)
        paths[name] = root / name
    (root / "binary.yaml").write_bytes(bytes(range(256)))
    (root / "dir.yaml").mkdir(exist_ok=True)
    paths["binary.yaml"], paths["dir.yaml"] = root / "binary.yaml", root / "dir.yaml"
    return paths


def landmark_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    n = 6
    good = {
        "image_points": np.zeros((n, 21, 3), np.float32),
        "world_points": np.zeros((n, 21, 3), np.float32),
        "labels": np.arange(n) % 2,
        "class_names": np.array(["A", "B"]),
        "handedness": np.array(["Right"] * n),
        "sources": np.array([f"s{i}" for i in range(n)]),
        "meta": np.array("{}"),
    }
    variants = {
        "missing_keys": {"labels": good["labels"]},
        "wrong_shape": {**good, "image_points": np.zeros((n, 5), np.float32)},
        "label_range": {**good, "labels": np.full(n, 7)},
        "label_float": {**good, "labels": np.full(n, 0.5)},
        "nan_points": {**good, "world_points": np.full((n, 21, 3), np.nan, np.float32)},
        "bad_meta": {**good, "meta": np.array("{not json")},
        "meta_list": {**good, "meta": np.array("[1]")},
        "no_rows": {k: (v[:0] if k not in ("class_names", "meta") else v) for k, v in good.items()},
        "short_sources": {**good, "sources": np.array(["s"])},
        "object_array": {**good, "class_names": np.array([{"x": 1}, None], dtype=object)},
    }
    paths = {}
    for name, arrays in variants.items():
        np.savez(root / f"{name}.npz", **arrays)
        paths[name] = root / f"{name}.npz"
    np.save(root / "plain.npy", np.zeros(3))
    (root / "plain.npz").write_bytes((root / "plain.npy").read_bytes())
    (root / "text.npz").write_text("hello")
    (root / "truncated.npz").write_bytes((root / "wrong_shape.npz").read_bytes()[:100])
    for name in ("plain.npz", "text.npz", "truncated.npz"):
        paths[name] = root / name
    return paths


def video_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    data = {"empty.mp4": b"", "text.mp4": b"not a video", "random.avi": bytes(range(256)) * 16}
    for name, raw in data.items():
        (root / name).write_bytes(raw)
    (root / "frames_bad").mkdir(exist_ok=True)
    (root / "frames_bad" / "f0.jpg").write_bytes(b"garbage")
    (root / "frames_none").mkdir(exist_ok=True)
    names = [*data, "frames_bad", "frames_none"]
    return {name: root / name for name in names}
