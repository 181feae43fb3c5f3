"""Data layer: named data sets and paths -> in-memory uint8 image sets, splits, normalisation, augmentation.

The names below load on first use, so reading a photo (data.images) imports no torch.
"""

from signlens.io import lazy_exports

# Public name -> the module that defines it.
_LAZY = {
    "AugmentConfig": "signlens.data.configs",
    "BatchAugment": "signlens.data.augment",
    "DataBundle": "signlens.data.types",
    "ImageSet": "signlens.data.types",
    "channel_stats": "signlens.data.tensors",
    "data_root": "signlens.data.sources",
    "load_data": "signlens.data.sources",
    "split_bundle": "signlens.data.splits",
    "stratified_split": "signlens.data.splits",
    "to_model_tensor": "signlens.data.tensors",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
