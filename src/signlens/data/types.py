"""The data types every layer above shares: a set of samples and a bundle of train/test sets.

They live apart from the loaders so that every loader (CSV, folders, landmark files) can build them
without importing another loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ImageSet:
    images: np.ndarray  # uint8, (N, H, W, C)
    labels: np.ndarray  # int64, (N,), indices into class_names
    class_names: list[str]
    sources: list[str]  # file name, or "file.csv:row" for CSV rows
    groups: list[str] | None = None  # e.g. signer or take, for grouped splits

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> ImageSet:
        return ImageSet(
            self.images[index],
            self.labels[index],
            self.class_names,
            [self.sources[i] for i in index],
            None if self.groups is None else [self.groups[i] for i in index],
        )


@dataclass
class DataBundle:
    """A training set and (when the data has one) its official test set."""

    name: str
    train: ImageSet | None
    test: ImageSet | None
    checksums: dict[str, str] = field(default_factory=dict)
    test_is_official: bool = True
    kind: str = "image"  # "image": uint8 (N, H, W, C); "landmarks": float32 canonical points (N, 21, 3)

    @property
    def class_names(self) -> list[str]:
        return (self.train or self.test).class_names
