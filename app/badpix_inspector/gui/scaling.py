"""Display limits and stretches for the image panels (numpy and astropy.visualization only).

A stretch is applied to the colour table rather than to the pixels: the image is drawn
with linear levels between the limits, and the 256 entries of its lookup table follow the
stretch. A change of stretch then costs nothing per pixel, and the colour bar beside the
image keeps data values on its axis.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    MinMaxInterval,
    PercentileInterval,
    ZScaleInterval,
)

__all__ = ["LIMITS", "STRETCHES", "image_limits", "stretch_positions"]

#: Limit choices, in the order the panels offer them.
LIMITS = ("zscale", "99.5 %", "min–max")
#: Stretch choices.
STRETCHES = ("linear", "log", "asinh")

_SAMPLES = 200_000  # enough for display limits, and fast on a 2048x2048 frame


def image_limits(image: np.ndarray, choice: str) -> tuple[float, float]:
    """Return display limits for ``image`` (NaN ignored; a flat or empty image gets 0..1).

    Parameters
    ----------
    image : numpy.ndarray
        The data.
    choice : str
        One of `LIMITS`.
    """
    finite = image[np.isfinite(image)] if image is not None else np.empty(0)
    if finite.size == 0:
        return 0.0, 1.0
    if finite.size > _SAMPLES:
        finite = finite[:: finite.size // _SAMPLES]
    if choice == "zscale":
        interval = ZScaleInterval()
    elif choice == "99.5 %":
        interval = PercentileInterval(99.5)
    elif choice == "min–max":
        interval = MinMaxInterval()
    else:
        raise ValueError(f"limits must be one of {LIMITS}, not {choice!r}")
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
    stretches = {"linear": LinearStretch(), "log": LogStretch(), "asinh": AsinhStretch()}
    if choice not in stretches:
        raise ValueError(f"stretch must be one of {STRETCHES}, not {choice!r}")
    return np.clip(stretches[choice](np.linspace(0.0, 1.0, size)), 0.0, 1.0)
