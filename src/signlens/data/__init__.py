"""Data layer: named data sets and paths -> in-memory uint8 image sets, splits, normalisation, augmentation."""

from signlens.data.augment import AugmentConfig, BatchAugment
from signlens.data.sources import data_root, load_data
from signlens.data.splits import split_bundle, stratified_split
from signlens.data.tensors import channel_stats, to_model_tensor
from signlens.data.types import DataBundle, ImageSet

__all__ = [
    "AugmentConfig",
    "BatchAugment",
    "DataBundle",
    "ImageSet",
    "channel_stats",
    "data_root",
    "load_data",
    "split_bundle",
    "stratified_split",
    "to_model_tensor",
]
