"""Export (ONNX fp32/int8, TorchScript), the one inference interface over every format, the benchmark,
and the seed study's reference model. Tiny generated data and a few seconds of training."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from conftest import pattern_images, write_four_class_csvs
from signlens.cli.main import main
from signlens.engine import Trainer, build_config
from signlens.engine.checkpoint import load_checkpoint
from signlens.errors import SignlensError
from signlens.export.memory import measure_peak, reset_peak_rss
from signlens.export.timing import summarise, time_calls
from signlens.inference import Classifier, OnnxClassifier, TorchClassifier, load_classifier
from signlens.models import create_model, list_models
from signlens.models.describe import count_macs, count_params

LETTERS = list("ABCDEFGHIKLMNOPQRSTUVWXY")


def run_cli(args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["signlens", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def one_line_error(code, err):
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """fast-cnn trained for a few epochs on four easy generated classes (A, B, C, K)."""
    root = tmp_path_factory.mktemp("export")
    data = write_four_class_csvs(root / "tiny")
    config = build_config(
        str(data), model="fast-cnn",
        overrides={"epochs": 6, "batch_size": 32, "lr": 3e-3, "threads": 1, "seed": 0},
    )  # fmt: skip
    Trainer(config, root / "run", progress=False).fit()
    return root / "run" / "best.pt"


def test_s0_customcnn_matches_the_seed_study():
    assert "s0-customcnn" in list_models()
    model = create_model("s0-customcnn", num_classes=24, in_chans=1, img_size=28)
    assert count_params(model) == 440_824  # the seed study's figure
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 5
    assert sum(isinstance(m, torch.nn.Dropout2d) and m.p == 0.25 for m in model.modules()) == 3
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(1152, 256), (256, 24)]
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.modules())
    assert model.eval()(torch.zeros(3, 1, 28, 28)).shape == (3, 24)
    # MACs by hand: 3x3 convs at 28, 28, 14, 14, 7 px, then the two dense layers.
    by_hand = 9 * (1 * 32 * 784 + 32 * 32 * 784 + 32 * 64 * 196 + 64 * 64 * 196 + 64 * 128 * 49)
    assert count_macs(model, (1, 1, 28, 28)) == by_hand + 1152 * 256 + 256 * 24 == 22_202_880


def test_count_macs_handles_groups_strides_and_batch():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2),  # 8 out x 14x14, (4/2)*9 each
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 14 * 14, 10),
    )
    expected = 8 * 14 * 14 * 2 * 9 + 8 * 14 * 14 * 10
    assert count_macs(model, (1, 4, 28, 28)) == expected
    assert count_macs(model, (5, 4, 28, 28)) == expected  # per image, whatever the batch
    assert model.training  # the mode is restored


def test_onnx_export_carries_preprocessing_and_matches_torch(trained, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.onnx"
    code, stdout, _ = run_cli(["export", "--weights", trained, "--out", out], monkeypatch, capsys)
    assert code == 0 and "parity" in stdout and "ok" in stdout
    ckpt = load_checkpoint(trained)

    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == 17
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param == "batch" and not batch_dim.HasField("dim_value")  # dynamic batch axis
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["class_names"]) == LETTERS
    assert json.loads(props["mean"]) == pytest.approx(ckpt["preprocess"]["mean"])
    assert json.loads(props["std"]) == pytest.approx(ckpt["preprocess"]["std"])
    assert props["img_size"] == "28" and props["in_chans"] == "1" and props["precision"] == "fp32"
    assert json.loads(props["model"])["name"] == "fast-cnn"
    model = TorchClassifier.from_checkpoint(trained).model
    assert int(props["params"]) == count_params(model) and int(props["macs"]) == count_macs(
        model, (1, 1, 28, 28)
    )

    report = json.loads((tmp_path / "model.onnx.json").read_text())
    parity = report["parity"]
    assert parity["samples"] == 80 and "official test" in report["parity_data"]  # all 80 real test images
    assert parity["max_abs_logit_diff"] < 1e-4 and parity["top1_agreement"] == 1.0 and parity["passed"]
    assert json.loads(props["parity"]) == parity  # stored in the file too

    # One interface: the same numbers from the checkpoint and from the export, at any batch size,
    # and through the resize / RGB->gray path.
    pt, ox = load_classifier(trained), load_classifier(out)
    assert isinstance(ox, OnnxClassifier) and ox.backend == "onnx"
    assert isinstance(pt, Classifier) and isinstance(ox, Classifier) and pt.kind == ox.kind == "image"
    assert (ox.class_names, ox.img_size, ox.in_chans) == (pt.class_names, pt.img_size, pt.in_chans)
    assert ox.train_config["model"] == "fast-cnn"  # the training config travels too
    images = pattern_images(np.array([0, 1, 2, 10, 10, 2, 1]), seed=9)[..., None]
    for batch in (1, 7):
        np.testing.assert_allclose(ox.logits(images, batch), pt.logits(images), atol=1e-4)
    bigger = np.stack([np.asarray(Image.fromarray(im[..., 0]).resize((56, 56))) for im in images])
    rgb = np.stack([bigger] * 3, axis=-1)
    np.testing.assert_allclose(ox.predict_proba(rgb), pt.predict_proba(rgb), atol=1e-5)
    assert ox.predict_proba(rgb).sum(1) == pytest.approx(np.ones(7))
    assert [pt.class_names[i] for i in ox.logits(images).argmax(1)] == list("ABCKKCB")

    # val and predict take the .onnx as they take the checkpoint.
    scores = []
    for weights in (trained, out):
        code, stdout, _ = run_cli(["val", "-w", weights, "--json"], monkeypatch, capsys)
        assert code == 0
        scores.append(json.loads(stdout))
    assert scores[0]["num_samples"] == scores[1]["num_samples"] == 80
    assert scores[0]["accuracy"] == scores[1]["accuracy"] >= 0.9

    Image.fromarray(images[3, ..., 0]).resize((112, 112)).save(tmp_path / "k.png")
    results = []
    for weights in (trained, out):
        code, stdout, _ = run_cli(
            ["predict", "-w", weights, tmp_path / "k.png", "--json"], monkeypatch, capsys
        )
        assert code == 0
        results.append(json.loads(stdout))
    assert results[0]["label"] == results[1]["label"] == "K"
    assert results[0]["confidence"] == pytest.approx(results[1]["confidence"], abs=1e-5)
    # An image classifier answers through the recogniser's one path: threshold and annotation apply.
    code, stdout, _ = run_cli(
        [
            "predict",
            "-w",
            out,
            tmp_path / "k.png",
            "--json",
            "--threshold",
            "1",
            "--annotate",
            tmp_path / "ann",
        ],
        monkeypatch,
        capsys,
    )
    unsure = json.loads(stdout)
    assert code == 0 and unsure["label"] is None and unsure["top"][0][0] == "K" and unsure["hand"] is None
    assert (tmp_path / "ann" / "k.jpg").stat().st_size > 0


def test_int8_export_is_qdq_calibrated_and_scored(trained, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.int8.onnx"
    code, stdout, _ = run_cli(
        ["export", "-w", trained, "--int8", "--out", out, "--calib-samples", 64], monkeypatch, capsys
    )
    assert code == 0 and "onnx int8" in stdout
    proto = onnx.load(str(out))
    ops = {node.op_type for node in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops  # QDQ format, fused by ORT at load
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["precision"] == "int8" and json.loads(props["class_names"]) == LETTERS
    quant = json.loads(props["quantization"])
    assert "QDQ" in quant["scheme"] and quant["calibration_images"] == 64
    assert "training split" in quant["calibration_data"]

    report = json.loads((tmp_path / "model.int8.onnx.json").read_text())
    acc = report["accuracy"]
    assert acc["samples"] == 80 and acc["torch_fp32"] == acc["onnx_fp32"] >= 0.9
    assert acc["drop_points"] == pytest.approx(100 * (acc["onnx_fp32"] - acc["onnx_int8"]))
    assert acc["onnx_int8"] >= acc["onnx_fp32"] - 0.05
    assert report["parity_fp32"]["passed"] and report["parity"]["top1_agreement"] >= 0.95
    assert report["bytes"] < report["fp32_bytes"]  # int8 weights

    clf = load_classifier(out)
    assert clf.backend == "onnx-int8"
    test_images = pattern_images(np.array([0, 1, 2, 10]), seed=2)[..., None]
    agree = load_classifier(trained).logits(test_images).argmax(1) == clf.logits(test_images).argmax(1)
    assert agree.all()


def test_torchscript_export_round_trips(trained, tmp_path, monkeypatch, capsys):
    out = tmp_path / "model.torchscript"
    code, _, _ = run_cli(["export", "-w", trained, "--format", "torchscript", "-o", out], monkeypatch, capsys)
    assert code == 0
    report = json.loads((tmp_path / "model.torchscript.json").read_text())
    assert report["parity"]["max_abs_logit_diff"] < 1e-5 and report["parity"]["passed"]
    ts = load_classifier(out)
    assert ts.backend == "torchscript" and ts.class_names == LETTERS
    images = pattern_images(np.array([0, 10]), seed=4)[..., None]
    np.testing.assert_allclose(ts.logits(images), load_classifier(trained).logits(images), atol=1e-5)


def test_benchmark_reports_every_cell(trained, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench.json"
    code, stdout, _ = run_cli(
        ["benchmark", "-w", trained, "--formats", "torch,torchscript,onnx,onnx-int8", "--batch-sizes", "1,4",
         "--threads", 1, "--min-time", 0.02, "--cooldown", 0, "--accuracy", "--json-out", out],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0 and "onnx-int8" in stdout and "p99" in stdout
    record = json.loads(out.read_text())
    model = TorchClassifier.from_checkpoint(trained).model
    assert record["params"] == count_params(model) and record["macs"] == count_macs(model, (1, 1, 28, 28))
    assert record["threads"] == 1 and record["machine"]["cores"] >= 1 and record["versions"]["onnxruntime"]
    rows = record["results"]
    assert [(r["format"], r["batch"]) for r in rows] == [
        ("torch", 1), ("torch", 4), ("torchscript", 1), ("torchscript", 4), ("onnx", 1), ("onnx", 4),
        ("onnx-int8", 1), ("onnx-int8", 4),
    ]  # fmt: skip
    peak_known = reset_peak_rss()  # where the kernel's peak mark cannot be reset, memory is unknown
    for r in rows:
        assert 0 < r["p50_us"] <= r["p95_us"] <= r["p99_us"]
        assert r["iterations"] >= 30 and r["images_per_s"] > 0 and r["file_bytes"] > 0
        if peak_known:
            assert r["peak_rss_mib"] > 0 and r["peak_rss_delta_mib"] is not None
        else:
            assert r["peak_rss_mib"] is None and r["peak_rss_delta_mib"] is None
        assert 0.9 <= r["accuracy"] <= 1.0
    sizes = {r["format"]: r["file_bytes"] for r in rows}
    assert sizes["onnx-int8"] < sizes["onnx"]
    # The TorchScript row times the file `export` writes, and reports that file's size.
    ts = tmp_path / "ts" / "model.torchscript"  # the archive holds its stem in every entry name
    assert (
        run_cli(["export", "-w", trained, "--format", "torchscript", "-o", ts], monkeypatch, capsys)[0] == 0
    )
    # TorchScript names its classes by how many were traced before in the process: a few hundred bytes.
    assert abs(sizes["torchscript"] - ts.stat().st_size) < 0.01 * ts.stat().st_size

    # An exported .onnx benchmarks on its own; torch needs the checkpoint.
    onnx_path = tmp_path / "m.onnx"
    assert run_cli(["export", "-w", trained, "-o", onnx_path], monkeypatch, capsys)[0] == 0
    code, _, _ = run_cli(
        ["benchmark", "-w", onnx_path, "--formats", "onnx", "--batch-sizes", 2, "--min-time", 0.01, "--cooldown", 0,
         "--json-out", tmp_path / "b2.json"],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0
    assert [r["format"] for r in json.loads((tmp_path / "b2.json").read_text())["results"]] == ["onnx"]
    err = one_line_error(
        *run_cli(["benchmark", "-w", onnx_path, "--formats", "torch"], monkeypatch, capsys)[::2]
    )
    assert "m.onnx" in err and "checkpoint" in err


def test_time_calls_and_percentiles():
    calls = []
    times = time_calls(lambda: calls.append(1), warmup_s=0.0, min_time_s=0.0, min_iters=50)
    assert len(times) == 50 and len(calls) == 70  # 20 warm-up calls first
    stats = summarise(np.array([1000] * 98 + [5000, 9000], np.int64), batch=10)
    assert stats["p50_us"] == 1.0 and stats["p99_us"] > stats["p95_us"] == 1.0
    assert stats["images_per_s"] == pytest.approx(10 * 100 / (112_000 / 1e9))


def test_peak_memory_is_unknown_when_the_peak_mark_cannot_be_reset(monkeypatch):
    import signlens.export.memory as memory

    _, peak, delta = measure_peak(lambda: bytearray(64 * 2**20))  # 64 MiB touched inside the stretch
    if memory.reset_peak_rss():
        assert delta >= 32 and peak > delta
    monkeypatch.setattr(memory, "reset_peak_rss", lambda: False)
    result, peak, delta = measure_peak(lambda: 7)
    assert result == 7 and peak is None and delta is None  # never the process's lifetime peak


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format_version": "x"}, "'format_version' must be an integer"),
        ({"model": None}, "'model' must be a mapping"),
        ({"config": "lr: 1"}, "'config' must be a mapping"),
        ({"class_names": []}, "'class_names' must be a non-empty list"),
        ({"preprocess": {"in_chans": 1, "mean": [0.5], "std": [0.2]}}, "'preprocess.img_size'"),
        ({"preprocess": {"img_size": 28, "in_chans": 1, "mean": [0.5], "std": [0.0]}}, "'preprocess.std'"),
        ({"preprocess": {"kind": "landmarks", "landmarks": {}}}, "'preprocess.kind' is 'landmarks' but"),
        ({"calibration": {"temperature": -1}}, "'calibration.temperature'"),
        ({"state_dict": {"w": [1, 2]}}, "'state_dict'"),
    ],
)
def test_a_checkpoint_with_a_wrong_field_is_refused_naming_it(trained, tmp_path, change, field):
    payload = torch.load(trained, weights_only=True)
    bad = tmp_path / "bad.pt"
    torch.save({**payload, **change}, bad)
    with pytest.raises(SignlensError, match=field):
        load_classifier(bad)  # the same check runs for predict, val, export and benchmark


def test_bad_input_is_one_line_naming_the_file(trained, tmp_path, monkeypatch, capsys):
    garbage = tmp_path / "broken.onnx"
    garbage.write_bytes(b"not a protobuf at all")
    with pytest.raises(SignlensError, match="broken.onnx"):
        load_classifier(garbage)
    err = one_line_error(*run_cli(["predict", "-w", garbage, garbage], monkeypatch, capsys)[::2])
    assert "broken.onnx" in err

    # A valid ONNX file that signlens did not write lacks the pre-processing: refuse it by name.
    plain = tmp_path / "plain.onnx"
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "plain", [x], [y])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), str(plain))
    with pytest.raises(SignlensError, match=r"plain\.onnx is not a signlens export"):
        load_classifier(plain)
    with pytest.raises(SignlensError, match="not found"):
        load_classifier(tmp_path / "missing.onnx")

    not_ckpt = tmp_path / "model.pt"
    not_ckpt.write_bytes(b"garbage")
    err = one_line_error(*run_cli(["export", "-w", not_ckpt], monkeypatch, capsys)[::2])
    assert "model.pt" in err and "not a signlens checkpoint" in err
    err = one_line_error(*run_cli(["export", "-w", trained, "--format", "tflite"], monkeypatch, capsys)[::2])
    assert "tflite" in err
    err = one_line_error(
        *run_cli(["export", "-w", trained, "--format", "torchscript", "--int8"], monkeypatch, capsys)[::2]
    )
    assert "--int8" in err
    err = one_line_error(
        *run_cli(
            ["export", "-w", trained, "--int8", "--calib-data", tmp_path / "nodata"], monkeypatch, capsys
        )[::2]
    )
    assert "nodata" in err
    err = one_line_error(
        *run_cli(["benchmark", "-w", trained, "--batch-sizes", "1,x"], monkeypatch, capsys)[::2]
    )
    assert "--batch-sizes" in err
    err = one_line_error(
        *run_cli(["benchmark", "-w", trained, "--formats", "tflite"], monkeypatch, capsys)[::2]
    )
    assert "tflite" in err
    err = one_line_error(*run_cli(["benchmark", "-w", trained, "--threads", 0], monkeypatch, capsys)[::2])
    assert "--threads" in err
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".signlens-export-*"))


def test_export_drops_pools_that_copy_their_input(tmp_path):
    from signlens.export.exporter import torch_to_onnx
    from signlens.inference import metadata as md

    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, stride=7, padding=1),  # 28 -> 4
        torch.nn.AdaptiveAvgPool2d(4),  # a no-op at 4x4: dropped
        torch.nn.MaxPool2d(2),  # a real pool: kept
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    ).eval()
    meta = {"class_names": list("abc"), "img_size": 28, "in_chans": 1, "mean": [0.0], "std": [1.0]}
    path = torch_to_onnx(model, 1, 28, tmp_path / "m.onnx", md.encode(meta))
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "AveragePool" not in ops and ops.count("MaxPool") == 1
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(OnnxClassifier(path).forward(x), expected, atol=1e-5)
