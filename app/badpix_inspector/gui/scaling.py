"""Display limits, stretches and colour-bar ticks for the image panels (numpy and astropy only).

An image is drawn as colour indices: `display_indices` applies the limits and the stretch
to the pixels once (on the session's worker for a new result, see `DisplayCache`), and a
256-entry colour table turns indices into colours, so a colour-map change costs nothing
per pixel. The colour bar beside the image shows the colour map evenly, as DS9 does, so
its ticks (in data units) sit where each value's colour is: evenly spaced for a linear
stretch, crowded at the faint end for log, sqrt and asinh.
"""

from __future__ import annotations

import collections
import functools
import math
import threading
import weakref

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

from ..core import kernels
from ..core.pixelsets import LabelLayers

__all__ = [
    "LIMITS", "MANUAL", "NAN_INDEX", "PERCENTILES", "STRETCHES", "DisplayCache",
    "colorbar_ticks", "display_indices", "image_limits", "stretch_positions",
    "stretched_fraction",
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
#: Pixels sampled for display limits: zscale looks at 1000 of them anyway (astropy's
#: default), and percentiles of the display need no more.
_SAMPLES = 50_000


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
    values = image.reshape(-1) if image is not None else np.empty(0)
    extremes = _finite_extremes(values) if choice == "min–max" and values.size else None
    if choice == MANUAL:
        low, high = (float(value) for value in manual)
    elif extremes is not None:
        low, high = extremes
    else:
        if values.size > _SAMPLES and choice != "min–max":
            # A regular sample first (a view), then its finite values: no full-frame
            # temporaries. Minimum and maximum look at every value.
            values = values[:: values.size // _SAMPLES]
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return 0.0, 1.0
        low, high = (float(value) for value in interval.get_limits(finite))
    if not high > low:
        high = low + (abs(low) * 1e-6 or 1.0)
    return low, high


def _finite_extremes(values: np.ndarray) -> tuple[float, float] | None:
    """Return the smallest and largest value ignoring NaN, when both are finite.

    Two reductions over the values, without the copy of the finite ones that picking
    them out costs (20 ms on 2048x2048). None when there is an infinity or no number.
    """
    low, high = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None


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


#: Colour indices of a displayed image: 0 .. NAN_INDEX - 1 for data, NAN_INDEX for NaN.
NAN_INDEX = 255
_LINEAR_STEPS = 16384  # linear steps between the limits: a log stretch does not band
_CHUNK = 1 << 18  # pixels converted at a time: the temporaries stay small


@functools.lru_cache(maxsize=8)
def _stretch_table(stretch: str) -> np.ndarray:
    """Return the colour index of each linear step (and NaN's index last), read-only."""
    positions = stretch_positions(stretch, _LINEAR_STEPS)
    table = np.minimum(np.floor(positions * NAN_INDEX), NAN_INDEX - 1).astype(np.uint8)
    table = np.append(table, np.uint8(NAN_INDEX))
    table.setflags(write=False)
    return table


def display_indices(image: np.ndarray, levels: tuple[float, float], stretch: str) -> np.ndarray:
    """Return the colour index (uint8) of every pixel: the limits and the stretch applied.

    Values are placed on 16384 linear steps between the limits (clipped at both ends), and
    each step gets the colour index its stretched position falls on, out of
    ``NAN_INDEX`` (255) colours; NaN gets ``NAN_INDEX``. A panel draws these indices
    through a 256-entry colour table, which Qt takes as it is (no conversion of the image
    on the GUI thread, a quarter of the memory of an RGBA image). Converted in chunks, so
    that no full-frame float temporary is made.
    """
    low, high = (float(value) for value in levels)
    scale = (_LINEAR_STEPS - 1) / (high - low) if high > low else 0.0
    table = _stretch_table(stretch)
    # The compiled kernel does it in one pass (about 8x faster on 2048x2048), same indices.
    compiled = kernels.table_lookup(image, low, scale, table)
    if compiled is not None:
        return compiled
    flat = image.reshape(-1)
    out = np.empty(flat.size, dtype=np.uint8)
    scaled = np.empty(min(_CHUNK, flat.size), dtype=np.float32)
    steps = np.empty(scaled.size, dtype=np.uint16)
    with np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, flat.size, _CHUNK):
            stop = min(start + _CHUNK, flat.size)
            part, step_part = scaled[: stop - start], steps[: stop - start]
            np.subtract(flat[start:stop], low, out=part, casting="unsafe")
            np.multiply(part, scale, out=part)
            np.clip(part, 0, _LINEAR_STEPS - 1, out=part)
            np.nan_to_num(part, copy=False, nan=_LINEAR_STEPS)
            step_part[...] = part  # truncation: the step each value falls in
            np.take(table, step_part, out=out[start:stop])
    return out.reshape(image.shape)


class DisplayCache:
    """What the panels draw, computed once per image: limits and colour indices.

    The session's worker fills it for each new result (`prepare`), off the GUI thread;
    the panels then find their images ready, and compute only what a change of view
    (limits, stretch, zoom) asks for. Holds the values of the last few images still
    alive: an image is referred to weakly (its values go when it goes, so an old kernel's
    images are not kept for their indices) and compared with ``is`` (an id can be
    reused once an array is gone).
    Thread-safe: the worker and the GUI thread use it together.

    The overlay's labels (`LabelLayers`) keep their own pooled images; `prepare` makes the
    one the current zoom needs.

    Attributes
    ----------
    choices : dict
        Panel key to (limits choice, manual limits, stretch): the panels keep it current,
        the worker reads it.
    pooling : int
        The pooling factor of the overlay at the current zoom (set by the grid).
    """

    def __init__(self, size: int = 10) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._entries: collections.OrderedDict[int, tuple[weakref.ref, dict]] = (
            collections.OrderedDict())
        self.choices: dict[str, tuple[str, tuple[float, float] | None, str]] = {}
        self.pooling = 1

    def _entry(self, image: np.ndarray) -> dict:
        with self._lock:
            for key in [key for key, (ref, _) in self._entries.items() if ref() is None]:
                del self._entries[key]  # their images are gone
            found = self._entries.get(id(image))
            if found is None or found[0]() is not image:
                found = (weakref.ref(image), {})
                self._entries[id(image)] = found
            self._entries.move_to_end(id(image))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
            return found[1]

    def limits(self, image: np.ndarray, choice: str,
               manual: tuple[float, float] | None = None) -> tuple[float, float]:
        """Return `image_limits` of ``image`` for ``choice`` (kept per image and choice)."""
        if choice == MANUAL:
            return image_limits(None, MANUAL, manual)
        values = self._entry(image)
        key = ("limits", choice)
        if key not in values:
            values[key] = image_limits(image, choice)
        return values[key]

    def indices(self, image: np.ndarray, levels: tuple[float, float],
                stretch: str) -> np.ndarray:
        """Return `display_indices` of ``image`` (the last levels and stretch kept)."""
        values = self._entry(image)
        key = (tuple(float(level) for level in levels), stretch)
        found = values.get("indices")
        if found is None or found[0] != key:
            found = (key, display_indices(image, key[0], stretch))
            values["indices"] = found
        return found[1]

    def prepare(self, images: dict[str, np.ndarray | None],
                labels: LabelLayers | None) -> None:
        """Compute what the panels will draw for these images and labels (any thread)."""
        for key, image in images.items():
            choice = self.choices.get(key)
            if image is None or choice is None:
                continue
            limit_choice, manual, stretch = choice
            self.indices(image, self.limits(image, limit_choice, manual), stretch)
        if labels is not None:
            labels.pooled(self.pooling)  # kept by the labels themselves
