"""What the flags amount to: counts, robust sigma, edge counts and the overlay's labels.

Plain functions on arrays (no Qt, no files), used by the window's session model and
tested on their own. The flags of one result are a `FlagPixels`: pixel sets (sorted flat
indices, `PixelSet`), so that everything derived from them per result costs in proportion
to the flags, not to the detector. The names follow the rest of the package:
``already_bad`` are the science pixels that were DO_NOT_USE before the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .dqflags import PackedDQ
from .pixelsets import LabelLayers, PixelSet
from .stages import DO_NOT_USE, Thresholds, count_sorted

__all__ = [
    "LABEL_ALREADY_BAD",
    "LABEL_FORCED_BAD",
    "LABEL_FORCED_GOOD",
    "LABEL_HIGH",
    "LABEL_LOW",
    "LABEL_NONE",
    "FlagPixels",
    "FlagStatistics",
    "already_bad_labels",
    "already_bad_mask",
    "count_edge_flags",
    "flag_statistics",
    "robust_sigma_sorted",
]

#: Values of the overlay label image, in order of precedence: where labels are pooled for
#: display, the larger wins, so a flag is never hidden by a pre-existing DO_NOT_USE, and a
#: hand edit is never hidden by the algorithm's flags.
LABEL_NONE, LABEL_ALREADY_BAD, LABEL_LOW, LABEL_HIGH = 0, 1, 2, 3
LABEL_FORCED_BAD, LABEL_FORCED_GOOD = 4, 5


@dataclass(frozen=True)
class FlagStatistics:
    """What the flags amount to, for the statistics panel.

    Attributes
    ----------
    n_low, n_high, n_total : int
        Pixels flagged below the low and above the high threshold, and both.
    n_finite : int
        Finite pixels of the difference image (the denominator of the fractions).
    n_already_bad : int
        Science pixels already DO_NOT_USE before the step.
    n_flagged_already_bad : int
        Flagged pixels that were already DO_NOT_USE.
    n_edge : int
        Flags within ``kernel_size // 2`` of the detector edge along the filter window,
        where the zero padding biases the filtered image low.
    thresholds : Thresholds
        The limits in data units.
    sigma : float
        Robust sigma of the difference image: 1.4826 x its median absolute deviation.
    n_forced_bad, n_forced_good : int
        Pixels forced bad and forced good by hand.
    n_final : int
        Pixels flagged in the end: ``(algorithm | forced bad) & ~forced good``.
    """

    n_low: int
    n_high: int
    n_total: int
    n_finite: int
    n_already_bad: int
    n_flagged_already_bad: int
    n_edge: int
    thresholds: Thresholds
    sigma: float
    n_forced_bad: int = 0
    n_forced_good: int = 0
    n_final: int = 0

    @property
    def fraction(self) -> float:
        """Flagged fraction of the finite pixels."""
        return self.n_total / self.n_finite if self.n_finite else 0.0


def already_bad_mask(dq: np.ndarray | PackedDQ | None, shape: tuple[int, ...]) -> np.ndarray:
    """Return the pixels whose DQ has DO_NOT_USE (all False without a DQ array)."""
    if dq is None:
        return np.zeros(shape, dtype=bool)
    if isinstance(dq, PackedDQ):
        return dq.any_set(DO_NOT_USE)
    return (dq & DO_NOT_USE) != 0


def already_bad_labels(already_bad: PixelSet) -> LabelLayers:
    """Return the label layers of the pixels already DO_NOT_USE (the overlay's base)."""
    return LabelLayers(already_bad.shape, ((LABEL_ALREADY_BAD, already_bad),))


@dataclass(frozen=True, eq=False)
class FlagPixels:
    """The flags of one result, as pixel sets.

    Attributes
    ----------
    low, high : PixelSet
        The algorithm's flags below the low and above the high threshold.
    forced_bad, forced_good : PixelSet
        The hand edits (disjoint).
    already_bad : PixelSet
        Science pixels DO_NOT_USE before the step.
    base : LabelLayers or None
        The overlay's layers of ``already_bad``, shared by the results of one science
        exposure (see `labels`); made here when not given.
    """

    low: PixelSet
    high: PixelSet
    forced_bad: PixelSet
    forced_good: PixelSet
    already_bad: PixelSet
    base: LabelLayers | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """The detector's shape."""
        return self.low.shape

    @property
    def edited(self) -> bool:
        """True when some pixel is forced bad or good."""
        return bool(self.forced_bad.size or self.forced_good.size)

    @cached_property
    def algorithm(self) -> PixelSet:
        """The algorithm's flags: low and high."""
        return self.low.union(self.high)

    @cached_property
    def final(self) -> PixelSet:
        """The flags in the end: ``(algorithm | forced bad) & ~forced good``."""
        return self.algorithm.union(self.forced_bad).difference(self.forced_good)

    @cached_property
    def labels(self) -> LabelLayers:
        """The overlay's labels: already DO_NOT_USE, low, high, forced bad, forced good.

        In that order of precedence (the larger ``LABEL_*`` value wins): a flag is never
        hidden by a pre-existing DO_NOT_USE, nor a hand edit by the algorithm's flags.
        """
        base = self.base if self.base is not None else already_bad_labels(self.already_bad)
        return LabelLayers(self.shape, (
            (LABEL_LOW, self.low), (LABEL_HIGH, self.high),
            (LABEL_FORCED_BAD, self.forced_bad), (LABEL_FORCED_GOOD, self.forced_good),
        ), base=base)  # fmt: skip


def _kth_distance(values: np.ndarray, centre: float, split: int, k: int) -> float:
    """Return the k-th smallest (0-based) of ``|values - centre|`` for sorted ``values``.

    ``values[:split]`` lie below ``centre`` and ``values[split:]`` at or above it, so the
    distances form two ascending runs, ``centre - values[split-1::-1]`` and
    ``values[split:] - centre``: the k-th smallest of both is found by bisecting on how
    many come from the first run, without building either.
    """
    below, above = split, values.size - split

    def near(j: int) -> float:  # j-th smallest distance below the centre
        return centre - float(values[split - 1 - j])

    def far(j: int) -> float:  # j-th smallest distance above it
        return float(values[split + j]) - centre

    low, high = max(0, k + 1 - above), min(k + 1, below)
    while low < high:  # take `taken` from below and k + 1 - taken from above
        taken = (low + high) // 2
        if far(k - taken) > near(taken):
            low = taken + 1
        else:
            high = taken
    taken = low
    candidates = []
    if taken > 0:
        candidates.append(near(taken - 1))
    if k + 1 - taken > 0:
        candidates.append(far(k - taken))
    return max(candidates)


def robust_sigma_sorted(values: np.ndarray) -> float:
    """Return 1.4826 x the median absolute deviation of sorted finite ``values``.

    Equal to ``1.4826 * np.median(np.abs(values - np.median(values)))`` (in float64),
    in O(log n) instead of two passes over the data; NaN for an empty array.
    """
    size = values.size
    if size == 0:
        return float("nan")
    middle = (size - 1) // 2, size // 2
    centre = 0.5 * (float(values[middle[0]]) + float(values[middle[1]]))
    split = count_sorted(values, centre, side="left")
    low = _kth_distance(values, centre, split, middle[0])
    high = _kth_distance(values, centre, split, middle[1])
    return 1.4826 * 0.5 * (low + high)


def count_edge_flags(flags: np.ndarray | PixelSet, half: int, dispaxis: int | None) -> int:
    """Count flags within ``half`` pixels of the edges the filter window runs into.

    Parameters
    ----------
    flags : numpy.ndarray of bool or PixelSet
        The algorithm's flags.
    half : int
        ``kernel_size // 2``.
    dispaxis : {1, 2, None}
        1: the window runs along columns (left and right bands); 2: along rows (top and
        bottom bands); None: a square window (all four).

    Returns
    -------
    int
        Flags in those bands, each pixel counted once.
    """
    flags = PixelSet.of(flags)
    if half == 0 or not flags.size:
        return 0
    rows, columns = flags.shape
    row, column = flags.rows_columns()
    edge = np.zeros(flags.size, dtype=bool)
    if dispaxis in (2, None):  # the window runs along rows: top and bottom bands
        edge |= (row < half) | (row >= rows - half)
    if dispaxis in (1, None):  # along columns: left and right bands
        edge |= (column < half) | (column >= columns - half)
    return int(np.count_nonzero(edge))


def flag_statistics(
    *,
    pixels: FlagPixels,
    n_finite: int,
    kernel_size: int,
    dispaxis: int | None,
    thresholds: Thresholds,
    sigma: float,
) -> FlagStatistics:
    """Count what the flags amount to.

    Parameters
    ----------
    pixels : FlagPixels
        The flags and hand edits.
    n_finite : int
        Finite pixels of the difference image.
    kernel_size : int
        The filter length (the edge bands are ``kernel_size // 2`` wide).
    dispaxis : {1, 2, None}
        The dispersion axis in use.
    thresholds : Thresholds
        The limits in data units.
    sigma : float
        Robust sigma of the difference image.

    Returns
    -------
    FlagStatistics
    """
    n_low, n_high = pixels.low.size, pixels.high.size
    algorithm = pixels.algorithm
    return FlagStatistics(
        n_low=n_low, n_high=n_high, n_total=n_low + n_high, n_finite=n_finite,
        n_already_bad=pixels.already_bad.size,
        n_flagged_already_bad=algorithm.intersection(pixels.already_bad).size,
        n_edge=count_edge_flags(algorithm, kernel_size // 2, dispaxis),
        thresholds=thresholds, sigma=sigma,
        n_forced_bad=pixels.forced_bad.size, n_forced_good=pixels.forced_good.size,
        n_final=pixels.final.size,
    )  # fmt: skip
