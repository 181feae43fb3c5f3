"""signlens explain: on a model trained where only one region of a synthetic image carries the class,
the Grad-CAM map peaks in that region; overlays, class means and explain.json are written."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from conftest import run_cli
from signlens.evaluation.gradcam import grad_cam


def stripes(horizontal: bool) -> np.ndarray:
    patch = np.zeros((8, 8), np.int64)
    if horizontal:
        patch[::2, :] = 220
    else:
        patch[:, ::2] = 220
    return patch


def region_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """28x28: the top-left patch has horizontal (class 0) or vertical (class 1) stripes; the other
    three quadrants hold bright squares of random brightness that say nothing about the class."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(len(labels), 28, 28))
    for i, label in enumerate(labels):
        images[i, 3:11, 3:11] = stripes(label == 0)
        for row, col in ((3, 17), (17, 3), (17, 17)):
            images[i, row : row + 8, col : col + 8] = rng.integers(80, 230)
    return images.astype(np.uint8)


def write_csv(path, labels, seed):
    images = region_images(np.asarray(labels), seed).reshape(len(labels), -1)
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    rows = [f"{y}," + ",".join(map(str, r)) for y, r in zip(labels, images, strict=True)]
    path.write_text("\n".join([header, *rows]) + "\n")


def test_grad_cam_peaks_on_the_region_that_carries_the_class(tmp_path, monkeypatch, capsys):
    data = tmp_path / "regions"
    data.mkdir()
    write_csv(data / "sign_mnist_train.csv", [0, 1] * 200, seed=1)
    write_csv(data / "sign_mnist_test.csv", [0, 1] * 30, seed=2)
    run = tmp_path / "run"
    code, _, err = run_cli(
        ["train", "--data", data, "--model", "baseline-cnn", "--epochs", "4", "--batch-size", "32", "--lr",
         "0.003", "--no-augment", "--threads", "1", "--out", run, "--quiet"], monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((run / "metrics.json").read_text())["test"]["accuracy"] >= 0.95

    out = tmp_path / "explain"
    code, stdout, err = run_cli(
        ["explain", "--weights", run / "best.pt", "--data", data, "--split", "test", "--out", out],
        monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((out / "explain.json").read_text())
    assert len(summary["images"]) == 60 and "60 images" in stdout
    assert len(list((out / "overlays").glob("*.png"))) == 60 and (out / "class_means.png").stat().st_size > 0
    maps = np.load(out / "maps.npz")["maps"].astype(np.float32)
    mean = maps.mean(0)
    region = mean[3:11, 3:11].mean()
    for row, col in ((3, 17), (17, 3), (17, 17)):
        assert region > 2 * mean[row : row + 8, col : col + 8].mean()
    peak_rows, peak_cols = zip(*(r["peak_yx"] for r in summary["images"]), strict=True)
    assert np.median(peak_rows) < 0.5 and np.median(peak_cols) < 0.5  # top-left quadrant

    # Photos as files too; a landmark or non-checkpoint model is refused in one line.
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, image in enumerate(region_images(np.array([0, 1]), seed=3)):
        Image.fromarray(image).save(photos / f"p{i}.png")
    code, _, err = run_cli(
        ["explain", "--weights", run / "best.pt", photos, "--out", tmp_path / "e2"], monkeypatch, capsys
    )
    assert code == 0, err
    assert [r["source"] for r in json.loads((tmp_path / "e2" / "explain.json").read_text())["images"]] == [
        "p0.png",
        "p1.png",
    ]
    code, _, err = run_cli(["explain", "--weights", photos / "p0.png", photos], monkeypatch, capsys)
    assert code == 2 and "error" in err


def test_grad_cam_is_for_the_requested_class():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(inplace=True),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())  # fmt: skip
    with torch.no_grad():  # class 0's channel copies the pixel, class 1's is relu(1 - pixel)
        model[0].weight.zero_()
        model[0].weight[0, 0, 1, 1], model[0].weight[1, 0, 1, 1] = 1.0, -1.0
        model[0].bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.zeros(2, 1, 8, 8)
    x[..., :4] = 1.0  # bright left half, dark right half
    maps, logits = grad_cam(model, x, np.array([0, 1]))
    assert maps[0, :, :4].mean() > 0.9 and maps[0, :, 4:].max() < 0.1  # class 0: the bright half
    assert maps[1, :, 4:].mean() > 0.9 and maps[1, :, :4].max() < 0.1  # class 1: the dark half
    assert logits.shape == (2, 2)


def test_landmark_attributions_find_the_finger_that_decides():
    from signlens.data.configs import LandmarkConfig
    from signlens.data.landmarks import LandmarkFeatures, feature_dim
    from signlens.evaluation.attributions import by_landmark, by_part, integrated_gradients
    from signlens.inference import LandmarkClassifier

    config = LandmarkConfig(augment=False)
    model = torch.nn.Linear(feature_dim(LandmarkFeatures.of(config)), 2)
    with torch.no_grad():  # only the index fingertip's normalised x coordinate (landmark 8) decides
        model.weight.zero_()
        model.bias.zero_()
        model.weight[0, 8 * 3], model.weight[1, 8 * 3] = 4.0, -4.0
    classifier = LandmarkClassifier([(model, config)], ["a", "b"])
    rng = np.random.default_rng(0)
    hand = rng.normal(0, 1, (21, 3)).astype(np.float32)
    hand[9] = [0.0, 1.0, 0.0]  # a palm of unit size
    points = hand + rng.normal(0, 0.3, (16, 21, 3)).astype(np.float32)
    attributions, scores, base = integrated_gradients(classifier, points, points.mean(0), steps=64)
    landmarks = by_landmark(attributions)
    assert np.allclose(landmarks.sum(1), scores - base, atol=0.02 * np.abs(scores - base).max() + 1e-3)
    magnitude = np.abs(landmarks).mean(0)
    assert magnitude.argmax() == 8
    parts = {name: np.abs(v).mean() for name, v in by_part(landmarks).items()}
    assert max(parts, key=parts.get) == "index"
