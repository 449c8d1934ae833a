"""Sets of pixels of one detector, kept as sorted flat indices, and label images made of them.

The step flags a few thousand pixels of a few million, and a hand edit touches a handful.
Everything the window derives from the flags per result (counts, the final flags, edge
counts, suspect flags, the comparison with A, the overlay) costs a pass over the whole
detector when it is done on full-frame masks, several milliseconds each on 2048x2048; on
sorted flat indices it costs in proportion to the flags. `PixelSet` is such a set, with
the set operations the window needs and a mask on demand; `LabelLayers` stacks sets into
the overlay's label image (full, or pooled to the screen's scale) without a full-frame
pass for the flags.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LabelLayers", "PixelSet"]

_INDEX = np.int64
# Guards the images that label layers keep (the session's worker and the GUI thread both
# ask for them).
_made_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class PixelSet:
    """Pixels of a detector of ``shape``, as sorted unique flat (row-major) indices.

    Build one with `from_mask`, `from_flat` or `empty`; the constructor trusts that
    ``index`` is sorted, unique, int64 and within the detector.

    Attributes
    ----------
    shape : tuple of int
        The detector's (rows, columns).
    index : numpy.ndarray of int64
        The pixels' flat indices, ascending, read-only.
    """

    shape: tuple[int, int]
    index: np.ndarray
    _mask: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.index.setflags(write=False)

    @classmethod
    def empty(cls, shape: Sequence[int]) -> PixelSet:
        """Return the empty set of a detector of ``shape``."""
        return cls(tuple(int(n) for n in shape), np.empty(0, _INDEX))

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> PixelSet:
        """Return the pixels where ``mask`` (2-D, bool) is true."""
        mask = np.asarray(mask, dtype=bool)
        return cls(mask.shape, np.flatnonzero(mask).astype(_INDEX, copy=False))

    @classmethod
    def of(cls, flags: np.ndarray | PixelSet) -> PixelSet:
        """Return ``flags`` as a pixel set: a set as it is, a boolean mask converted."""
        return flags if isinstance(flags, PixelSet) else cls.from_mask(flags)

    @classmethod
    def from_flat(cls, shape: Sequence[int], index, *, ordered: bool = False) -> PixelSet:
        """Return the pixels at flat indices ``index`` (any order, repeats allowed).

        Parameters
        ----------
        shape : sequence of int
            The detector's shape.
        index : array_like of int
            Flat indices, each within the detector.
        ordered : bool
            True when ``index`` is already ascending without repeats (then it is used as
            it is, without sorting).
        """
        index = np.asarray(index, dtype=_INDEX).reshape(-1)
        if not ordered:
            index = np.unique(index)
        return cls(tuple(int(n) for n in shape), index)

    def __len__(self) -> int:
        return int(self.index.size)

    @property
    def size(self) -> int:
        """How many pixels the set holds."""
        return int(self.index.size)

    def mask(self) -> np.ndarray:
        """Return the set as a boolean image (made once, then kept; read-only)."""
        if not self._mask:
            mask = np.zeros(self.shape, dtype=bool)
            mask.reshape(-1)[self.index] = True
            mask.setflags(write=False)
            self._mask.append(mask)
        return self._mask[0]

    def contains(self, row: int, column: int) -> bool:
        """Return True when pixel (row, column) is in the set (a binary search)."""
        rows, columns = self.shape
        if not (0 <= row < rows and 0 <= column < columns):
            return False
        flat = row * columns + column
        place = int(np.searchsorted(self.index, flat))
        return place < self.index.size and int(self.index[place]) == flat

    def isin(self, flat: np.ndarray) -> np.ndarray:
        """Return, for each flat index of ``flat``, whether it is in the set."""
        flat = np.asarray(flat, dtype=_INDEX)
        if self.index.size == 0:
            return np.zeros(flat.shape, dtype=bool)
        place = np.minimum(np.searchsorted(self.index, flat), self.index.size - 1)
        return self.index[place] == flat

    def rows_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the pixels as (rows, columns), as ``numpy.nonzero`` of the mask gives."""
        return np.divmod(self.index, self.shape[1])

    def _check(self, other: PixelSet) -> None:
        if other.shape != self.shape:
            raise ValueError(f"pixel sets of a {self.shape} and a {other.shape} detector")

    def union(self, other: PixelSet) -> PixelSet:
        """Return the pixels in either set."""
        self._check(other)
        if not other.size:
            return self
        if not self.size:
            return other
        return PixelSet(self.shape, np.union1d(self.index, other.index))

    def difference(self, other: PixelSet) -> PixelSet:
        """Return the pixels of this set that are not in ``other``."""
        self._check(other)
        if not other.size or not self.size:
            return self
        return PixelSet(self.shape, self.index[~other.isin(self.index)])

    def intersection(self, other: PixelSet) -> PixelSet:
        """Return the pixels in both sets."""
        self._check(other)
        if not self.size:
            return self
        if not other.size:
            return other
        return PixelSet(self.shape, self.index[other.isin(self.index)])



@dataclass(frozen=True, eq=False)
class LabelLayers:
    """A label image described as pixel sets, each with its label value.

    The image holds, at each pixel, the largest value of the layers that contain it, or
    the base's value there (0 without a base). The overlay's precedence is so expressed
    by the values: a larger value wins, where labels are pooled for display too.

    Attributes
    ----------
    shape : tuple of int
        The detector's shape.
    layers : tuple of (int, PixelSet)
        Label values (1 to 255) with their pixels.
    base : LabelLayers or None
        Layers under these, every value of which is below theirs: the pixels already
        DO_NOT_USE, which stay while the flags change. Its images are kept with it, so
        results that share a base do not pool it again.
    """

    shape: tuple[int, int]
    layers: tuple[tuple[int, PixelSet], ...]
    base: LabelLayers | None = None
    _made: dict = field(default_factory=dict, repr=False, compare=False)

    def image(self) -> np.ndarray:
        """Return the label image (uint8, the detector's shape; made once, read-only)."""
        return self.pooled(1)

    def pooled(self, factor: int) -> np.ndarray:
        """Return the label image reduced by ``factor`` along both axes, each block's maximum.

        Drawn at full resolution on a zoomed-out view, a one-pixel flag falls between
        screen pixels and vanishes; pooled to the screen's scale, every flag stays
        visible. The image has ``ceil(rows / factor) x ceil(columns / factor)`` pixels
        and costs in proportion to the layers' pixels plus its own size, never a pass
        over the detector. The image of the last factor asked for is kept (read-only): a
        view needs one at a time, and a full-size one is 4 MiB on 2048x2048.
        """
        factor = max(1, int(factor))
        with _made_lock:
            found = self._made.get(factor)
        if found is None:
            found = self._pool(factor)
            found.setflags(write=False)
            with _made_lock:
                self._made.clear()
                self._made[factor] = found
        return found

    def _pool(self, factor: int) -> np.ndarray:
        rows, columns = self.shape
        pooled_columns = -(-columns // factor)
        if self.base is not None:
            pooled = self.base.pooled(factor).copy()
        else:
            pooled = np.zeros((-(-rows // factor), pooled_columns), dtype=np.uint8)
        flat = pooled.reshape(-1)
        # In increasing value, so that where several layers meet the largest is written
        # last; a pixel of a layer lands in the block holding it.
        for value, pixels in sorted(self.layers, key=lambda layer: layer[0]):
            if not pixels.size:
                continue
            if factor == 1:
                flat[pixels.index] = value
                continue
            row, column = np.divmod(pixels.index, columns)
            flat[(row // factor) * pooled_columns + column // factor] = value
        return pooled
