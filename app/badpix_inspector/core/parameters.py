"""The step's parameters: declared once, with jwst's names, defaults and bounds."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PARAMETER_SPECS",
    "ParameterError",
    "ParameterSpec",
    "SelfcalParameters",
    "validate_dispaxis",
]


class ParameterError(ValueError):
    """A parameter value that the step refuses; the message names the parameter and its range."""


@dataclass(frozen=True)
class ParameterSpec:
    """How one parameter of ``BadpixSelfcalStep`` is declared.

    Parameters
    ----------
    name : str
        jwst's name for it.
    kind : type
        ``float``, ``int`` or ``bool``.
    default : float, int or bool
        jwst 3.0.0's default.
    minimum, maximum : float or None
        Inclusive bounds, where jwst declares them.
    help : str
        One line for the command's ``--help`` and the window's tooltips.
    """

    name: str
    kind: type
    default: Any
    minimum: float | None
    maximum: float | None
    help: str

    def describe_range(self) -> str:
        """Return the allowed range in words, for error messages."""
        if self.kind is bool:
            return "true or false"
        if self.kind is int:
            return f"an odd integer >= {self.minimum:g}"
        return f"a number from {self.minimum:g} to {self.maximum:g}"


PARAMETER_SPECS: dict[str, ParameterSpec] = {
    spec.name: spec
    for spec in (
        ParameterSpec("flagfrac_lower", float, 0.001, 0.0, 0.5,
                      "fraction of pixels to flag on the low end of the difference"),
        ParameterSpec("flagfrac_upper", float, 0.001, 0.0, 0.5,
                      "fraction of pixels to flag on the high end of the difference"),
        ParameterSpec("kernel_size", int, 15, 1, None,
                      "length of the median filter window (odd)"),
        ParameterSpec("force_single", bool, False, None, None,
                      "run on the science exposure alone when there is no background or selfcal"),
        ParameterSpec("save_flagged_bkg", bool, False, None, None,
                      "also write the flagged background exposures"),
    )
}


def _check_float(spec: ParameterSpec, value: Any) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{spec.name} must be {spec.describe_range()}, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{spec.name} must be {spec.describe_range()}, not {value!r}"
        ) from None
    if math.isnan(number) or not spec.minimum <= number <= spec.maximum:
        raise ParameterError(f"{spec.name} must be {spec.describe_range()}, not {value!r}")
    return number


def _check_kernel_size(spec: ParameterSpec, value: Any) -> int:
    text = f"{spec.name} must be {spec.describe_range()}, not {value!r}"
    if isinstance(value, bool):
        raise ParameterError(text)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(text) from None
    if not math.isfinite(number) or number != int(number) or number < spec.minimum:
        raise ParameterError(text)
    size = int(number)
    if size % 2 == 0:
        raise ParameterError(
            f"kernel_size must be odd, not {size}: jwst 3.0.0 crashes on even sizes (its zero "
            f"padding yields one row too many); use {size - 1} or {size + 1}"
        )
    return size


def _check_bool(spec: ParameterSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ParameterError(f"{spec.name} must be true or false, not {value!r}")


def validate_dispaxis(dispaxis: Any) -> int | None:
    """Return the dispersion axis as 1, 2 or None (square window), or raise `ParameterError`.

    Parameters
    ----------
    dispaxis : int or None
        The value of ``DISPAXIS``: 1 runs the window along columns (array axis 1),
        2 along rows (array axis 0), None gives a square window.

    Returns
    -------
    int or None
        The validated axis.
    """
    if dispaxis is None:
        return None
    if isinstance(dispaxis, bool) or dispaxis not in (1, 2):
        raise ParameterError(f"dispaxis must be 1, 2 or None (square window), not {dispaxis!r}")
    return int(dispaxis)


@dataclass(frozen=True)
class SelfcalParameters:
    """The parameters of ``BadpixSelfcalStep``, validated on creation.

    The names, defaults and bounds are jwst 3.0.0's (see `PARAMETER_SPECS`).
    Values are checked once, here; every user of the parameters (the command, the
    window, the parameter file) builds one of these and so shares the same checks.

    Raises
    ------
    ParameterError
        When a value is NaN, of the wrong type, out of range, or an even kernel size.
    """

    flagfrac_lower: float = PARAMETER_SPECS["flagfrac_lower"].default
    flagfrac_upper: float = PARAMETER_SPECS["flagfrac_upper"].default
    kernel_size: int = PARAMETER_SPECS["kernel_size"].default
    force_single: bool = PARAMETER_SPECS["force_single"].default
    save_flagged_bkg: bool = PARAMETER_SPECS["save_flagged_bkg"].default

    def __post_init__(self) -> None:
        checks = {float: _check_float, bool: _check_bool}
        for spec in PARAMETER_SPECS.values():
            check = _check_kernel_size if spec.kind is int else checks[spec.kind]
            # Frozen dataclass: normalised values (0 -> 0.0, numpy ints -> int) go in this way.
            object.__setattr__(self, spec.name, check(spec, getattr(self, spec.name)))

    def replace(self, **changes: Any) -> SelfcalParameters:
        """Return a copy with some values changed (validated like the original)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Return the values keyed by jwst's parameter names."""
        return dataclasses.asdict(self)
