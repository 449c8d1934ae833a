"""What the flags amount to: counts, robust sigma, edge counts and the overlay's label image.

Plain functions on arrays (no Qt, no files), used by the window's session model and
tested on their own. The names follow the rest of the package: ``already_bad`` are the
science pixels that were DO_NOT_USE before the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stages import DO_NOT_USE, Thresholds

__all__ = [
    "LABEL_ALREADY_BAD",
    "LABEL_FORCED_BAD",
    "LABEL_FORCED_GOOD",
    "LABEL_HIGH",
    "LABEL_LOW",
    "LABEL_NONE",
    "FlagStatistics",
    "already_bad_mask",
    "count_edge_flags",
    "flag_labels",
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


def already_bad_mask(dq: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Return the pixels whose DQ has DO_NOT_USE (all False without a DQ array)."""
    if dq is None:
        return np.zeros(shape, dtype=bool)
    return (dq & DO_NOT_USE) != 0


def flag_labels(
    already_bad: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    forced_bad: np.ndarray | None = None,
    forced_good: np.ndarray | None = None,
) -> np.ndarray:
    """Return the overlay's label image (uint8, one ``LABEL_*`` value per pixel).

    Precedence: forced good and forced bad (hand edits) over high, over low, over
    already DO_NOT_USE.
    """
    labels = already_bad.view(np.uint8) * np.uint8(LABEL_ALREADY_BAD)
    np.maximum(labels, low.view(np.uint8) * np.uint8(LABEL_LOW), out=labels)
    np.maximum(labels, high.view(np.uint8) * np.uint8(LABEL_HIGH), out=labels)
    if forced_bad is not None:
        labels[forced_bad] = LABEL_FORCED_BAD
    if forced_good is not None:
        labels[forced_good] = LABEL_FORCED_GOOD
    return labels


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
    split = int(np.searchsorted(values, centre, side="left"))
    low = _kth_distance(values, centre, split, middle[0])
    high = _kth_distance(values, centre, split, middle[1])
    return 1.4826 * 0.5 * (low + high)


def count_edge_flags(flags: np.ndarray, half: int, dispaxis: int | None) -> int:
    """Count flags within ``half`` pixels of the edges the filter window runs into.

    Parameters
    ----------
    flags : numpy.ndarray of bool
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
    if half == 0:
        return 0
    rows, columns = flags.shape
    if rows <= 2 * half or columns <= 2 * half:  # the bands overlap: count through a mask
        edge = np.zeros(flags.shape, dtype=bool)
        if dispaxis in (2, None):
            edge[:half, :] = edge[-half:, :] = True
        if dispaxis in (1, None):
            edge[:, :half] = edge[:, -half:] = True
        return int(np.count_nonzero(flags & edge))
    count = 0
    if dispaxis in (2, None):  # the window runs along rows: top and bottom bands
        count += int(np.count_nonzero(flags[:half])) + int(np.count_nonzero(flags[-half:]))
    if dispaxis in (1, None):  # along columns: left and right bands (corners counted once)
        middle = slice(half, rows - half) if dispaxis is None else slice(None)
        count += int(np.count_nonzero(flags[middle, :half]))
        count += int(np.count_nonzero(flags[middle, -half:]))
    return count


def flag_statistics(
    *,
    counts: tuple[int, int],
    n_finite: int,
    flags: np.ndarray,
    final: np.ndarray,
    already_bad: np.ndarray,
    kernel_size: int,
    dispaxis: int | None,
    thresholds: Thresholds,
    sigma: float,
    forced_bad: np.ndarray | None = None,
    forced_good: np.ndarray | None = None,
) -> FlagStatistics:
    """Count what the flags amount to.

    Parameters
    ----------
    counts : (int, int)
        Pixels below the low and above the high threshold (from the sorted difference).
    n_finite : int
        Finite pixels of the difference image.
    flags, final : numpy.ndarray of bool
        The algorithm's flags, and the flags with the hand edits (may be ``flags`` itself).
    already_bad : numpy.ndarray of bool
        Science pixels DO_NOT_USE before the step.
    kernel_size : int
        The filter length (the edge bands are ``kernel_size // 2`` wide).
    dispaxis : {1, 2, None}
        The dispersion axis in use.
    thresholds : Thresholds
        The limits in data units.
    sigma : float
        Robust sigma of the difference image.
    forced_bad, forced_good : numpy.ndarray of bool, optional
        The hand edits.

    Returns
    -------
    FlagStatistics
    """
    n_low, n_high = counts
    return FlagStatistics(
        n_low=n_low, n_high=n_high, n_total=n_low + n_high, n_finite=n_finite,
        n_already_bad=int(np.count_nonzero(already_bad)),
        n_flagged_already_bad=int(np.count_nonzero(flags & already_bad)),
        n_edge=count_edge_flags(flags, kernel_size // 2, dispaxis),
        thresholds=thresholds, sigma=sigma,
        n_forced_bad=0 if forced_bad is None else int(np.count_nonzero(forced_bad)),
        n_forced_good=0 if forced_good is None else int(np.count_nonzero(forced_good)),
        n_final=int(np.count_nonzero(final)) if final is not flags else n_low + n_high,
    )  # fmt: skip
