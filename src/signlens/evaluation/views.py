"""Scoring several readings of one photo (the photo and its mirrored re-read) as one answer."""

from __future__ import annotations

import numpy as np


def per_photo(logits: np.ndarray, labels: np.ndarray, sources) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows that are views of the same photo (same source) averaged into one row per photo, in order of
    first appearance: (logits, labels, sources)."""
    order: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        order.setdefault(str(source), []).append(i)
    rows = list(order.values())
    return (
        np.stack([logits[r].mean(0) for r in rows]) if rows else logits[:0],
        np.asarray([labels[r[0]] for r in rows]),
        list(order),
    )
