"""Compiled exact kernels for the median filter and the thresholds, loaded on demand.

The stage functions (`median_filter`, `thresholds`) use these kernels once `ready()` is
true and the plain numpy/bottleneck path before; both give the same values, bit for bit.
Nothing here imports numba until `warm_up` is called, so ``import badpix_inspector.core``
stays light: a one-product command run never pays numba's ~0.3 s and ~60 MiB import. The
window and the batch workers call ``warm_up()`` at start-up; the kernels then compile (or
load from numba's on-disk cache, ``cache=True``) in a daemon thread while the plain path
serves.

Where it pays (measured on this 2-core machine, noisy): the kernels save ~50-90 ms per
MIRI product and ~200-300 ms per 2048x2048 NIRSpec product at k=15, and ~0.4 s per kernel
change on a 15x15 window; loading them costs ~0.45-0.9 s and ~60 MiB. So the one-product
command stays on the plain path (it never calls `warm_up`); the window and long-lived batch
workers call ``warm_up()`` once at start-up.

How the kernels stay exact:

- **Window of 15 along one axis.** A sorting network pruned to ranks 6, 7 and 8 of 15
  runs on every window. NaNs are first replaced down each line by -inf and +inf in turn,
  so a window with m NaNs holds them as about m/2 of each, at both ends of its order: the
  median of its other values sits at rank 7 (m even) or is the mean of ranks 7 and 8 (or
  6 and 7, depending on the sign its first NaN got), which a running NaN count along the
  line tells apart; it also marks all-NaN windows, which give NaN as numpy writes it. Real
  infinities are exact too: an added -inf ties with a real -inf, so the values at every
  rank are those of the window's own sorted values, shifted.
- **Signed zeros.** -0.0 and +0.0 are equal values; where a window's median is a zero and
  it holds both, which one comes out depends on the algorithm (as it does between numpy
  and bottleneck). Every other bit, NaN included, is the reference's.
- **Square window.** Order-preserving integer keys (NaN is a key above +inf), each
  column's k keys kept sorted as the window moves down, the two middle keys stepped from
  the previous pixel's along a row. Any odd k.
- **Percentiles.** numpy's 'linear' rule needs the values at two ranks per percentile.
  A small sample brackets the tails; one pass counts the non-NaN values and collects the
  values beyond the brackets; if the ranks fall inside the collected tails, partitioning
  those few values gives the same order statistics as a partition of the whole, and
  numpy's own interpolation formula (repeated step by step) gives the same limits.
  Otherwise numpy's ``nanpercentile`` runs.

- **Any other odd window along one axis.** Each line keeps its window's k values sorted
  (NaNs replaced as above, tracked with running counts instead of a table). Moving one
  step removes the leaving value and inserts the entering one in one branch-free pass
  over the k positions, so 64 lines run side by side in vector registers (lines along
  the rows are transposed into such blocks first). Removal and insertion leave the
  window exactly the multiset of its values, so the middle ranks are exact. It costs
  about 0.2 ns per pixel and window value, 4-6x less than bottleneck's ``move_median``
  (about 28 ns a pixel) up to k of about 50; windows longer than `MAX_LANE_KERNEL` keep
  bottleneck.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import memory

__all__ = [
    "beyond",
    "compiled_median_filter",
    "percentile_limits",
    "plain_path",
    "ready",
    "shared",
    "sorted_non_nan",
    "sorted_percentiles",
    "table_lookup",
    "warm_up",
]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_compiled = None  # the kernels_compiled module, once its kernels are compiled or loaded
_failed = False
_plain = 0  # how many plain_path() blocks are open
_DTYPES = (np.float32, np.float64)
_ready_dtypes: set[np.dtype] = set()  # dtypes whose kernels are compiled or loaded

#: Threads that share a pass over an image: the cores, at most 4.
THREADS = min(os.cpu_count() or 1, 4)
#: The window length with a sorting network (jwst's default kernel_size).
NETWORK_KERNEL = 15
#: The longest window along one axis that the sorted-lanes kernel takes: its cost grows
#: with the window (about 0.2 ns per pixel and window value) where bottleneck's heaps
#: grow with its logarithm; they meet at a few hundred.
MAX_LANE_KERNEL = 255


def ready() -> bool:
    """Return True once the compiled kernels can be used without waiting.

    The float32 kernels come first; float64 data take the plain path until theirs are in.
    """
    return _compiled is not None and not _plain


@contextlib.contextmanager
def plain_path():
    """Serve every call with the plain numpy/bottleneck path while inside (all threads).

    For comparisons and benchmarks: the results are the same either way.
    """
    global _plain
    with _lock:
        _plain += 1
    try:
        yield
    finally:
        with _lock:
            _plain -= 1


def warm_up(background: bool = True) -> threading.Thread | None:
    """Compile the kernels (or load them from numba's disk cache) so that they are used.

    Parameters
    ----------
    background : bool
        True (the default): do it in a daemon thread and return at once; the plain path
        serves until `ready` is true. False: do it now, in this thread (tests, benchmarks).

    Returns
    -------
    threading.Thread or None
        The thread doing the work (already running or finished), or None when the work
        was done synchronously or was done before. Calling again is cheap.

    Notes
    -----
    Compiling every kernel takes 5-15 s the first time after an install; loading them from
    the cache afterwards about half a second, most of it numba's import. In the background,
    a cold cache is filled by a child process (compiling in-process would pause the other
    threads for up to ~0.3 s at a time), then the kernels load from it. If numba is
    missing or fails, a warning is logged and the plain path keeps serving.
    """
    global _thread
    if _compiled is not None or _failed:
        return None
    if not background:
        _load()
        return None
    with _lock:
        if _thread is None or not _thread.is_alive():
            if _compiled is not None:
                return None
            _thread = threading.Thread(target=_load, args=(True,), name="badpix-kernels",
                                       daemon=True)
            _thread.start()
        return _thread


def _load(compile_aside: bool = False) -> None:
    global _compiled, _failed
    with _lock_load:
        if _compiled is not None or _failed:
            return
        started = time.perf_counter()
        try:
            from . import kernels_compiled as module

            if compile_aside and not _cached(module):
                # Compiling holds the GIL for long stretches (pauses of 0.1-0.3 s in the
                # other threads, an event loop's included): compile in a child process,
                # which fills the disk cache, then load from it here in a fraction of that.
                _compile_in_child()

            # float32 first: the SCI arrays of rate files, and half the compile time.
            for dtype in _DTYPES:
                _exercise(module, dtype)
                _ready_dtypes.add(np.dtype(dtype))
                _compiled = module
                log.debug("compiled kernels for %s ready after %.2f s",
                          np.dtype(dtype).name, time.perf_counter() - started)
            # Only a new compilation would run LLVM's code again: give its pages back.
            memory.release_library_pages("libllvmlite.so")
        except Exception:
            _failed = True
            log.warning("compiled kernels unavailable; the plain path serves", exc_info=True)


_lock_load = threading.Lock()

_KERNEL_NAMES = ("network15_down", "network15_across", "median_down", "median_across",
                 "square_ranks", "tails", "table_lookup", "compact", "close_gap", "beyond")


def _cached(module) -> bool:
    """Whether numba's disk cache holds an index for every kernel (best effort)."""
    try:
        return all(
            Path(getattr(module, name)._cache._cache_file._index_path).exists()
            for name in _KERNEL_NAMES
        )
    except (AttributeError, OSError):  # numba's internals moved: compile aside to be safe
        return False


def _compile_in_child() -> None:
    import subprocess  # only here: the command never gets this far

    package_root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join(filter(None, [str(package_root), os.environ.get("PYTHONPATH")]))
    command = "from badpix_inspector.core import kernels; kernels.warm_up(background=False)"
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-c", command], env={**os.environ, "PYTHONPATH": path},
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError):
        log.debug("compiling the kernels in a child process failed", exc_info=True)
    log.debug("kernels compiled aside in %.2f s", time.perf_counter() - started)


def _exercise(module, dtype) -> None:
    """Run every kernel once on tiny inputs of one dtype, compiling or loading it."""
    image = np.arange(12, dtype=dtype).reshape(3, 4)
    image[1, 1] = np.nan
    for axis in (0, 1):
        _line15(module, image, axis, 1)
        _line(module, image, 3, axis, 1)
    _square(module, image, 3, 1)
    values = np.arange(50, dtype=dtype)
    buffers = (np.empty(50, dtype), np.empty(50, np.int64)) * 2
    module.tails(values, dtype(10), dtype(40), *buffers)
    _tail_percentiles(module, values, np.array([0.01, 0.99]))
    table = np.arange(5, dtype=np.uint8)
    module.table_lookup(values, dtype(1), np.float32(0.1), 4, table, np.empty(50, np.uint8),
                        0, 50)
    module.close_gap(values.copy(), 5, 0, module.compact(values, values.copy(), 0, 50))
    module.beyond(values, dtype(10), dtype(40), np.empty(50, np.int64), np.empty(50, np.int64),
                  0, 50)


def shared(function, size: int, threads: int | None = None) -> None:
    """Call ``function(start, stop)`` on ``threads`` consecutive shares of ``range(size)``.

    The shares run side by side in threads (numpy and the kernels release the GIL), and
    an exception raised in any of them is raised here. ``threads`` defaults to `THREADS`.
    """
    _run(function, _partition(size, threads or THREADS))


def _partition(size: int, threads: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, size, max(1, min(threads, size)) + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def _run(function, ranges: list[tuple[int, int]]) -> None:
    # The kernels release the GIL: blocks run in parallel in plain threads.
    if len(ranges) <= 1:
        for start, stop in ranges:
            function(start, stop)
        return
    errors: list[BaseException] = []

    def guarded(*item: int) -> None:
        try:
            function(*item)
        except BaseException as error:  # re-raised in the calling thread below
            errors.append(error)

    workers = [threading.Thread(target=guarded, args=item) for item in ranges[1:]]
    for worker in workers:
        worker.start()
    guarded(*ranges[0])
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


#: Columns filtered side by side by `kernels_compiled.network15_down`: its padded block
#: ((rows + 14) x this) stays within the second-level cache.
_NETWORK_COLUMNS = 128


def _line15(module, image: np.ndarray, axis: int, threads: int) -> np.ndarray:
    rows, columns = image.shape
    out = np.empty_like(image)
    if axis == 0:
        # Blocks of whole column groups, so that no thread gets a narrow remainder.
        groups = -(-columns // _NETWORK_COLUMNS)
        ranges = [(min(a * _NETWORK_COLUMNS, columns), min(b * _NETWORK_COLUMNS, columns))
                  for a, b in _partition(groups, threads)]
        _run(lambda a, b: module.network15_down(image, out, a, b, _NETWORK_COLUMNS), ranges)
    else:
        _run(lambda a, b: module.network15_across(image, out, a, b), _partition(rows, threads))
    return out


#: Lines filtered side by side by `kernels_compiled.median_lanes`: their sorted windows
#: (k + 1 values each) stay in the first-level cache up to k of about 60.
_LANES = 64


def _line(module, image: np.ndarray, kernel_size: int, axis: int, threads: int) -> np.ndarray:
    out = np.empty_like(image)
    function = module.median_down if axis == 0 else module.median_across
    lines = image.shape[1 - axis]
    # Blocks of whole lane groups, so that no thread gets a narrow remainder of another's.
    groups = -(-lines // _LANES)
    ranges = [(min(a * _LANES, lines), min(b * _LANES, lines))
              for a, b in _partition(groups, threads)]
    _run(lambda a, b: function(image, out, kernel_size, a, b, _LANES), ranges)
    return out


def _float_keys(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Order-preserving integer keys of a float array; NaN becomes the largest key."""
    integer = np.int32 if values.dtype == np.float32 else np.int64
    sentinel = int(np.iinfo(integer).max)
    bits = values.view(integer)
    # Negative floats order backwards as integers: flipping all bits but the sign fixes it.
    keys = np.where(bits < 0, bits ^ integer(sentinel), bits)
    keys[np.isnan(values)] = sentinel
    return keys, sentinel


def _float_values(keys: np.ndarray, dtype: np.dtype) -> np.ndarray:
    sentinel = keys.dtype.type(np.iinfo(keys.dtype).max)
    return np.where(keys < 0, keys ^ sentinel, keys).view(dtype)


def _square(module, image: np.ndarray, kernel_size: int, threads: int) -> np.ndarray:
    half = kernel_size // 2
    padded = np.pad(image, half)
    keys, sentinel = _float_keys(padded)
    # Number of NaNs in every window, from a 2-D cumulative sum (exact integers).
    table = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1), dtype=np.int32)
    np.cumsum(np.cumsum(keys == sentinel, axis=0, dtype=np.int32), axis=1, out=table[1:, 1:])
    k = kernel_size
    counts = kernel_size * kernel_size - (
        table[k:, k:] - table[:-k, k:] - table[k:, :-k] + table[:-k, :-k]
    )
    low = np.empty(image.shape, keys.dtype)
    high = np.empty(image.shape, keys.dtype)
    _run(lambda a, b: module.square_ranks(keys, counts, k, sentinel, low, high, a, b),
         _partition(image.shape[0], threads))
    # As the reference: the two middle values added and halved in the data's dtype (the
    # same value twice for an odd count), NaN where the window holds no value.
    with np.errstate(invalid="ignore", over="ignore"):  # -inf + inf, as the reference
        middle = (_float_values(low, image.dtype) + _float_values(high, image.dtype)) / (
            image.dtype.type(2)
        )
    middle[counts == 0] = np.nan
    return middle


def _rougher_along_rows(image: np.ndarray) -> bool:
    """Whether values change more from column to column than from row to row (a sample)."""
    step = max(1, min(image.shape) // 64)
    sample = image[::step, ::step].astype(np.float64)
    if min(sample.shape) < 2:
        return sample.shape[1] > sample.shape[0]
    with np.errstate(invalid="ignore"):
        across = np.abs(np.diff(sample, axis=1))
        down = np.abs(np.diff(sample, axis=0))
    finite_across = across[np.isfinite(across)]
    finite_down = down[np.isfinite(down)]
    if finite_across.size == 0 or finite_down.size == 0:
        return False
    return float(np.median(finite_across)) > float(np.median(finite_down))


def _as_compiled(array: np.ndarray) -> np.ndarray:
    """Return the array as the kernels were compiled for: C-ordered, aligned, writeable.

    A read-only or unaligned array would be a new type to numba and compile on the spot,
    blocking for seconds; a copy costs a millisecond or so.
    """
    flags = array.flags
    if flags.c_contiguous and flags.aligned and flags.writeable:
        return array
    return np.array(array, order="C")


def _usable(*arrays: np.ndarray):
    """Return the compiled module if its kernels take these arrays now, else None."""
    module = _compiled
    if not ready() or any(array.dtype not in _ready_dtypes for array in arrays):
        return None
    return module


def compiled_median_filter(
    image: np.ndarray, kernel_size: int, axis: int | None, threads: int
) -> np.ndarray | None:
    """Median-filter with the compiled kernels, or return None where they do not apply.

    Parameters
    ----------
    image : numpy.ndarray
        2-D float32 or float64 image.
    kernel_size : int
        Odd window length, at least 3.
    axis : {0, 1, None}
        The numpy axis the window runs along; None for the square window.
    threads : int
        Threads to share the work.

    Returns
    -------
    numpy.ndarray or None
        The filtered image (as `median_filter` gives it), or None when the kernels are not
        ready or have no path for this case (another window length along one axis, another
        dtype).
    """
    module = _usable(image)
    if module is None:
        return None
    if axis is None:
        # The square kernel steps each median from its left neighbour's, at a cost that
        # grows with how far the values move: run it along the smoother axis (the window
        # is symmetric, so the transposed result is the same, bit for bit).
        if _rougher_along_rows(image):
            transposed = _square(module, _as_compiled(image.T), kernel_size, threads)
            return np.ascontiguousarray(transposed.T)
        return _square(module, _as_compiled(image), kernel_size, threads)
    if kernel_size == NETWORK_KERNEL:
        return _line15(module, _as_compiled(image), axis, threads)
    if kernel_size > MAX_LANE_KERNEL:
        return None
    return _line(module, _as_compiled(image), kernel_size, axis, threads)


def table_lookup(
    values: np.ndarray, low: float, scale: float, table: np.ndarray, threads: int | None = None
) -> np.ndarray | None:
    """Map values through a table of linear steps, or None when the kernels are not ready.

    Parameters
    ----------
    values : numpy.ndarray
        float32 or float64, any shape.
    low, scale : float
        The step of a value is ``(value - low) * scale``, formed as numpy forms it for a
        float32 result (the difference in the values' dtype, then float32), clipped to
        ``0 .. len(table) - 2`` and truncated.
    table : numpy.ndarray
        uint8, one entry per step and a last one for NaN.
    threads : int, optional
        Threads sharing the work (default `THREADS`).

    Returns
    -------
    numpy.ndarray or None
        uint8, the shape of ``values``.
    """
    module = _usable(values)
    if module is None:
        return None
    flat = _as_compiled(values).reshape(-1)
    table = np.ascontiguousarray(table, dtype=np.uint8)
    out = np.empty(flat.size, np.uint8)
    low_value, step_scale = values.dtype.type(low), np.float32(scale)
    steps = table.size - 1
    _run(lambda a, b: module.table_lookup(flat, low_value, step_scale, steps, table, out, a, b),
         _partition(flat.size, threads or THREADS))
    return out.reshape(values.shape)


def sorted_non_nan(values: np.ndarray, threads: int | None = None) -> np.ndarray | None:
    """Return the non-NaN values of ``values``, sorted (1-D), or None when not ready.

    The same array as ``numpy.sort(values[~numpy.isnan(values)])``: each thread copies the
    non-NaN values of its share into place, the shares are closed up, and numpy sorts.
    """
    module = _usable(values)
    if module is None:
        return None
    flat = _as_compiled(values).reshape(-1)
    out = np.empty(flat.size, flat.dtype)
    pieces = _partition(flat.size, threads or THREADS)
    counts = dict.fromkeys(pieces, 0)

    def copy(start: int, stop: int) -> None:
        counts[(start, stop)] = module.compact(flat, out, start, stop)

    _run(copy, pieces)
    end = 0
    for start, stop in pieces:
        if start != end:
            module.close_gap(out, start, end, counts[(start, stop)])
        end += counts[(start, stop)]
    kept = out[:end]
    kept.sort()
    # The NaNs' room at the end is given back only by a copy; it is small (a few per cent
    # at most), so the view is kept.
    return kept


def beyond(
    values: np.ndarray, low, high, counts: tuple[int, int] | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Flat indices (int64, ascending) of the values strictly below ``low`` / above ``high``.

    Parameters
    ----------
    values : numpy.ndarray
        float32 or float64, any shape.
    low, high : scalar
        The bounds, in the values' dtype (see `stages._exact_bounds`).
    counts : (int, int), optional
        How many there are on each side, when known (from the sorted values): the
        buffers are then made to measure.
    threads : int, optional
        Threads sharing the pass (default `THREADS`).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray) or None
        The low and the high indices, or None when the kernels are not ready.
    """
    module = _usable(values)
    if module is None:
        return None
    flat = _as_compiled(values).reshape(-1)
    kind = flat.dtype.type
    low, high = kind(low), kind(high)
    pieces = _partition(flat.size, threads or THREADS)
    found: dict[tuple[int, int], tuple] = {}

    def collect(start: int, stop: int, room_low: int, room_high: int) -> None:
        buffers = (np.empty(room_low, np.int64), np.empty(room_high, np.int64))
        found[(start, stop)] = (*module.beyond(flat, low, high, *buffers, start, stop),
                                *buffers)

    def room(total: int | None, start: int, stop: int) -> int:
        if total is not None:
            return total
        return max(1024, (stop - start) // 256)  # a guess, grown below if too small

    _run(lambda a, b: collect(a, b, room(counts and counts[0], a, b),
                              room(counts and counts[1], a, b)), pieces)
    low_parts, high_parts = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for start, stop in pieces:
        low_count, high_count, low_index, high_index = found[(start, stop)]
        if low_count > low_index.size or high_count > high_index.size:
            collect(start, stop, low_count, high_count)  # the guess was short: once more
            low_count, high_count, low_index, high_index = found[(start, stop)]
        low_parts.append(low_index[:low_count])
        high_parts.append(high_index[:high_count])
    return np.concatenate(low_parts), np.concatenate(high_parts)


def _numpy_linear(
    count: int, quantiles: np.ndarray, order_statistic
) -> np.ndarray:
    """Return numpy's 'linear' quantiles of ``count`` values, given their order statistics.

    The steps are those of numpy's ``_quantile`` (virtual index, neighbouring indices with
    their bounds, gamma, two-sided lerp), so that the result is the same to the bit.
    ``order_statistic(ranks)`` returns the values at the given ranks (0-based, in the
    values' dtype).
    """
    virtual = (count - 1) * quantiles
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= count - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    previous = previous.astype(np.intp)
    following = following.astype(np.intp)
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    a = order_statistic(np.where(previous < 0, previous + count, previous))
    b = order_statistic(np.where(following < 0, following + count, following))
    # numpy warns here when both values are the same infinity (the limit is NaN then);
    # the stage functions silence that warning anyway.
    with np.errstate(invalid="ignore", over="ignore"):
        difference = b - a
        result = np.add(a, difference * gamma)
        np.subtract(b, difference * (1 - gamma), out=result, where=gamma >= 0.5,
                    casting="unsafe", dtype=result.dtype)
    return result


def sorted_percentiles(sorted_values: np.ndarray, percentiles) -> np.ndarray:
    """Return numpy's ``nanpercentile`` of values already sorted with their NaNs removed.

    Parameters
    ----------
    sorted_values : numpy.ndarray
        1-D, ascending, without NaN (±inf allowed), at least one value.
    percentiles : sequence of float
        In percent.

    Returns
    -------
    numpy.ndarray
        Identical to ``numpy.nanpercentile(values, percentiles)``; costs O(1) per value.
    """
    quantiles = np.true_divide(percentiles, 100)
    return _numpy_linear(sorted_values.size, quantiles, lambda ranks: sorted_values[ranks])


# Sample size for bracketing the tails, and how far beyond the sampled rank the brackets
# go (standard deviations of the rank's binomial spread, plus a margin for small samples).
_SAMPLE = 16384
_SPREAD = 6.0
_MARGIN = 8
# Above this fraction of pixels in a tail, collecting candidates stops paying.
_MAX_TAIL = 0.05


def _tail_percentiles(module, values: np.ndarray, quantiles: np.ndarray, threads: int = 1):
    """Exact 'linear' quantiles from the tails, or None when the tails do not hold them.

    Returns (limits, brackets, tails) where tails is ((values, indices), (values, indices))
    of the low and the high candidates, each holding every value beyond its bracket.
    """
    flat = values.reshape(-1)
    size = flat.size
    if size <= _SAMPLE:
        sample = flat.copy()
    else:
        # Random places (seeded: the result is exact anyway): a regular stride can fall on
        # the same few columns of every row and miss the image's structure.
        sample = flat[np.random.default_rng(size).integers(0, size, _SAMPLE)]
    sample = sample[~np.isnan(sample)]
    drawn = sample.size
    if drawn == 0:
        return None
    low_q, high_q = float(quantiles[0]), float(quantiles[1])
    if low_q > _MAX_TAIL or 1 - high_q > _MAX_TAIL:
        return None

    def reach(q: float) -> float:
        return _SPREAD * math.sqrt(drawn * q * (1 - q)) + _MARGIN

    low_at = min(drawn - 1, math.ceil(low_q * (drawn - 1) + reach(low_q)))
    high_at = max(0, math.floor(high_q * (drawn - 1) - reach(high_q)))
    if not low_at < high_at:
        return None
    sample.partition([low_at, high_at])
    below, above = sample[low_at], sample[high_at]
    if not below < above:
        return None
    pieces = _partition(size, threads)
    found = [None] * len(pieces)

    def collect(start: int, stop: int) -> None:
        # Each piece of the image fills its own buffers, sized for its share plus slack.
        share = (stop - start) / drawn
        room_low = int((low_at + 1) * share * 1.5) + 1024
        room_high = int((drawn - high_at) * share * 1.5) + 1024
        buffers = (np.empty(room_low, flat.dtype), np.empty(room_low, np.int64),
                   np.empty(room_high, flat.dtype), np.empty(room_high, np.int64))
        counts = module.tails(flat[start:stop], below, above, *buffers)
        found[pieces.index((start, stop))] = (start, counts, buffers)

    _run(collect, pieces)
    count = low_count = high_count = 0
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for start, (piece_count, piece_low, piece_high), buffers in found:
        if piece_low > buffers[0].size or piece_high > buffers[2].size:
            return None
        count += piece_count
        low_count += piece_low
        high_count += piece_high
        parts[0].append(buffers[0][:piece_low])
        parts[1].append(buffers[1][:piece_low] + start)
        parts[2].append(buffers[2][:piece_high])
        parts[3].append(buffers[3][:piece_high] + start)
    if count == 0:
        return None
    low_values, low_index, high_values, high_index = (np.concatenate(part) for part in parts)
    # The low tail holds ranks 0 .. low_count-1 exactly (every value <= below), the high
    # tail ranks count-high_count .. count-1.
    low_sorted = np.sort(low_values)
    high_sorted = np.sort(high_values)
    first_high = count - high_count

    def order_statistic(ranks: np.ndarray) -> np.ndarray:
        picked = np.empty(ranks.shape, flat.dtype)
        for place, rank in enumerate(ranks):
            if rank < low_count:
                picked[place] = low_sorted[rank]
            elif rank >= first_high:
                picked[place] = high_sorted[rank - first_high]
            else:
                raise _OutsideTails
        return picked

    try:
        limits = _numpy_linear(count, quantiles, order_statistic)
    except _OutsideTails:
        return None
    # Infinities lie in the tails (at or beyond any bracket): the finite values are the
    # others.
    finite = count - int(np.count_nonzero(low_values == -np.inf)) - int(
        np.count_nonzero(high_values == np.inf))
    return (limits, (below, above), ((low_values, low_index), (high_values, high_index)),
            finite)


class _OutsideTails(Exception):
    """A rank needed by the percentile is outside the collected tails."""


def percentile_limits(
    values: np.ndarray, percentiles, *, with_flags: bool = False, threads: int | None = None
):
    """``numpy.nanpercentile(values, [low, high])`` from the compiled tail kernel.

    Parameters
    ----------
    values : numpy.ndarray
        float32 or float64 array of any shape (NaN ignored).
    percentiles : pair of float
        The low and the high percentile.
    with_flags : bool
        Also return the flat indices, ascending, of the values strictly below the low
        limit and of those strictly above the high one (what ``numpy.flatnonzero`` of
        each side's mask gives), as a pair, and how many values are finite (counted on
        the way).
    threads : int, optional
        Threads sharing the pass over the values; default: the cores, at most 4.

    Returns
    -------
    numpy.ndarray or tuple or None
        The two limits, exactly numpy's (with the flat indices and the finite count when
        ``with_flags``: ``(limits, (low, high), finite)``); None
        when the kernels are not ready or the tails do not hold the ranks (large
        fractions, odd distributions): the caller then takes numpy's path.
    """
    module = _usable(values)
    if module is None:
        return None
    quantiles = np.true_divide(percentiles, 100)
    threads = threads or THREADS
    found = _tail_percentiles(module, _as_compiled(values), quantiles, threads)
    if found is None:
        return None
    limits, (below, above), ((low_values, low_index), (high_values, high_index)), finite = found
    if not with_flags:
        return limits
    low_limit, high_limit = limits
    # With the limits inside the brackets, every value below the low limit is in the low
    # tail and every value above the high one in the high tail (a NaN limit fails here).
    if not (low_limit <= below and high_limit >= above):
        return None
    # Each side's indices were collected in ascending order.
    return (limits, (low_index[low_values < low_limit], high_index[high_values > high_limit]),
            finite)
