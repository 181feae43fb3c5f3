"""A run's data and splits, rebuilt from its config: the one place train, val, export and audit draw them."""

from __future__ import annotations

from signlens.data import DataBundle, ImageSet, load_data, split_bundle
from signlens.engine.config import TrainConfig


def run_splits(
    config: TrainConfig,
    data: str | None = None,
    img_size: int | None = None,
    in_chans: int | None = None,
) -> tuple[DataBundle, ImageSet | None, ImageSet | None, ImageSet]:
    """(bundle, train, val, test) as a run with `config` draws them, from `data` (default: the run's
    own). An evaluation-only file has no train or val; its whole content is the test set."""
    bundle = load_data(
        data or config.data,
        img_size if img_size is not None else config.img_size,
        in_chans if in_chans is not None else config.in_chans,
        config.landmarks.points,
        config.classes,
    )
    if bundle.train is None:
        return bundle, None, None, bundle.test
    train, val, test = split_bundle(bundle, config.val_fraction, config.test_fraction, config.split_seed)
    return bundle, train, val, test
