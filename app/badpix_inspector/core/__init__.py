"""The numerical core: the step's algorithm on arrays, in cacheable stages (no Qt, no files)."""

from . import kernels
from .decide import (
    SUSPECT_HALF_WIDTH,
    SUSPECT_LEVEL,
    SUSPECT_MIN_FRACTION,
    FlagComparison,
    compare_flags,
    fractions_in_sigma,
    raised_neighbours,
    suggest_fractions,
    suspect_flags,
)
from .edits import FORCED_BAD, FORCED_GOOD, ManualEdits, final_flags
from .medfilt import dispersion_array_axis, median_filter
from .parameters import PARAMETER_SPECS, ParameterError, SelfcalParameters, validate_dispaxis
from .selfcal import badpix_selfcal
from .stages import (
    DO_NOT_USE,
    FLAG_BITS,
    FLAGGED_PLANES,
    OTHER_BAD_PIXEL,
    Combined,
    Filtered,
    SelfcalStages,
    Thresholds,
    apply_flags,
    combine,
    filter_combined,
    flag_mask,
    pedestal_region,
    smooth,
    thresholds,
)

__all__ = [
    "DO_NOT_USE",
    "FLAGGED_PLANES",
    "FLAG_BITS",
    "FORCED_BAD",
    "FORCED_GOOD",
    "OTHER_BAD_PIXEL",
    "PARAMETER_SPECS",
    "SUSPECT_HALF_WIDTH",
    "SUSPECT_LEVEL",
    "SUSPECT_MIN_FRACTION",
    "Combined",
    "Filtered",
    "FlagComparison",
    "ManualEdits",
    "ParameterError",
    "SelfcalParameters",
    "SelfcalStages",
    "Thresholds",
    "apply_flags",
    "badpix_selfcal",
    "combine",
    "compare_flags",
    "dispersion_array_axis",
    "filter_combined",
    "final_flags",
    "flag_mask",
    "fractions_in_sigma",
    "kernels",
    "median_filter",
    "pedestal_region",
    "raised_neighbours",
    "smooth",
    "suggest_fractions",
    "suspect_flags",
    "thresholds",
    "validate_dispaxis",
]
