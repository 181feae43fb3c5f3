from __future__ import annotations

import pytest
import torch

from signlens.engine.metrics import classification_metrics, confusion_matrix, handshape_accuracy
from signlens.errors import SignlensError
from signlens.models import create_model, list_models, model_arguments, resolved_arguments
from signlens.models.layers import SqueezeExcite


@pytest.mark.parametrize("name", ["baseline-cnn", "custom-cnn", "custom-cnn-se", "mlp", "fast-cnn"])
@pytest.mark.parametrize("size", [28, 64])
def test_every_scratch_model_maps_images_to_class_logits(name, size):
    model = create_model(name, num_classes=24, in_chans=1, img_size=size).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, size, size))
    assert out.shape == (3, 24)


def test_mlp_is_the_seed_784_300_100_baseline():
    model = create_model("mlp", num_classes=24, in_chans=1, img_size=28)
    expected = 784 * 300 + 300 + 300 * 100 + 100 + 100 * 24 + 24
    assert sum(p.numel() for p in model.parameters()) == expected


def test_custom_cnn_has_batch_norm_dropout_and_optional_attention():
    plain = create_model("custom-cnn", 24)
    with_se = create_model("custom-cnn", 24, se=True)
    kinds = {type(m).__name__ for m in plain.modules()}
    assert {"BatchNorm2d", "Dropout2d", "Dropout"} <= kinds and "SqueezeExcite" not in kinds
    assert sum(type(m).__name__ == "SqueezeExcite" for m in with_se.modules()) == 4
    conv_count = sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in plain.modules())
    assert conv_count == 4


def test_baseline_has_two_conv_layers():
    model = create_model("baseline-cnn", 24)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 2


def test_registry_rejects_unknown_names_and_arguments():
    assert {"baseline-cnn", "custom-cnn", "mlp", "fast-cnn"} <= set(list_models())
    with pytest.raises(SignlensError, match="unknown model 'nope'"):
        create_model("nope", 24)
    with pytest.raises(SignlensError, match=r"does not take \['depth'\]"):
        create_model("custom-cnn", 24, depth=3)
    # `--model-arg widths=32,64` is YAML for a string: one line naming it, not a traceback from torch.
    with pytest.raises(SignlensError, match=r"widths='32,64' should be like its default \(16, 32, 64\)"):
        create_model("fast-cnn", 24, widths="32,64")
    with pytest.raises(SignlensError, match="dropout='high'"):
        create_model("fast-cnn", 24, dropout="high")
    assert create_model("fast-cnn", 24, widths=[8, 16, 32], dropout=0)[0].out_channels == 8


def test_metrics_from_a_known_confusion():
    targets = [0, 0, 0, 1, 1, 2]
    predictions = [0, 0, 1, 1, 1, 0]
    confusion = confusion_matrix(targets, predictions, 4)  # class 3 absent from targets
    assert confusion.tolist()[:3] == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0]]
    m = classification_metrics(confusion, ["a", "b", "c", "d"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # precision a = 2/3, b = 2/3, c = 0; recall a = 2/3, b = 1, c = 0; absent d is left out of macros.
    assert m["macro_precision"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert m["per_class"]["b"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert m["num_samples"] == 6 and m["num_correct"] == 4


def test_handshape_accuracy_counts_only_same_handshape_confusions_as_right():
    names = ["0", "O", "v", "a"]  # case differs from the pair list on purpose
    # true 0 read as O (same handshape), O read as a (a real error), v right, a read as 0 (a real error)
    confusion = confusion_matrix([0, 0, 1, 2, 3], [1, 0, 3, 2, 0], 4)
    assert classification_metrics(confusion, names)["accuracy"] == pytest.approx(2 / 5)
    assert handshape_accuracy(confusion, names, (("0", "o"), ("2", "v"))) == pytest.approx(3 / 5)
    assert handshape_accuracy(confusion, ["a", "b", "c", "d"], (("0", "o"),)) is None  # no pair: nothing


def test_a_variant_is_its_builder_with_arguments_fixed():
    for base in ("custom-cnn", "resnet18", "mobilenetv2"):
        variant = f"{base}-se"
        assert "se" in model_arguments(base) and "se" not in model_arguments(variant)
        assert "se" not in resolved_arguments(variant, {})  # checkpoints of the variant stay as they were
        with pytest.raises(SignlensError, match="does not take"):
            create_model(variant, 5, in_chans=3, se=False)
    for base, args in (("custom-cnn", {}), ("mobilenetv2", {"width": 0.35})):
        torch.manual_seed(0)
        a = create_model(f"{base}-se", 5, in_chans=3, **args)
        torch.manual_seed(0)
        b = create_model(base, 5, in_chans=3, se=True, **args)
        assert a.state_dict().keys() == b.state_dict().keys()
        assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
        assert any(isinstance(m, SqueezeExcite) for m in a.modules())
    # Pretrained networks gain attention that starts as the identity; scratch ones a plain gate.
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(SqueezeExcite(16, identity_start=True)(x), x)
    assert not torch.equal(SqueezeExcite(16)(x), x)
