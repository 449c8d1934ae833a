"""Numbers that help a person decide the parameters: compare, robust σ, suspect flags.

Three tools, all on arrays (no Qt, no files):

- `compare_flags`: flags gained, lost and kept between a pinned reference A and the
  current flags (masks and counts);
- `suggest_fractions` and `fractions_in_sigma`: the flag fractions that put the thresholds
  at ``centre ± n σ`` of the difference image, and the other way round (the pipeline takes
  fractions, so fractions are what gets set and saved; σ is computed by the caller, for
  instance as 1.4826 x the median absolute deviation);
- `suspect_flags`: flags that are probably not bad pixels but spectral lines common to all
  exposures, which survive the minimum and which the median filter along the dispersion
  axis removes, so the step flags their peaks. A bad pixel stands alone across the slice; a
  line does not. See `suspect_flags` for the rule and its numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .medfilt import dispersion_array_axis
from .parameters import PARAMETER_SPECS
from .pixelsets import LabelLayers, PixelSet
from .stages import Thresholds, count_sorted, thresholds

__all__ = [
    "DECIDE_LABELS",
    "SUSPECT_HALF_WIDTH",
    "SUSPECT_LEVEL",
    "SUSPECT_MIN_FRACTION",
    "Decisions",
    "FlagComparison",
    "SuspectRule",
    "compare_flags",
    "decide",
    "fractions_in_sigma",
    "raised_neighbours",
    "suggest_fractions",
    "suspect_flags",
    "suspect_pixels",
]

log = logging.getLogger(__name__)

#: Neighbours looked at on each side of a flag, across the dispersion direction.
SUSPECT_HALF_WIDTH = 3
#: Fraction of the neighbours that must be raised for a flag to be suspect.
SUSPECT_MIN_FRACTION = 0.6
#: A neighbour is raised beyond this fraction of the threshold on the flag's side.
SUSPECT_LEVEL = 0.5

#: Values of the label images of the overlay's decision modes. They follow the flag labels
#: of `core.statistics` (0 to 5), so that one colour table serves every mode; where labels
#: are pooled for display the larger wins, so a gain or a loss is never hidden by a kept
#: flag, nor a suspect flag by an ordinary one.
DECIDE_LABELS = {"kept": 6, "lost": 7, "gained": 8, "flagged": 9, "suspect": 10}


# --------------------------------------------------------------------------- compare (A/B)


@dataclass(frozen=True)
class FlagComparison:
    """Flags of the current parameters against a pinned reference A.

    Attributes
    ----------
    gained : PixelSet
        Flagged now and not in A.
    lost : PixelSet
        Flagged in A and not now.
    kept : PixelSet
        Flagged in both.
    """

    gained: PixelSet
    lost: PixelSet
    kept: PixelSet

    @property
    def n_gained(self) -> int:
        """How many pixels are flagged now and were not in A."""
        return self.gained.size

    @property
    def n_lost(self) -> int:
        """How many pixels were flagged in A and are not now."""
        return self.lost.size

    @property
    def n_kept(self) -> int:
        """How many pixels are flagged in both."""
        return self.kept.size


def compare_flags(
    reference: np.ndarray | PixelSet, current: np.ndarray | PixelSet
) -> FlagComparison:
    """Compare two sets of flags (final flags, hand edits included, if that is what is given).

    Parameters
    ----------
    reference : numpy.ndarray of bool or PixelSet
        The flags pinned as A.
    current : numpy.ndarray of bool or PixelSet
        The flags now, of the same detector.

    Returns
    -------
    FlagComparison
        The gained, lost and kept pixels, with their counts.

    Raises
    ------
    ValueError
        When the shapes differ (A was pinned on other data).
    """
    reference, current = PixelSet.of(reference), PixelSet.of(current)
    if reference.shape != current.shape:
        raise ValueError(
            f"the reference flags are {reference.shape}, the current ones {current.shape}: "
            "pin the reference again on these data"
        )
    return FlagComparison(gained=current.difference(reference),
                          lost=reference.difference(current),
                          kept=current.intersection(reference))


# ------------------------------------------------------------------------------ robust σ


def _centre(values: np.ndarray, centre: float | None) -> float:
    if centre is not None:
        return float(centre)
    size = values.size
    return 0.5 * (float(values[(size - 1) // 2]) + float(values[size // 2]))


def _rank(values: np.ndarray, target: float) -> float:
    """Return the fractional index at which linear interpolation of ``values`` is ``target``.

    This is the inverse of numpy's 'linear' percentile: ``values[floor(p)]`` interpolated
    towards ``values[floor(p) + 1]``. Outside the data it is clipped to 0 or ``size - 1``.
    """
    last = values.size - 1
    if target <= values[0]:
        return 0.0
    if target >= values[last]:
        return float(last)
    below = count_sorted(values, target, side="right") - 1  # values[below] <= target
    step = float(values[below + 1]) - float(values[below])
    if step <= 0:
        return float(below)
    return below + (target - float(values[below])) / step


def suggest_fractions(
    sorted_difference: np.ndarray,
    sigma: float,
    n_sigma: float = 5.0,
    centre: float | None = None,
) -> tuple[float, float]:
    """Return the flag fractions whose thresholds sit at ``centre ± n_sigma x sigma``.

    Parameters
    ----------
    sorted_difference : numpy.ndarray
        The finite values of the difference image, sorted (`Filtered.sorted_finite`).
    sigma : float
        The spread to count in, for instance the robust σ (1.4826 x MAD) of the same values.
    n_sigma : float
        How many σ from the centre each threshold should sit (positive).
    centre : float, optional
        Default: the median of ``sorted_difference``.

    Returns
    -------
    flagfrac_lower, flagfrac_upper : float
        Fractions for which ``numpy.nanpercentile(difference, [100 * lower, 100 * (1 -
        upper)])`` (the step's thresholds) fall at the targets to within one pixel's rank,
        clipped to the parameters' bounds [0, 0.5]. A target beyond the data's extreme
        gives 0 (nothing is flagged on that side).

    Raises
    ------
    ValueError
        When there are no values, or ``sigma`` or ``n_sigma`` is not a positive number.
    """
    values = np.asarray(sorted_difference)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("there are no finite difference values to suggest fractions from")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, not {sigma!r}")
    if not (np.isfinite(n_sigma) and n_sigma > 0):
        raise ValueError(f"n_sigma must be a positive number, not {n_sigma!r}")
    if values.size == 1:
        return 0.0, 0.0
    middle = _centre(values, centre)
    last = values.size - 1
    lower = _rank(values, middle - n_sigma * sigma) / last
    upper = 1.0 - _rank(values, middle + n_sigma * sigma) / last
    spec_low, spec_high = PARAMETER_SPECS["flagfrac_lower"], PARAMETER_SPECS["flagfrac_upper"]
    lower = min(max(lower, spec_low.minimum), spec_low.maximum)
    upper = min(max(upper, spec_high.minimum), spec_high.maximum)
    return float(lower), float(upper)


def fractions_in_sigma(
    sorted_difference: np.ndarray,
    flagfrac_lower: float,
    flagfrac_upper: float,
    sigma: float,
    centre: float | None = None,
    *,
    limits: Thresholds | None = None,
) -> tuple[float, float]:
    """Return where the thresholds of these fractions sit, in σ from the centre.

    Parameters
    ----------
    sorted_difference : numpy.ndarray
        The finite values of the difference image, sorted.
    flagfrac_lower, flagfrac_upper : float
        The step's fractions.
    sigma : float
        The spread to count in (the robust σ of the same values).
    centre : float, optional
        Default: the median of ``sorted_difference``.
    limits : Thresholds, optional
        The thresholds of these fractions when they are known already (the window's
        worker has them): finding them again is a pass over all the values.

    Returns
    -------
    low, high : float
        ``(threshold - centre) / sigma`` for each threshold: ``low`` is normally negative,
        ``high`` positive. NaN where there are no values or sigma is not positive.
    """
    values = np.asarray(sorted_difference)
    if values.size == 0 or not (np.isfinite(sigma) and sigma > 0):
        return float("nan"), float("nan")
    middle = _centre(values, centre)
    if limits is None:
        limits = thresholds(values, flagfrac_lower, flagfrac_upper)
    return (float(limits.low) - middle) / sigma, (float(limits.high) - middle) / sigma


# ------------------------------------------------------------------------- suspect flags


def raised_neighbours(
    difference: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    bounds: np.ndarray,
    above: np.ndarray,
    cross_axis: int,
    half_width: int = SUSPECT_HALF_WIDTH,
) -> tuple[np.ndarray, np.ndarray]:
    """Count, for given pixels, the neighbours across the dispersion beyond a bound.

    Walks outward from each pixel along ``cross_axis``, up to ``half_width`` steps on each
    side, stopping on that side at the image edge or at the first non-finite value of
    ``difference`` (a NaN gap ends the slice; nothing beyond it counts).

    Parameters
    ----------
    difference : numpy.ndarray
        The difference image.
    rows, columns : numpy.ndarray of int
        The pixels to look around.
    bounds : numpy.ndarray of float
        Per pixel, the bound a neighbour must pass to count as raised.
    above : numpy.ndarray of bool
        Per pixel, the side: raised means ``value > bound`` where True (a high flag),
        ``value < bound`` where False (a low flag).
    cross_axis : {0, 1}
        The numpy axis across the dispersion direction.
    half_width : int
        Steps on each side.

    Returns
    -------
    raised, available : numpy.ndarray of int
        Per pixel, the raised neighbours and the neighbours reached.
    """
    rows = np.asarray(rows, dtype=np.intp)
    columns = np.asarray(columns, dtype=np.intp)
    bounds = np.asarray(bounds, dtype=np.float64)
    raised = np.zeros(rows.size, dtype=np.int64)
    available = np.zeros(rows.size, dtype=np.int64)
    above = np.asarray(above, dtype=bool)
    extent = difference.shape[cross_axis]
    position = rows if cross_axis == 0 else columns
    for direction in (-1, 1):
        reach = np.ones(rows.size, dtype=bool)
        for step in range(1, half_width + 1):
            where = position + direction * step
            reach &= (where >= 0) & (where < extent)
            clipped = np.clip(where, 0, extent - 1)
            values = (difference[clipped, columns] if cross_axis == 0
                      else difference[rows, clipped]).astype(np.float64)  # fmt: skip
            reach &= np.isfinite(values)
            available += reach
            beyond = np.where(above, values > bounds, values < bounds)
            raised += reach & beyond
    return raised, available


def suspect_pixels(
    difference: np.ndarray,
    limits: Thresholds,
    dispaxis: int | None,
    flags: PixelSet,
    *,
    half_width: int = SUSPECT_HALF_WIDTH,
    min_fraction: float = SUSPECT_MIN_FRACTION,
    level: float = SUSPECT_LEVEL,
) -> PixelSet:
    """Return the flags of ``flags`` that are probably spectral lines (see `suspect_flags`).

    The same rule, on pixel sets: it costs in proportion to the flags judged, never a
    pass over the detector. Pixels of ``flags`` inside the thresholds (forced bad by hand)
    are never suspect.
    """
    if half_width < 1:
        raise ValueError(f"half_width must be 1 or more, not {half_width}")
    if not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction must be in (0, 1], not {min_fraction}")
    difference = np.asarray(difference)
    axis = dispersion_array_axis(dispaxis)
    if axis is None or not flags.size:
        return PixelSet.empty(difference.shape)
    values = difference.reshape(-1)[flags.index]
    above = values > limits.high
    judged = above | (values < limits.low)
    index = flags.index[judged]
    above = above[judged]
    rows, columns = np.divmod(index, difference.shape[1])
    bounds = np.where(above, level * float(limits.high), level * float(limits.low))
    raised, available = raised_neighbours(
        difference, rows, columns, bounds, above, cross_axis=1 - axis, half_width=half_width
    )
    enough = available >= half_width
    # raised / available >= min_fraction, in integers where possible.
    called = enough & (raised >= min_fraction * available - 1e-9)
    return PixelSet(difference.shape, index[called])


def suspect_flags(
    difference: np.ndarray,
    limits: Thresholds,
    dispaxis: int | None,
    *,
    flags: np.ndarray | None = None,
    half_width: int = SUSPECT_HALF_WIDTH,
    min_fraction: float = SUSPECT_MIN_FRACTION,
    level: float = SUSPECT_LEVEL,
) -> np.ndarray:
    """Return the flags that are probably spectral lines, not bad pixels.

    **The rule.** A flagged pixel is *suspect* when, of its neighbours across the
    dispersion direction (up to ``half_width`` = 3 on each side, in the same slice), at
    least ``min_fraction`` = 60 % are *raised* with the same sign: beyond ``level`` = 0.5
    times the threshold on the flag's side (``value > level x high`` for a flag above the
    high threshold, ``value < level x low`` for one below the low threshold; the
    difference image is centred near zero, so the bound is taken from zero).

    **Same slice.** Nothing tells an array where a slice ends except the data: neighbours
    are taken walking outward from the flag on each side, and the walk stops at the image
    edge or at the first NaN (the gap between slices, or a dead pixel, ends it: nothing
    beyond a NaN counts, and the NaN itself is not a neighbour). The fraction is of the
    neighbours reached; a flag with fewer than ``half_width`` neighbours reached in all
    (an isolated pixel between NaNs) is never suspect, for lack of evidence.

    In a ``_rate`` file the gaps between slices are dark, not NaN: there the walk crosses
    the slice edge, and the dark neighbours beyond it are not raised. That can only lower
    the fraction (a line pixel near a slice edge may escape), never make a lone bad pixel
    suspect. Flags along the detector edge where the zero padding biases the filtered
    image low are raised across the slice too and are called suspect: they are not bad
    pixels either.

    **Direction.** ``DISPAXIS = 2`` (window along rows, array axis 0) looks along the
    columns (axis 1) and ``DISPAXIS = 1`` along the rows (axis 0). With ``dispaxis=None``
    the filter window is square and there is no dispersion direction: no flag is suspect.

    Parameters
    ----------
    difference : numpy.ndarray
        The difference image (combined minus filtered).
    limits : Thresholds
        The step's thresholds for these fractions.
    dispaxis : {1, 2, None}
        FITS ``DISPAXIS`` as the step used it.
    flags : numpy.ndarray of bool, optional
        The flags to judge; default the algorithm's, ``difference`` beyond ``limits``.
        Pixels inside the thresholds (forced bad by hand) are never suspect.
    half_width : int
        Neighbours on each side (default 3).
    min_fraction : float
        Fraction of the neighbours reached that must be raised (default 0.6).
    level : float
        Fraction of the threshold a neighbour must pass to count as raised (default 0.5).

    Returns
    -------
    numpy.ndarray of bool
        The suspect flags, the shape of ``difference``.
    """
    difference = np.asarray(difference)
    if flags is None:
        judged = PixelSet.from_mask((difference > limits.high) | (difference < limits.low))
    else:
        judged = PixelSet.from_mask(np.asarray(flags, dtype=bool))
    suspect = suspect_pixels(difference, limits, dispaxis, judged, half_width=half_width,
                             min_fraction=min_fraction, level=level)
    return suspect.mask().copy()


# ------------------------------------------------------------------ everything, per result


@dataclass(frozen=True)
class SuspectRule:
    """The two adjustable numbers of the suspect rule (see `suspect_flags`)."""

    half_width: int = SUSPECT_HALF_WIDTH
    min_fraction: float = SUSPECT_MIN_FRACTION

    def __post_init__(self) -> None:
        if int(self.half_width) != self.half_width or self.half_width < 1:
            raise ValueError(f"half_width must be a whole number, 1 or more, not "
                             f"{self.half_width!r}")
        if not 0 < self.min_fraction <= 1:
            raise ValueError(f"min_fraction must be in (0, 1], not {self.min_fraction!r}")


@dataclass(frozen=True, eq=False)
class Decisions:
    """What helps decide, for one result: compare with A, suspect flags, thresholds in σ.

    Attributes
    ----------
    comparison : FlagComparison or None
        The final flags against the reference A (None when no A is pinned, or A has
        another shape).
    suspect_pixels : PixelSet
        The final flags that are suspect (see `suspect_flags`).
    final : PixelSet
        The final flags judged.
    rule : SuspectRule
        The rule's numbers used.
    thresholds_sigma : tuple of float
        Where the low and high thresholds sit, in robust σ from the median of the
        difference (`fractions_in_sigma`).
    """

    comparison: FlagComparison | None
    suspect_pixels: PixelSet
    final: PixelSet
    rule: SuspectRule
    thresholds_sigma: tuple[float, float]

    @property
    def n_suspect(self) -> int:
        """How many flags are suspect."""
        return self.suspect_pixels.size

    @property
    def suspect(self) -> np.ndarray:
        """The suspect flags as a mask (read-only)."""
        return self.suspect_pixels.mask()

    @cached_property
    def compare_layers(self) -> LabelLayers | None:
        """`DECIDE_LABELS` "kept", "lost" and "gained" as label layers (None without A)."""
        if self.comparison is None:
            return None
        comparison = self.comparison
        return LabelLayers(self.final.shape, (
            (DECIDE_LABELS["kept"], comparison.kept), (DECIDE_LABELS["lost"], comparison.lost),
            (DECIDE_LABELS["gained"], comparison.gained)))  # fmt: skip

    @cached_property
    def suspect_layers(self) -> LabelLayers:
        """`DECIDE_LABELS` "flagged" for a final flag, "suspect" for a suspect one."""
        return LabelLayers(self.final.shape, (
            (DECIDE_LABELS["flagged"], self.final),
            (DECIDE_LABELS["suspect"], self.suspect_pixels)))  # fmt: skip

    @property
    def compare_labels(self) -> np.ndarray | None:
        """The comparison's label image (uint8; None without A)."""
        layers = self.compare_layers
        return None if layers is None else layers.image()

    @property
    def suspect_labels(self) -> np.ndarray:
        """The suspect flags' label image (uint8)."""
        return self.suspect_layers.image()


def decide(
    difference: np.ndarray,
    sorted_difference: np.ndarray | None,
    limits: Thresholds,
    dispaxis: int | None,
    final: np.ndarray | PixelSet,
    *,
    fractions: tuple[float, float],
    sigma: float,
    reference: np.ndarray | PixelSet | None = None,
    rule: SuspectRule = SuspectRule(),
) -> Decisions:
    """Return the `Decisions` of one result (the window's worker calls this per result).

    Parameters
    ----------
    difference : numpy.ndarray
        The difference image.
    sorted_difference : numpy.ndarray or None
        Its finite values, sorted (None while not known: no thresholds in σ then).
    limits : Thresholds
        The thresholds of ``fractions``.
    dispaxis : {1, 2, None}
        The dispersion axis the step used.
    final : numpy.ndarray of bool or PixelSet
        The final flags (hand edits included): what is compared and judged.
    fractions : tuple of float
        ``(flagfrac_lower, flagfrac_upper)``.
    sigma : float
        The robust σ of the difference.
    reference : numpy.ndarray of bool or PixelSet, optional
        The final flags pinned as A.
    rule : SuspectRule
        The suspect rule's numbers.

    Returns
    -------
    Decisions
    """
    final = PixelSet.of(final)
    comparison = None
    if reference is not None:
        reference = PixelSet.of(reference)
        if reference.shape == final.shape:
            comparison = compare_flags(reference, final)
    suspect = suspect_pixels(difference, limits, dispaxis, final,
                             half_width=int(rule.half_width), min_fraction=rule.min_fraction)
    in_sigma = (float("nan"), float("nan"))
    if sorted_difference is not None and sorted_difference.size:
        in_sigma = fractions_in_sigma(sorted_difference, *fractions, sigma, limits=limits)
    return Decisions(comparison=comparison, suspect_pixels=suspect, final=final, rule=rule,
                     thresholds_sigma=in_sigma)
