from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from conftest import SHARED, needs_shared, write_sign_mnist_csv
from signlens.data import (
    AugmentConfig,
    BatchAugment,
    load_data,
    split_bundle,
    stratified_split,
    to_model_tensor,
)
from signlens.data.sources import SIGN_MNIST_CLASSES
from signlens.errors import SignlensError


@needs_shared
def test_sign_mnist_named_set_matches_the_kaggle_release(monkeypatch):
    monkeypatch.setenv("SIGNLENS_DATA", str(SHARED))
    bundle = load_data("sign-mnist")
    assert bundle.train.images.shape == (27455, 28, 28, 1)
    assert bundle.test.images.shape == (7172, 28, 28, 1)
    assert bundle.class_names == list("ABCDEFGHIKLMNOPQRSTUVWXY")  # no J, no Z
    assert set(np.unique(bundle.train.labels)) == set(range(24))
    assert bundle.checksums["sign_mnist_train.csv"] == "e42b5fb8f2be6bb2b35b0f696b598e7c"
    assert bundle.checksums["sign_mnist_test.csv"] == "b3fc96cb14b199c8efde4baddb1b03b8"
    # Raw label 10 is K, the 10th contiguous class (index 9) because J is absent.
    first = (SHARED / "sign-mnist" / "sign_mnist_test.csv").read_text().splitlines()[1]
    assert (
        bundle.test.class_names[bundle.test.labels[0]]
        == "ABCDEFGHIJKLMNOPQRSTUVWXY"[int(first.split(",")[0])]
    )


def test_missing_named_set_names_the_place_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNLENS_DATA", str(tmp_path))
    with pytest.raises(SignlensError, match=r"sign-mnist.*not found.*sign_mnist_train.csv"):
        load_data("sign-mnist")


def test_kaggle_zip_with_nested_folders_loads(tiny_csv_dir, tmp_path):
    archive = tmp_path / "sign-language-mnist.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("sign_mnist_train.csv", "sign_mnist_test.csv"):
            z.write(tiny_csv_dir / name, f"{name[:-4]}/{name}")
    bundle = load_data(str(archive))
    assert len(bundle.train) == 240 and len(bundle.test) == 80
    assert bundle.class_names == SIGN_MNIST_CLASSES


def test_lone_csv_pairs_with_its_test_sibling_or_is_evaluation_only(tiny_csv_dir):
    paired = load_data(str(tiny_csv_dir / "sign_mnist_train.csv"))
    assert len(paired.train) == 240 and len(paired.test) == 80 and paired.test_is_official
    test_only = load_data(str(tiny_csv_dir / "sign_mnist_test.csv"))
    assert test_only.train is None and len(test_only.test) == 80


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda lines: ["lbl" + lines[0][5:]] + lines[1:], r"header must be label,pixel1..pixel784"),
        (
            lambda lines: lines[:3] + [lines[3].replace(",", ",x", 1)] + lines[4:],
            r"row 4, column 2: non-numeric",
        ),
        (lambda lines: lines[:2] + ["9" + lines[2][1:]] + lines[3:], r"row 3: unknown label 9"),
        (lambda lines: lines[:2] + [lines[2] + ",5"] + lines[3:], r"row 3: expected 785 cells"),
        (lambda lines: lines[:5] + [lines[5].rsplit(",", 1)[0] + ",300"] + lines[6:], r"row 6: pixel values"),
    ],
)
def test_malformed_csv_names_file_and_row(tmp_path, mutate, message):
    path = write_sign_mnist_csv(tmp_path / "bad.csv", [0, 1, 2, 3, 4, 5, 6])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(mutate(lines)) + "\n")
    with pytest.raises(SignlensError, match=message) as info:
        load_data(str(path))
    assert "bad.csv" in str(info.value)


def test_image_folder_is_decoded_once_and_cached(tiny_folder):
    first = load_data(str(tiny_folder), img_size=32, in_chans=1)
    assert first.train.images.shape == (72, 32, 32, 1)
    assert first.class_names == ["a", "b", "c"]
    assert first.train.groups[0] == "hand1_a_bot"  # take = hand + class + view (files sorted by name)
    assert not first.test_is_official
    # The cache is keyed by content: a second load reads the same array without decoding.
    second = load_data(str(tiny_folder), img_size=32, in_chans=1)
    np.testing.assert_array_equal(first.train.images, second.train.images)
    (tiny_folder / "a" / "hand1_a_top_seg_1_cropped.jpeg").write_bytes(b"not a jpeg")
    with pytest.raises(SignlensError, match=r"cannot read image .*hand1_a_top_seg_1_cropped.jpeg"):
        load_data(str(tiny_folder), img_size=32, in_chans=1)


def test_stratified_split_keeps_class_shares_and_groups_together():
    labels = np.repeat(np.arange(4), 50)
    keep, held = stratified_split(labels, 0.2, seed=0)
    assert len(held) == 40 and np.bincount(labels[held]).tolist() == [10, 10, 10, 10]
    assert not set(keep) & set(held)
    groups = [f"g{i // 5}" for i in range(200)]  # groups of five within a class
    keep, held = stratified_split(labels, 0.2, seed=0, groups=groups)
    assert not {groups[i] for i in keep} & {groups[i] for i in held}
    assert np.bincount(labels[held]).tolist() == [10, 10, 10, 10]


def test_folder_without_test_split_holds_out_whole_takes(tiny_folder):
    bundle = load_data(str(tiny_folder), img_size=24, in_chans=3)
    train, val, test = split_bundle(bundle, 0.2, 0.2, split_seed=0)
    assert len(train) + len(val) + len(test) == 72
    takes = [set(s.groups) for s in (train, val, test)]
    assert not takes[0] & takes[1] and not takes[0] & takes[2] and not takes[1] & takes[2]


def test_to_model_tensor_converts_size_and_channels():
    rgb = np.zeros((2, 40, 40, 3), np.uint8)
    rgb[..., 1] = 200  # pure green -> luma 0.587 * 200
    gray = to_model_tensor(rgb, 20, 1)
    assert gray.shape == (2, 1, 20, 20) and gray.dtype == torch.uint8
    assert int(gray[0, 0, 10, 10]) == round(0.587 * 200)
    assert to_model_tensor(gray.permute(0, 2, 3, 1).numpy(), 20, 3).shape == (2, 3, 20, 20)


def test_batch_augment_keeps_shape_and_range_and_never_flips_by_default():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 2:8] = 1.0  # a block on the left
    out = BatchAugment(AugmentConfig())(x.clone(), torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)  # it did transform
    # Rotation <= 10 deg, shift <= 10%: the block stays on the left half, i.e. no mirror.
    assert (out[..., :14].sum((1, 2, 3)) > out[..., 14:].sum((1, 2, 3))).all()
    off = BatchAugment(AugmentConfig(enabled=False))(x.clone())
    assert torch.equal(off, x)
    flipped = BatchAugment(
        AugmentConfig(rotation=0, scale=0, translate=0, brightness=0, contrast=0, hflip=1.0)
    )(x)
    assert torch.allclose(flipped, x.flip(-1), atol=1e-5)


def test_colour_augment_scales_each_channel_alone_and_leaves_gray_alone():
    x = torch.full((64, 3, 4, 4), 0.5)
    only_colour = AugmentConfig(rotation=0, scale=0, translate=0, brightness=0, contrast=0, color=0.2)
    out = BatchAugment(only_colour)(x.clone(), torch.Generator().manual_seed(0))
    gains = out[:, :, 0, 0] / 0.5  # one gain per image and channel, constant over the image
    assert torch.allclose(out, gains[:, :, None, None] * 0.5)
    assert gains.min() >= 0.8 - 1e-6 and gains.max() <= 1.2 + 1e-6 and gains.std() > 0.05
    assert not torch.allclose(gains[:, 0], gains[:, 1])  # channels move independently: a tint, not brightness
    gray = torch.full((4, 1, 4, 4), 0.5)
    assert torch.equal(BatchAugment(only_colour)(gray.clone()), gray)
