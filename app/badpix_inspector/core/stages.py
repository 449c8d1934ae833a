"""The step's algorithm, in stages that can be cached apart.

combine (MIRI pedestal + nanmin) -> smooth (kernel, axis) -> thresholds (fractions)
-> flags -> apply. Each stage is a plain function on arrays; `SelfcalStages` keeps the
results and recomputes only what a change of input or parameter invalidates, so that a
flag-fraction change reuses the filtered image.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import kernels
from .medfilt import median_filter
from .parameters import SelfcalParameters, validate_dispaxis
from .pixelsets import PixelSet

__all__ = [
    "DO_NOT_USE",
    "FLAGGED_PLANES",
    "FLAG_BITS",
    "OTHER_BAD_PIXEL",
    "Combined",
    "Filtered",
    "SelfcalStages",
    "Thresholds",
    "apply_flags",
    "combine",
    "count_sorted",
    "filter_combined",
    "flag_mask",
    "flag_sides",
    "pedestal_region",
    "smooth",
    "thresholds",
]

DO_NOT_USE = np.uint32(1)
OTHER_BAD_PIXEL = np.uint32(2**30)
#: What the step ORs into DQ at a flagged pixel.
FLAG_BITS = DO_NOT_USE | OTHER_BAD_PIXEL
#: Planes that get NaN at flagged pixels, where they exist (FITS extension names).
FLAGGED_PLANES = ("SCI", "ERR", "VAR_POISSON", "VAR_RNOISE", "VAR_FLAT")

# The dark region between the two MRS channels of each MIRI IFU detector, from which the
# pipeline estimates the residual pedestal: (rows, columns), zero-based, end-exclusive.
_PEDESTAL_REGIONS = {
    "MIRIFULONG": (slice(50, 974), slice(474, 507)),
    "MIRIFUSHORT": (slice(50, 974), slice(503, 516)),
}


def pedestal_region(detector: str | None) -> tuple[slice, slice] | None:
    """Return the inter-channel region used for the pedestal, or None for other detectors.

    Parameters
    ----------
    detector : str or None
        The science exposure's ``DETECTOR`` keyword (case is ignored).

    Returns
    -------
    tuple of slice or None
        Row and column slices for MIRIFULONG and MIRIFUSHORT, else None.
    """
    if not detector:
        return None
    return _PEDESTAL_REGIONS.get(detector.strip().upper())


@dataclass(frozen=True)
class Combined:
    """The result of the combine stage.

    Attributes
    ----------
    image : numpy.ndarray
        Pixelwise nanmin of the (pedestal-subtracted) exposures.
    pedestals : tuple of float or None
        The pedestal subtracted from each exposure, in input order (None where none was).
    source : numpy.ndarray or None
        Per pixel, which exposure supplied the minimum, when `combine` was asked for it:
        the first whose value (less its pedestal) is the minimum, -1 where all are NaN
        (int8, or int16 beyond 127 exposures).
    """

    image: np.ndarray
    pedestals: tuple[float | None, ...]
    source: np.ndarray | None = None



def _subtract_pedestal(image: np.ndarray, pedestal: float | None) -> np.ndarray:
    if pedestal is None:
        return image
    # The pedestal has the image's dtype, so float32 data stay float32 (as in jwst).
    return image - pedestal


def combine(
    images: Iterable[np.ndarray], detector: str | None, *, with_source: bool = False
) -> Combined:
    """Combine exposures into the minimum image that the step filters.

    Parameters
    ----------
    images : iterable of numpy.ndarray
        The science SCI first, then every background and selfcal SCI; all the same shape.
        May be a generator: only the running minimum is kept, so exposures can be read
        one at a time.
    detector : str or None
        The science exposure's ``DETECTOR``: for MIRIFULONG and MIRIFUSHORT each image has
        the nanmedian of its own inter-channel region subtracted first.
    with_source : bool
        Also note, per pixel, which exposure supplied the minimum (``Combined.source``).

    Returns
    -------
    Combined
        The minimum image and the pedestals subtracted.
    """
    region = pedestal_region(detector)
    pedestals: list[float | None] = []
    minimum: np.ndarray | None = None
    source: np.ndarray | None = None
    for number, image in enumerate(images):
        if minimum is not None and image.shape != minimum.shape:
            raise ValueError(f"images differ in shape: {minimum.shape} and {image.shape}")
        pedestal = None
        if region is not None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
                pedestal = np.nanmedian(image[region])
        pedestals.append(pedestal)
        adjusted = _subtract_pedestal(image, pedestal)
        if minimum is None:
            minimum = np.array(adjusted, copy=True)
            if with_source:
                source = np.where(np.isnan(minimum), np.int8(-1), np.int8(0))
        else:
            if with_source:
                # Strictly below the minimum so far (or a number where it is NaN): on a
                # tie the first exposure holding the minimum keeps it.
                below = (adjusted < minimum) | (np.isnan(minimum) & ~np.isnan(adjusted))
                if number > np.iinfo(source.dtype).max:
                    source = source.astype(np.int16)
                source[below] = number
            # fmin ignores a NaN on either side, so all-NaN pixels alone stay NaN: the same
            # values as nanmin over the stack, without stacking every exposure in memory.
            np.fmin(minimum, adjusted, out=minimum)
    if minimum is None:
        raise ValueError("combine needs at least one image")
    return Combined(image=minimum, pedestals=tuple(pedestals), source=source)


def smooth(combined: np.ndarray, kernel_size: int, dispaxis: int | None) -> np.ndarray:
    """Median-filter the combined image along the dispersion axis (see `median_filter`)."""
    return median_filter(combined, kernel_size, dispaxis)


@dataclass(frozen=True)
class Thresholds:
    """The flagging limits on the difference image: flag where ``diff < low`` or ``> high``."""

    low: float
    high: float


def thresholds(
    difference: np.ndarray,
    flagfrac_lower: float,
    flagfrac_upper: float,
    *,
    compiled: bool | None = None,
) -> Thresholds:
    """Return the percentile limits of the difference image, exactly as jwst computes them.

    Parameters
    ----------
    difference : numpy.ndarray
        The combined image minus the filtered one (NaNs ignored). A 1-D array of its
        non-NaN values, sorted (see `Filtered.sorted_values`), gives the same limits.
    flagfrac_lower, flagfrac_upper : float
        Fractions of pixels to flag at each end.
    compiled : bool, optional
        None (the default): use the compiled tail kernel when `kernels.ready` is true;
        True: load it first (blocking); False: numpy only. All give the same limits.

    Returns
    -------
    Thresholds
        ``numpy.nanpercentile(difference, [100 * lower, 100 * (1 - upper)])``.
    """
    # nanpercentile drops the NaNs, then interpolates on what is left; the numbers it uses
    # depend only on the values' order, so the sorted values give identical limits.
    percentiles = [flagfrac_lower * 100, (1 - flagfrac_upper) * 100]
    if compiled:
        kernels.warm_up(background=False)
    if compiled is not False and kernels.ready():
        limits = kernels.percentile_limits(difference, percentiles)
        if limits is not None:
            return Thresholds(low=limits[0], high=limits[1])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        low, high = np.nanpercentile(difference, percentiles)
    return Thresholds(low=low, high=high)


def flag_mask(difference: np.ndarray, limits: Thresholds) -> np.ndarray:
    """Return the boolean mask of flagged pixels: strictly beyond either limit (never NaN).

    The limits are float64; for float32 data they are first moved to float32 bounds that
    give the same comparisons (see `_exact_bounds`), which spares converting the array.
    """
    if difference.dtype == np.float32:
        low, high = _exact_bounds(limits, difference.dtype)
    else:
        low, high = limits.low, limits.high
    return (difference > high) | (difference < low)


def flag_sides(difference: np.ndarray, limits: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """Return the masks of pixels strictly below ``low`` and strictly above ``high``.

    Their union is `flag_mask`; compared through the same exact bounds, so that float32
    data are not converted to float64 on the way.
    """
    if difference.dtype == np.float32:
        low, high = _exact_bounds(limits, difference.dtype)
    else:
        low, high = limits.low, limits.high
    return difference < low, difference > high


def apply_flags(
    planes: Mapping[str, np.ndarray | None], mask: np.ndarray, *, in_place: bool = False
) -> dict[str, np.ndarray]:
    """Flag an exposure's planes as the step does, returning new arrays.

    Parameters
    ----------
    planes : mapping of str to numpy.ndarray or None
        Extension name (``SCI``, ``ERR``, ``DQ``, ``VAR_POISSON``, ``VAR_RNOISE``,
        ``VAR_FLAT``) to array; missing planes may be absent or None.
    mask : numpy.ndarray of bool
        The flagged pixels.
    in_place : bool
        Modify the given arrays where possible (a uint32 DQ, the float planes) instead of
        copying them: for a writer that owns them, this saves a copy of every plane.

    Returns
    -------
    dict of str to numpy.ndarray
        ``DQ`` with ``DO_NOT_USE | OTHER_BAD_PIXEL`` ORed in (created as uint32 zeros when
        missing, as jwst's datamodels do) and NaN at flagged pixels in every float plane
        of `FLAGGED_PLANES` that was given. Unless ``in_place``, the inputs are not modified.
    """
    flagged: dict[str, np.ndarray] = {}
    dq = planes.get("DQ")
    if dq is None:
        dq = np.zeros(mask.shape, dtype=np.uint32)
    else:
        dq = np.array(dq, dtype=np.uint32, copy=None if in_place else True)
    dq[mask] |= FLAG_BITS
    flagged["DQ"] = dq
    for name in FLAGGED_PLANES:
        plane = planes.get(name)
        if plane is None:
            continue
        plane = np.array(plane, copy=None if in_place else True)
        plane[mask] = np.nan
        flagged[name] = plane
    return flagged


@dataclass(frozen=True)
class Filtered:
    """The result of the smoothing stage for one kernel size and axis.

    Attributes
    ----------
    kernel_size : int
    dispaxis : int or None
    smoothed : numpy.ndarray
        The median-filtered combined image.
    difference : numpy.ndarray
        ``combined - smoothed``.
    """

    kernel_size: int
    dispaxis: int | None
    smoothed: np.ndarray
    difference: np.ndarray

    @cached_property
    def sorted_values(self) -> np.ndarray:
        """The non-NaN values of ``difference`` (±inf included), sorted; computed on first use.

        Thresholds and flag counts for any fractions come from it without another pass
        over the image (an index, then two binary searches), which is what the window
        needs while a slider moves. ±inf count as nanpercentile and the flags count them.
        """
        values = kernels.sorted_non_nan(self.difference)
        if values is None:
            values = self.difference[~np.isnan(self.difference)]
            values.sort()
        return values

    @property
    def is_sorted(self) -> bool:
        """True once `sorted_values` has been computed (asking for it then costs nothing)."""
        return "sorted_values" in self.__dict__

    @cached_property
    def finite_count(self) -> int:
        """How many values of ``difference`` are finite (the fractions' denominator)."""
        if self.is_sorted:
            return int(self.sorted_finite.size)
        # In blocks of rows: no full-frame mask (4 MiB on 2048x2048) for one number.
        flat = self.difference.reshape(-1)
        step = 1 << 18
        return sum(int(np.count_nonzero(np.isfinite(flat[start:start + step])))
                   for start in range(0, flat.size, step))

    @property
    def sorted_finite(self) -> np.ndarray:
        """The finite values of ``difference``, sorted: a view into `sorted_values`."""
        values = self.sorted_values
        start = int(np.searchsorted(values, values.dtype.type(-np.inf), side="right"))
        stop = int(np.searchsorted(values, values.dtype.type(np.inf), side="left"))
        return values[start:stop]

    def thresholds(self, flagfrac_lower: float, flagfrac_upper: float) -> Thresholds:
        """Return the limits for these fractions (see `thresholds`).

        Indexes the sorted values once something has asked for them (the window does, for
        its counts); a single query goes to the tail kernel or nanpercentile, cheaper than
        sorting first. All give the same limits.
        """
        sorted_values = self.__dict__.get("sorted_values")
        percentiles = [flagfrac_lower * 100, (1 - flagfrac_upper) * 100]
        if sorted_values is not None and sorted_values.size:
            low, high = kernels.sorted_percentiles(sorted_values, percentiles)
            return Thresholds(low=low, high=high)
        return thresholds(self.difference, flagfrac_lower, flagfrac_upper)

    def count_beyond(self, limits: Thresholds) -> tuple[int, int]:
        """Return how many pixels lie below ``low`` and above ``high`` (strictly).

        The same pixels as `flag_mask` marks. The limits are float64 and the values often
        float32: the limits are moved to the nearest values of the data's dtype that keep
        the comparisons exact, so that the binary search does not convert the whole array.
        """
        values = self.sorted_values
        low, high = _exact_bounds(limits, values.dtype)
        # A NaN limit (numpy's lerp between two equal infinities) compares false: no flag.
        below = 0 if np.isnan(low) else int(np.searchsorted(values, low, side="left"))
        above = 0 if np.isnan(high) else (
            values.size - int(np.searchsorted(values, high, side="right"))
        )
        return below, above

    def beyond(
        self, limits: Thresholds, counts: tuple[int, int] | None = None
    ) -> tuple[PixelSet, PixelSet]:
        """Return the pixels strictly below ``low`` and strictly above ``high``.

        The pixels `flag_sides` marks, found in one pass that keeps only their indices
        (the compiled kernel when it is ready, else numpy). ``counts``, when known (from
        `count_beyond`), sizes the kernel's buffers exactly.
        """
        difference = self.difference
        bounds = _exact_bounds(limits, difference.dtype)
        found = kernels.beyond(difference, *bounds, counts=counts)
        if found is None:
            found = (np.flatnonzero(difference < bounds[0]),
                     np.flatnonzero(difference > bounds[1]))
        shape = difference.shape
        return (PixelSet.from_flat(shape, found[0], ordered=True),
                PixelSet.from_flat(shape, found[1], ordered=True))

    def flags_for(
        self, flagfrac_lower: float, flagfrac_upper: float
    ) -> tuple[Thresholds, PixelSet, PixelSet]:
        """Return the limits for these fractions and the pixels beyond them (low, high).

        Once the values are sorted (`sorted_values`), the limits are an index into them
        and the counts two binary searches; before, the compiled tail kernel gives the
        limits and the flags together from one pass that keeps only the tails, which is
        cheaper than sorting first. Otherwise `thresholds` and `beyond`. All give the same
        limits and pixels.
        """
        if self.is_sorted:
            limits = self.thresholds(flagfrac_lower, flagfrac_upper)
            return (limits, *self.beyond(limits, self.count_beyond(limits)))
        percentiles = [flagfrac_lower * 100, (1 - flagfrac_upper) * 100]
        found = kernels.percentile_limits(self.difference, percentiles, with_flags=True)
        if found is not None:
            (low, high), (low_index, high_index), finite = found
            self.__dict__.setdefault("finite_count", finite)  # counted on the way: kept
            shape = self.difference.shape
            return (Thresholds(low=low, high=high),
                    PixelSet.from_flat(shape, low_index, ordered=True),
                    PixelSet.from_flat(shape, high_index, ordered=True))
        limits = self.thresholds(flagfrac_lower, flagfrac_upper)
        return (limits, *self.beyond(limits))

    def flag_indices(
        self, flagfrac_lower: float, flagfrac_upper: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the flagged pixels as ``numpy.where`` gives them (see `flags_for`)."""
        _, low, high = self.flags_for(flagfrac_lower, flagfrac_upper)
        return low.union(high).rows_columns()


def _in_dtype(value: float, dtype: np.dtype, upward: bool) -> np.generic:
    """Return the value of ``dtype`` nearest ``value`` on one side of it.

    The smallest at or above ``value`` (``upward``) or the largest at or below it: for
    values x of ``dtype``, ``x < value`` exactly when x is below the first, and
    ``x > value`` exactly when above the second. The comparison is made in float64 (a
    Python float would be cast to the dtype first). NaN stays NaN; float64 data take the
    value as it is.
    """
    value = np.float64(value)
    kind = dtype.type
    if dtype == np.float64 or np.isnan(value):
        return kind(value)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        bound = kind(value)
    if upward and np.float64(bound) < value:
        return np.nextafter(bound, kind(np.inf))
    if not upward and np.float64(bound) > value:
        return np.nextafter(bound, kind(-np.inf))
    return bound


def _exact_bounds(limits: Thresholds, dtype: np.dtype) -> tuple[np.generic, np.generic]:
    """Bounds in ``dtype`` with the same strict comparisons as the float64 limits.

    For values x of ``dtype``: ``x < low`` exactly when x is below the smallest such value
    at or above ``low``, and ``x > high`` when above the largest at or below ``high``.
    """
    return (_in_dtype(limits.low, dtype, upward=True),
            _in_dtype(limits.high, dtype, upward=False))


def count_sorted(values: np.ndarray, value: float, side: str = "left") -> int:
    """Return how many of the ascending ``values`` are ``< value`` ("left") or ``<= value``.

    What ``numpy.searchsorted(values, value, side)`` gives, without its cost: a float64
    key makes numpy convert the whole array to float64 first (milliseconds on 4 million
    values). The key is moved instead to the nearest value of the array's dtype that
    gives the same comparisons (the smallest at or above it for "left", the largest at
    or below it for "right"). NaN counts as above every number.
    """
    key = _in_dtype(value, values.dtype, upward=side == "left")
    return int(np.searchsorted(values, key, side=side))


def filter_combined(combined: np.ndarray, kernel_size: int, dispaxis: int | None) -> Filtered:
    """Run the smoothing stage and prepare what the threshold stage needs."""
    smoothed = smooth(combined, kernel_size, dispaxis)
    difference = np.empty_like(smoothed)
    # combined - smoothed, in blocks of rows on two threads (numpy lets go of the GIL).
    kernels.shared(lambda start, stop: np.subtract(combined[start:stop], smoothed[start:stop],
                                                   out=difference[start:stop]),
                   combined.shape[0])
    return Filtered(kernel_size, dispaxis, smoothed, difference)


class SelfcalStages:
    """The algorithm's stages for one set of exposures, each computed once and cached.

    Parameters
    ----------
    images : sequence of numpy.ndarray
        Science SCI first, then backgrounds and selfcals.
    detector : str or None
        The science ``DETECTOR`` (decides the MIRI pedestal).

    Notes
    -----
    Changing the fractions reuses the filtered image; changing the kernel or the axis
    reuses the combined image; new exposures need a new object.
    """

    def __init__(self, images: Sequence[np.ndarray], detector: str | None) -> None:
        self.images = tuple(images)
        self.detector = detector
        self._combined: Combined | None = None
        self._filtered: Filtered | None = None

    @classmethod
    def from_combined(cls, combined: Combined, detector: str | None) -> SelfcalStages:
        """Return the stages of exposures already combined (their images are not kept)."""
        stages = cls((), detector)
        stages._combined = combined
        return stages

    @property
    def combined(self) -> Combined:
        """The combine stage (computed on first use)."""
        if self._combined is None:
            self._combined = combine(self.images, self.detector)
        return self._combined

    def filtered(self, kernel_size: int, dispaxis: int | None) -> Filtered:
        """Return the smoothing stage for this kernel and axis (the last one is cached)."""
        dispaxis = validate_dispaxis(dispaxis)
        cached = self._filtered
        if cached is None or (cached.kernel_size, cached.dispaxis) != (kernel_size, dispaxis):
            cached = filter_combined(self.combined.image, kernel_size, dispaxis)
            self._filtered = cached
        return cached

    def thresholds(self, parameters: SelfcalParameters, dispaxis: int | None) -> Thresholds:
        """Return the threshold stage for these parameters."""
        filtered = self.filtered(parameters.kernel_size, dispaxis)
        return filtered.thresholds(parameters.flagfrac_lower, parameters.flagfrac_upper)

    def flags(self, parameters: SelfcalParameters, dispaxis: int | None) -> np.ndarray:
        """Return the boolean flag mask for these parameters."""
        filtered = self.filtered(parameters.kernel_size, dispaxis)
        return flag_mask(filtered.difference, self.thresholds(parameters, dispaxis))
