"""A NaN-aware median filter with the exact semantics of the pipeline's.

jwst 3.0.0 (through ``stcal.outlier_detection.utils.medfilt``) pads the image with
``k // 2`` zeros on each side of every filtered axis and takes ``numpy.nanmedian`` over
each window. So, for every output pixel:

- positions outside the image count as the value 0.0 (edge rows are biased low);
- NaNs are ignored, and a window with no value left gives NaN;
- with an even number of values the result is the mean of the two middle ones, computed
  in the data's own precision.

Once `kernels.warm_up` has loaded them, compiled kernels serve the square window and every
odd window along one axis up to `kernels.MAX_LANE_KERNEL` (see
`badpix_inspector.core.kernels`), with the same values, bit for bit. Otherwise, and for
longer windows, windows along one axis go through ``bottleneck.move_median`` on the
zero-padded array, which gives the same values bit for bit, and the square window selects
the middle values with ``numpy.partition`` on strips of sliding windows. Both share the
work between threads (bottleneck and numpy release the GIL), one block of lines or strips
each.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import bottleneck
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import kernels
from .parameters import ParameterError, validate_dispaxis

__all__ = ["dispersion_array_axis", "median_filter"]

# Rows of the output computed in one go by the square filter: small enough that the
# (rows * width * k * k) block of window values stays in cache, large enough to keep the
# per-call overhead of numpy small. Measured on 1024x1032, k=15: 2-4 rows is best.
_STRIP_ROWS = 4


def dispersion_array_axis(dispaxis: int | None) -> int | None:
    """Return the numpy axis that a ``DISPAXIS`` value runs the window along.

    Parameters
    ----------
    dispaxis : {1, 2, None}
        FITS ``DISPAXIS``: 1 is along x (columns), 2 along y (rows).

    Returns
    -------
    int or None
        1 for ``DISPAXIS=1``, 0 for ``DISPAXIS=2``, None for a square window.
    """
    dispaxis = validate_dispaxis(dispaxis)
    if dispaxis is None:
        return None
    return 2 - dispaxis


def median_filter(
    image: np.ndarray,
    kernel_size: int,
    dispaxis: int | None,
    *,
    threads: int | None = None,
    compiled: bool | None = None,
) -> np.ndarray:
    """Median-filter a 2-D image exactly as jwst 3.0.0's ``badpix_selfcal`` does.

    Parameters
    ----------
    image : numpy.ndarray
        2-D floating-point image; NaNs are ignored.
    kernel_size : int
        Odd window length, at least 1.
    dispaxis : {1, 2, None}
        ``DISPAXIS`` of the data: 1 filters along columns (axis 1), 2 along rows (axis 0),
        None with a square ``kernel_size`` x ``kernel_size`` window.
    threads : int, optional
        Threads to share the work; default: the number of cores, at most 4.
    compiled : bool, optional
        None (the default): use the compiled kernels if `kernels.ready` says they are
        loaded. True: load them now if needed (this blocks: seconds the first time) and
        use them. False: the plain path. All give the same values.

    Returns
    -------
    numpy.ndarray
        The filtered image, same shape and dtype as ``image``.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"median_filter needs a 2-D image, got {image.ndim}-D")
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float64)
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ParameterError(f"kernel_size must be an odd integer >= 1, not {kernel_size!r}")
    axis = dispersion_array_axis(dispaxis)
    if kernel_size == 1:
        # A one-pixel window is the pixel itself (NaN stays NaN).
        return image.copy()
    threads = threads or kernels.THREADS
    if compiled:
        kernels.warm_up(background=False)
    if compiled is not False and kernels.ready():
        result = kernels.compiled_median_filter(image, kernel_size, axis, threads)
        if result is not None:
            return result
    if axis is None:
        return _square_median(image, kernel_size, threads)
    return _line_median(image, kernel_size, axis, threads)


#: Lines filtered per block: the padded copy and bottleneck's output of a block are the
#: only temporaries, so a kernel change makes no full-frame temporary besides its result.
_LINE_BLOCK = 128


def _line_median(image: np.ndarray, kernel_size: int, axis: int, threads: int) -> np.ndarray:
    half = kernel_size // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    result = np.empty_like(image)
    keep = [slice(None), slice(None)]
    # move_median's window ends at each position: output i covers padded [i-k+1, i], which
    # is image [i-2h, i] shifted by h; dropping the first 2h outputs centres the windows.
    keep[axis] = slice(2 * half, None)
    across = 1 - axis
    size = image.shape[across]
    blocks = max(min(threads, size), -(-size // _LINE_BLOCK))
    bounds = np.linspace(0, size, blocks + 1).astype(int)

    def block(start: int, stop: int) -> None:
        # Lines along `axis` are independent: blocks of them run in parallel (bottleneck
        # releases the GIL), each giving exactly what one call on the whole image gives.
        part = [slice(None), slice(None)]
        part[across] = slice(start, stop)
        padded = np.pad(image[tuple(part)], pad)
        moved = bottleneck.move_median(padded, kernel_size, min_count=1, axis=axis)
        result[tuple(part)] = moved[tuple(keep)]

    _run_blocks(block, list(itertools.pairwise(bounds)), threads)
    return result


def _run_blocks(function, arguments: list[tuple[int, ...]], threads: int) -> None:
    """Call ``function(*args)`` for each item, in ``threads`` threads when more than one."""
    if threads <= 1 or len(arguments) <= 1:
        for item in arguments:
            function(*item)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda item: function(*item), arguments):
            pass


def _square_median(image: np.ndarray, kernel_size: int, threads: int) -> np.ndarray:
    half = kernel_size // 2
    padded = np.pad(image, half)
    nan_padded = np.isnan(padded)
    # Number of NaNs in every window, from a 2-D cumulative sum (exact integers).
    table = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1), dtype=np.int32)
    np.cumsum(np.cumsum(nan_padded, axis=0, dtype=np.int32), axis=1, out=table[1:, 1:])
    k = kernel_size
    nan_count = table[k:, k:] - table[:-k, k:] - table[k:, :-k] + table[:-k, :-k]
    finite_count = k * k - nan_count

    result = np.empty_like(image)
    rows = image.shape[0]
    starts = range(0, rows, _STRIP_ROWS)

    def strip(start: int) -> None:
        stop = min(start + _STRIP_ROWS, rows)
        windows = sliding_window_view(padded[start : stop + 2 * half], (k, k))
        values = windows.reshape(-1, k * k)  # a copy where the windows overlap
        if not values.flags.writeable:  # a single window comes back as a read-only view
            values = values.copy()
        count = finite_count[start:stop].ravel()
        low, high = _middle_values(values, count)
        # numpy.ma.median (behind nanmedian on small windows) adds the two middle values
        # (the same one twice for an odd count) and halves the sum in the data's dtype.
        middle = (low + high) / image.dtype.type(2)
        middle[count == 0] = np.nan
        result[start:stop] = middle.reshape(stop - start, image.shape[1])

    _run_blocks(strip, [(start,) for start in starts], threads)
    return result


def _middle_values(values: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the two middle values of each row's first ``count`` (finite) entries.

    ``values`` holds one window per row and is reordered in place. numpy sorts NaN after
    every number, so in a partitioned row the finite values come first and the middle
    ones sit at ranks ``(count - 1) // 2`` and ``count // 2``.
    """
    size = values.shape[1]
    middle_rank = size // 2
    # One pass puts every row's median-of-all at the middle rank, with the smaller values
    # before it: the answer for rows without NaN (nearly all of them).
    values.partition(middle_rank, axis=1)
    low = values[:, middle_rank].copy()
    high = low.copy()
    partial = np.flatnonzero(count < size)
    if partial.size == 0:
        return low, high
    # A row with NaNs needs ranks below the middle one; those values are already among
    # its first middle_rank + 1 entries, so only that part is partitioned again, grouped by
    # how many finite values the row holds (one or two ranks a group keeps it fast).
    for finite in np.unique(count[partial]):
        rows = partial[count[partial] == finite]
        if finite == 0:
            low[rows] = high[rows] = np.nan
            continue
        lower, upper = (finite - 1) // 2, finite // 2
        head = values[rows, : middle_rank + 1]
        head.partition([lower, upper] if upper != lower else lower, axis=1)
        low[rows] = head[:, lower]
        high[rows] = head[:, upper]
    return low, high
