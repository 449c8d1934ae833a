"""Display limits, stretches and colour-bar ticks for the image panels (numpy and astropy only).

A stretch is applied to the colour table rather than to the pixels: the image is drawn
with linear levels between the limits, and the 256 entries of its lookup table follow the
stretch. A change of stretch then costs nothing per pixel. The colour bar beside the image
shows the colour map evenly, as DS9 does, so its ticks (in data units) sit where each
value's colour is: evenly spaced for a linear stretch, crowded at the faint end for log,
sqrt and asinh.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    ManualInterval,
    MinMaxInterval,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)

__all__ = [
    "LIMITS", "MANUAL", "PERCENTILES", "STRETCHES", "colorbar_ticks", "image_limits",
    "stretch_positions", "stretched_fraction",
]

#: Percentile limits offered, in per cent of the finite pixels kept between the limits.
PERCENTILES = (99.9, 99.5, 99.0, 95.0, 90.0)
#: The limit choice whose minimum and maximum the user types.
MANUAL = "manual"
#: Limit choices, in the order the panels offer them.
LIMITS = ("zscale", "min–max", *(f"{value:g} %" for value in PERCENTILES), MANUAL)
#: Stretch choices.
STRETCHES = ("linear", "log", "sqrt", "asinh")

_STRETCHES = {"linear": LinearStretch(), "log": LogStretch(), "sqrt": SqrtStretch(),
              "asinh": AsinhStretch()}
_SAMPLES = 200_000  # enough for display limits, and fast on a 2048x2048 frame


def _interval(choice: str, manual: tuple[float, float] | None):
    if choice == "zscale":
        return ZScaleInterval()
    if choice == "min–max":
        return MinMaxInterval()
    if choice == MANUAL:
        if manual is None:
            raise ValueError("manual limits need a (minimum, maximum) pair")
        return ManualInterval(*manual)
    for value in PERCENTILES:
        if choice == f"{value:g} %":
            return PercentileInterval(value)
    raise ValueError(f"limits must be one of {LIMITS}, not {choice!r}")


def image_limits(image: np.ndarray | None, choice: str,
                 manual: tuple[float, float] | None = None) -> tuple[float, float]:
    """Return display limits for ``image`` (NaN ignored; a flat or empty image gets 0..1).

    Parameters
    ----------
    image : numpy.ndarray or None
        The data.
    choice : str
        One of `LIMITS`.
    manual : tuple of float, optional
        (minimum, maximum) for the `MANUAL` choice.
    """
    interval = _interval(choice, manual)
    if choice == MANUAL:
        low, high = (float(value) for value in manual)
    else:
        finite = image[np.isfinite(image)] if image is not None else np.empty(0)
        if finite.size == 0:
            return 0.0, 1.0
        if finite.size > _SAMPLES:
            finite = finite[:: finite.size // _SAMPLES]
        low, high = (float(value) for value in interval.get_limits(finite))
    if not high > low:
        high = low + (abs(low) * 1e-6 or 1.0)
    return low, high


def stretch_positions(choice: str, size: int = 256) -> np.ndarray:
    """Return where, on a colour map from 0 to 1, each of ``size`` linear steps should fall.

    Parameters
    ----------
    choice : str
        One of `STRETCHES`.
    size : int
        Entries of the lookup table.
    """
    return stretched_fraction(choice, np.linspace(0.0, 1.0, size))


def stretched_fraction(choice: str, fraction: np.ndarray | float) -> np.ndarray:
    """Return the colour-map position (0 to 1) of a fraction of the way between the limits."""
    if choice not in _STRETCHES:
        raise ValueError(f"stretch must be one of {STRETCHES}, not {choice!r}")
    values = np.clip(np.atleast_1d(np.asarray(fraction, dtype=float)), 0.0, 1.0)
    positions = np.clip(_STRETCHES[choice](values), 0.0, 1.0)
    return positions if np.ndim(fraction) else positions[0]


def _round_step(at_least: float) -> float:
    """Return the smallest of 1, 2, 5 times a power of ten that is at least ``at_least``."""
    power = 10.0 ** math.floor(math.log10(at_least))
    return next(factor * power for factor in (1, 2, 5, 10) if factor * power >= at_least)


def _label(value: float) -> str:
    # Rounded to a round number already: four significant digits drop float noise only.
    return "0" if value == 0 else f"{value:.4g}"


def colorbar_ticks(low: float, high: float, stretch: str,
                   count: int = 5) -> list[tuple[float, float, str]]:
    """Return colour-bar ticks: (position from 0 to 1, value in data units, label).

    The ticks aim at ``count`` evenly spaced positions on the bar; each aimed-at value is
    rounded to a round number (1, 2 or 5 times a power of ten) at the local scale of the
    stretch, and its position is then computed exactly, so a tick always sits where its
    value's colour is. A linear stretch so gets evenly spaced round values.

    Parameters
    ----------
    low, high : float
        The display limits (the ends of the bar).
    stretch : str
        One of `STRETCHES`.
    count : int
        How many ticks to aim for.
    """
    span = high - low
    if not (np.isfinite(span) and span > 0):
        return []
    if stretch == "linear":  # evenly spaced round values
        step = _round_step(span / count)
        values = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
        return [(float(stretched_fraction(stretch, (value - low) / span)), value,
                 _label(value)) for value in values]
    stretch_object = _STRETCHES[stretch].inverse

    def inverse(position: float) -> float:
        return float(stretch_object(np.array([position], dtype=float))[0])

    half = 0.5 / (count - 1)
    ticks: list[tuple[float, float, str]] = []
    for target in np.linspace(0.0, 1.0, count):
        value = low + inverse(target) * span
        # Data units per tick spacing around this place on the bar.
        above, below = min(target + half, 1.0), max(target - half, 0.0)
        local = (inverse(above) - inverse(below)) / (above - below) * span / (count - 1)
        step = _round_step(local / 2) if local > 0 else span / 100
        rounded = round(value / step) * step
        if rounded < low:
            rounded = math.ceil(low / step) * step
        if rounded > high:
            rounded = math.floor(high / step) * step
        if not low <= rounded <= high:
            continue
        if abs(rounded) < step * 1e-6:
            rounded = 0.0
        position = float(stretched_fraction(stretch, (rounded - low) / span))
        # Two round values can collapse onto one place near a steep end: keep the first.
        if ticks and position - ticks[-1][0] < half:
            continue
        ticks.append((position, rounded, _label(rounded)))
    return ticks
