"""Data layer: named data sets and paths -> in-memory uint8 image sets, splits, normalisation, augmentation.

The names below load on first use, so reading a photo (data.images) imports no torch.
"""

from importlib import import_module

# Public name -> the module that defines it.
_LAZY = {
    "AugmentConfig": "signlens.data.augment",
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


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'signlens.data' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
