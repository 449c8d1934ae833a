"""Plain, obviously right versions of what the package computes faster, for the tests."""

from __future__ import annotations

import numpy as np


def pool_labels(labels: np.ndarray, factor: int) -> np.ndarray:
    """Each ``factor`` x ``factor`` block's largest label (blocks past the edge padded with 0)."""
    if factor <= 1:
        return labels
    rows, columns = labels.shape
    padded = np.zeros((-(-rows // factor) * factor, -(-columns // factor) * factor),
                      dtype=labels.dtype)
    padded[:rows, :columns] = labels
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.max(axis=(1, 3))


def source_index(combined, images) -> np.ndarray:
    """Per pixel, the first exposure whose value less its pedestal is the minimum (-1: none).

    ``combined`` is what `badpix_inspector.core.combine` returned for ``images``.
    """
    index = np.full(combined.image.shape, -1, dtype=np.int16)
    # Backwards, so that on ties the first exposure is written last.
    for number in range(len(images) - 1, -1, -1):
        pedestal = combined.pedestals[number]
        adjusted = images[number] if pedestal is None else images[number] - pedestal
        index[adjusted == combined.image] = number
    return index
