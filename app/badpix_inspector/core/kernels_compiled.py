"""The compiled (numba) kernels behind `badpix_inspector.core.kernels`.

Imported only by `kernels.warm_up`, never by ``import badpix_inspector.core``: numba costs
about 0.3 s and 60 MiB to import, more than it saves in a one-product command run. Every
function here is exact (see `kernels` for the tricks and why they are exact); callers go
through `kernels`, which prepares the arrays (contiguous, padded) and shares the work
between threads (the kernels release the GIL).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "beyond",
    "close_gap",
    "compact",
    "median_across",
    "median_down",
    "median_lanes",
    "network15_across",
    "network15_down",
    "square_ranks",
    "table_lookup",
    "tails",
]

@njit(inline="always")
def _order(a, b):
    return (a, b) if a <= b else (b, a)


@njit(inline="always")
def _low(a, b):
    return a if a <= b else b


@njit(inline="always")
def _high(a, b):
    return b if a <= b else a


@njit(inline="always")
def _ranks_6_7_8(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14):
    # Batcher's odd-even merge sort for 16 inputs, with the 16th input taken as +inf
    # (its comparators dropped) and pruned back from outputs 6, 7 and 8: 51 comparators,
    # 12 of which only need one of their two outputs. Checked exhaustively on all 2**15
    # zero-one inputs (tests/core/test_kernels.py checks it again against sorting).
    v0, v1 = _order(v0, v1)
    v2, v3 = _order(v2, v3)
    v4, v5 = _order(v4, v5)
    v6, v7 = _order(v6, v7)
    v8, v9 = _order(v8, v9)
    v10, v11 = _order(v10, v11)
    v12, v13 = _order(v12, v13)
    v0, v2 = _order(v0, v2)
    v1, v3 = _order(v1, v3)
    v4, v6 = _order(v4, v6)
    v5, v7 = _order(v5, v7)
    v8, v10 = _order(v8, v10)
    v9, v11 = _order(v9, v11)
    v12, v14 = _order(v12, v14)
    v1, v2 = _order(v1, v2)
    v5, v6 = _order(v5, v6)
    v9, v10 = _order(v9, v10)
    v13, v14 = _order(v13, v14)
    v0, v4 = _order(v0, v4)
    v1, v5 = _order(v1, v5)
    v2, v6 = _order(v2, v6)
    v3, v7 = _order(v3, v7)
    v8, v12 = _order(v8, v12)
    v9, v13 = _order(v9, v13)
    v10, v14 = _order(v10, v14)
    v2, v4 = _order(v2, v4)
    v3, v5 = _order(v3, v5)
    v10, v12 = _order(v10, v12)
    v11, v13 = _order(v11, v13)
    v1, v2 = _order(v1, v2)
    v3, v4 = _order(v3, v4)
    v5, v6 = _order(v5, v6)
    v9, v10 = _order(v9, v10)
    v11, v12 = _order(v11, v12)
    v13, v14 = _order(v13, v14)
    v8 = _high(v0, v8)
    v9 = _high(v1, v9)
    v10 = _high(v2, v10)
    v3, v11 = _order(v3, v11)
    v4 = _low(v4, v12)
    v5 = _low(v5, v13)
    v6 = _low(v6, v14)
    v8 = _high(v4, v8)
    v5, v9 = _order(v5, v9)
    v6 = _low(v6, v10)
    v7 = _low(v7, v11)
    v5 = _high(v3, v5)
    v6, v8 = _order(v6, v8)
    v7 = _low(v7, v9)
    v6 = _high(v5, v6)
    v7, v8 = _order(v7, v8)
    return v6, v7, v8


@njit(inline="always")
def _median15(v6, v7, v8, top, bottom):
    # An even NaN count leaves an odd number of values, centred on rank 7. An odd count
    # leaves an even number: ranks 7 and 8 when the window's NaNs start with -inf (one
    # more -inf than +inf), else 6 and 7. The mean is bottleneck's (float64, then the
    # data's dtype), which is what the reference path gives, bit for bit. An all-NaN
    # window gives the quiet NaN numpy writes (the added infinities would give the
    # hardware's negative one, which a real -inf/+inf pair does give in the reference).
    missing = (bottom - top) & 255
    if missing & 1 == 0:
        return np.float64(v7)
    if missing == 15:
        return np.nan
    other = v6 if top & 1 else v8
    return 0.5 * (np.float64(v7) + np.float64(other))


@njit(inline="always")
def _replaced(value, nans_before):
    # A NaN becomes -inf when an even number of NaNs precede it on its line, else +inf.
    if value != value:
        return -np.inf if nans_before & 1 == 0 else np.inf
    return value


@njit(inline="always")
def _fill15(value, nans_before):
    # The value as the network sees it (`_replaced`), and whether it was a NaN.
    return _replaced(value, nans_before), np.uint8(value != value)


@njit(nogil=True, cache=True)
def _pad15_down(image, padded, nans, start, count):
    # Columns start:start + count of the image into the block, as `network15_down` says.
    rows = image.shape[0]
    for j in range(count):
        nans[0, j] = 0
    for i in range(rows + 14):
        source = i - 7
        if source < 0 or source >= rows:
            for j in range(count):
                padded[i, j] = 0
                nans[i + 1, j] = nans[i, j]
            continue
        for j in range(count):
            above = nans[i, j]
            padded[i, j], missing = _fill15(image[source, start + j], above)
            nans[i + 1, j] = above + missing


@njit(nogil=True, cache=True)
def _network15_block(padded, nans, filtered, count):
    # The network on every window of the block, its columns side by side.
    for i in range(filtered.shape[0]):
        for j in range(count):
            v6, v7, v8 = _ranks_6_7_8(
                padded[i, j], padded[i + 1, j], padded[i + 2, j], padded[i + 3, j],
                padded[i + 4, j], padded[i + 5, j], padded[i + 6, j], padded[i + 7, j],
                padded[i + 8, j], padded[i + 9, j], padded[i + 10, j], padded[i + 11, j],
                padded[i + 12, j], padded[i + 13, j], padded[i + 14, j],
            )
            filtered[i, j] = _median15(v6, v7, v8, nans[i, j], nans[i + 15, j])


@njit(nogil=True, cache=True)
def network15_down(image, out, first, last, width):
    """Window of 15 along axis 0, for columns ``first:last``, ``width`` columns at a time.

    Each block of columns is zero-padded by 7 rows on each side, its NaNs replaced by
    -inf and +inf in turn down each column, and ``nans[i, j]`` counts, modulo 256, the
    NaNs in ``padded[:i, j]``: a window's NaN count is the difference at its two ends
    (exact modulo 256 for 15 values), and its first NaN is -inf when the count above it
    is even. The network then runs across the block's columns side by side. Only the
    block's buffers are made, never a padded copy of the image.
    """
    rows = image.shape[0]
    padded = np.empty((rows + 14, width), image.dtype)
    nans = np.empty((rows + 15, width), np.uint8)
    # The block's medians go to a buffer of the block's own, then to the image: stored
    # straight into the image, a row apart (a multiple of 4 KiB for 1024 or 2048
    # columns), they stalled the loads of the padded block now and then ("4K
    # aliasing"), which made the whole filter 20x slower on some allocations.
    filtered = np.empty((rows, width), image.dtype)
    for start in range(first, last, width):
        count = min(width, last - start)
        _pad15_down(image, padded, nans, start, count)
        _network15_block(padded, nans, filtered, count)
        for i in range(rows):
            for j in range(count):
                out[i, start + j] = filtered[i, j]


@njit(nogil=True, cache=True)
def network15_across(image, out, start, stop):
    """Window of 15 along axis 1, for rows ``start:stop`` (see `network15_down`)."""
    columns = image.shape[1]
    line = np.empty(columns + 14, image.dtype)
    nans = np.empty(columns + 15, np.uint8)
    for i in range(start, stop):
        nans[0] = 0
        for c in range(columns + 14):
            source = c - 7
            if source < 0 or source >= columns:
                line[c] = 0
                nans[c + 1] = nans[c]
            else:
                line[c], missing = _fill15(image[i, source], nans[c])
                nans[c + 1] = nans[c] + missing
        for j in range(columns):
            v6, v7, v8 = _ranks_6_7_8(
                line[j], line[j + 1], line[j + 2], line[j + 3], line[j + 4], line[j + 5],
                line[j + 6], line[j + 7], line[j + 8], line[j + 9], line[j + 10],
                line[j + 11], line[j + 12], line[j + 13], line[j + 14],
            )
            out[i, j] = _median15(v6, v7, v8, nans[j], nans[j + 15])


@njit(inline="always")
def _insert(column, size, value):
    # Insert into the sorted column[:size] (which has room for one more).
    position = size
    while position > 0 and column[position - 1] > value:
        column[position] = column[position - 1]
        position -= 1
    column[position] = value


@njit(inline="always")
def _replace(column, old, new):
    # Replace one occurrence of `old` by `new` in a sorted column, keeping it sorted.
    size = column.shape[0]
    position = 0
    while column[position] != old:
        position += 1
    while position + 1 < size and column[position + 1] < new:
        column[position] = column[position + 1]
        position += 1
    while position > 0 and column[position - 1] > new:
        column[position] = column[position - 1]
        position -= 1
    column[position] = new


@njit(inline="always")
def _counts(column, value):
    # Entries < value and <= value in a short sorted column: a branch-free count, which
    # the compiler vectorises, beats a binary search whose branches mispredict.
    less = 0
    at_most = 0
    for position in range(column.shape[0]):
        entry = column[position]
        less += entry < value
        at_most += entry <= value
    return less, at_most


@njit(nogil=True, cache=True)
def square_ranks(keys, counts, kernel_size, sentinel, low, high, start, stop):
    """Two middle order keys of every k x k window, for output rows ``start:stop``.

    ``keys`` is the zero-padded image as order-preserving integers with every NaN set to
    ``sentinel`` (above every number); ``counts`` the number of non-NaN values of each
    window. Each padded column's k keys are kept sorted as the window moves down; along a
    row, the answer is stepped from the previous pixel's value, keeping per column how many
    keys lie below it and up to it, so a pixel costs a few steps over k columns.
    """
    k = kernel_size
    columns = low.shape[1]
    width = keys.shape[1]
    floor = -sentinel - 1
    # Each column sorted in [1, k], with guards below (floor) and above (sentinel), so that
    # the steps read the neighbours of a position without bounds checks or branches.
    guarded = np.empty((width, k + 2), keys.dtype)
    below = np.zeros(width, np.int64)  # per column: keys < value (a position in guarded - 1)
    up_to = np.zeros(width, np.int64)  # per column: keys <= value
    for c in range(width):
        guarded[c, 0] = floor
        guarded[c, k + 1] = sentinel
        for r in range(k):
            _insert(guarded[c, 1 : k + 1], r, keys[start + r, c])
    for i in range(start, stop):
        if i > start:
            for c in range(width):
                old = keys[i - 1, c]
                new = keys[i + k - 1, c]
                if old != new:
                    _replace(guarded[c, 1 : k + 1], old, new)
        value = guarded[k // 2, k // 2 + 1]
        less = 0
        equal_or_less = 0
        for c in range(k):
            below[c], up_to[c] = _counts(guarded[c, 1 : k + 1], value)
            less += below[c]
            equal_or_less += up_to[c]
        for j in range(columns):
            if j > 0:
                leaving = j - 1
                entering = j + k - 1
                less -= below[leaving]
                equal_or_less -= up_to[leaving]
                below[entering], up_to[entering] = _counts(guarded[entering, 1 : k + 1], value)
                less += below[entering]
                equal_or_less += up_to[entering]
            count = counts[i, j]
            if count == 0:
                low[i, j] = sentinel
                high[i, j] = sentinel
                continue
            rank = (count - 1) // 2
            while rank >= equal_or_less:
                # Step up to the next distinct key in the window: the smallest of the
                # keys just above each column's position.
                following = sentinel
                for c in range(j, j + k):
                    candidate = guarded[c, up_to[c] + 1]
                    following = candidate if candidate < following else following
                value = following
                less = equal_or_less
                for c in range(j, j + k):
                    below[c] = up_to[c]
                    position = up_to[c]
                    while guarded[c, position + 1] == value:
                        position += 1
                    up_to[c] = position
                    equal_or_less += position - below[c]
            while rank < less:
                # Step down to the previous distinct key in the window.
                preceding = floor
                for c in range(j, j + k):
                    candidate = guarded[c, below[c]]
                    preceding = candidate if candidate > preceding else preceding
                value = preceding
                equal_or_less = less
                for c in range(j, j + k):
                    up_to[c] = below[c]
                    position = below[c]
                    while guarded[c, position] == value:
                        position -= 1
                    below[c] = position
                    less -= up_to[c] - position
            low[i, j] = value
            if count // 2 < equal_or_less:
                high[i, j] = value
            else:
                following = sentinel
                for c in range(j, j + k):
                    candidate = guarded[c, up_to[c] + 1]
                    following = candidate if candidate < following else following
                high[i, j] = following


@njit(nogil=True, cache=True)
def tails(values, below, above, low_values, low_index, high_values, high_index):
    """Count the non-NaN values; collect those ``<= below`` and ``>= above``.

    Values and flat indices go into the given buffers while they have room; the returned
    counts (non-NaN, at or below, at or above) say whether they had.
    """
    count = 0
    low_count = 0
    high_count = 0
    low_room = low_values.shape[0]
    high_room = high_values.shape[0]
    for i in range(values.shape[0]):
        value = values[i]
        if value != value:
            continue
        count += 1
        if value <= below:
            if low_count < low_room:
                low_values[low_count] = value
                low_index[low_count] = i
            low_count += 1
        if value >= above:
            if high_count < high_room:
                high_values[high_count] = value
                high_index[high_count] = i
            high_count += 1
    return count, low_count, high_count


@njit(inline="always")
def _slide(window, leaving, entering, previous, k, lanes):
    # In every lane, remove one occurrence of `leaving` from the sorted window[:k] and
    # insert `entering`, keeping it sorted (window[k] holds +inf). Branch-free, so the
    # lanes run side by side in vector registers: with R the window without `leaving`
    # (R[p] = S[p] while S[p] < leaving, else S[p + 1]), the new window at p is
    # min(R[p], max(R[p - 1], entering)), R[-1] being -inf.
    for lane in range(lanes):
        previous[lane] = -np.inf
    for p in range(k):
        for lane in range(lanes):
            here = window[p, lane]
            kept = here if here < leaving[lane] else window[p + 1, lane]
            before = previous[lane]
            floor = before if before > entering[lane] else entering[lane]
            window[p, lane] = kept if kept < floor else floor
            previous[lane] = kept


@njit(nogil=True, cache=True)
def median_lanes(lines, out, k):
    """Window of odd length ``k`` (>= 3) down axis 0 of ``lines``, every column a line.

    ``lines`` and ``out`` are C-ordered (length, lanes) arrays, at most a few hundred
    lanes wide so that the sorted windows stay in cache. Positions outside a line count
    as 0. Each lane keeps its window's k values sorted, NaNs replaced by -inf and +inf in
    turn down the line (see `network15_down`); the median is then rank k // 2, or the mean
    of it and a neighbour when the window holds an odd number of NaNs, as in `_median15`.
    """
    length, lanes = lines.shape
    half = k // 2
    zero = np.zeros(1, lines.dtype)[0]
    window = np.empty((k + 1, lanes), lines.dtype)
    window[:] = np.inf
    previous = np.empty(lanes, lines.dtype)
    leaving = np.empty(lanes, lines.dtype)
    entering = np.empty(lanes, lines.dtype)
    before = np.zeros(lanes, np.int64)  # NaNs on the line before the window
    inside = np.zeros(lanes, np.int64)  # NaNs in the window
    # Fill the first window by replacing +inf (the empty window's values) k times.
    leaving[:] = np.inf
    for position in range(k):
        source = position - half
        for lane in range(lanes):
            value = lines[source, lane] if 0 <= source < length else zero
            entering[lane] = _replaced(value, before[lane] + inside[lane])
            inside[lane] += value != value
        _slide(window, leaving, entering, previous, k, lanes)
    for i in range(length):
        if i > 0:
            gone = i - 1 - half
            come = i + half
            for lane in range(lanes):
                value = lines[gone, lane] if gone >= 0 else zero
                missing = value != value
                leaving[lane] = _replaced(value, before[lane])
                before[lane] += missing
                inside[lane] -= missing
                value = lines[come, lane] if come < length else zero
                entering[lane] = _replaced(value, before[lane] + inside[lane])
                inside[lane] += value != value
            _slide(window, leaving, entering, previous, k, lanes)
        for lane in range(lanes):
            missing = inside[lane]
            middle = window[half, lane]
            if missing & 1 == 0:
                out[i, lane] = middle
            elif missing == k:
                out[i, lane] = np.nan
            else:
                other = window[half - 1, lane] if before[lane] & 1 else window[half + 1, lane]
                out[i, lane] = 0.5 * (np.float64(middle) + np.float64(other))


@njit(nogil=True, cache=True)
def median_down(image, out, k, first, last, lanes):
    """Window of odd length ``k`` along axis 0, for columns ``first:last``."""
    rows = image.shape[0]
    block = np.empty((rows, lanes), image.dtype)
    result = np.empty((rows, lanes), image.dtype)
    for start in range(first, last, lanes):
        width = min(lanes, last - start)
        lines = block[:, :width].copy() if width < lanes else block
        filtered = result[:, :width].copy() if width < lanes else result
        for i in range(rows):
            for lane in range(width):
                lines[i, lane] = image[i, start + lane]
        median_lanes(lines, filtered, k)
        for i in range(rows):
            for lane in range(width):
                out[i, start + lane] = filtered[i, lane]


@njit(nogil=True, cache=True)
def median_across(image, out, k, first, last, lanes):
    """Window of odd length ``k`` along axis 1, for rows ``first:last`` (transposed)."""
    columns = image.shape[1]
    block = np.empty((columns, lanes), image.dtype)
    result = np.empty((columns, lanes), image.dtype)
    for start in range(first, last, lanes):
        width = min(lanes, last - start)
        lines = block[:, :width].copy() if width < lanes else block
        filtered = result[:, :width].copy() if width < lanes else result
        for lane in range(width):
            for c in range(columns):
                lines[c, lane] = image[start + lane, c]
        median_lanes(lines, filtered, k)
        for lane in range(width):
            for c in range(columns):
                out[start + lane, c] = filtered[c, lane]


@njit(nogil=True, cache=True)
def table_lookup(values, low, scale, steps, table, out, start, stop):
    """``out[i] = table[step]`` for flat positions ``start:stop`` of ``values``.

    The step is ``(value - low) * scale`` in float32 (the difference formed in the values'
    dtype, as numpy forms it), clipped to ``0 .. steps - 1`` and truncated; NaN takes
    ``table[steps]``. ``low`` has the values' dtype, ``scale`` is float32. Written without
    branches (selects only), so that all but the table's gather runs in vector registers:
    noisy data around the limits made a branching version 4x slower.
    """
    top = np.float32(steps - 1)
    zero = np.float32(0)
    missing = table[steps]
    for i in range(start, stop):
        x = np.float32(values[i] - low) * scale
        number = x == x
        x = x if number else zero
        x = x if x > zero else zero
        x = x if x < top else top
        entry = table[np.int32(x)]
        out[i] = entry if number else missing


@njit(nogil=True, cache=True)
def compact(values, out, start, stop):
    """Copy the non-NaN values of ``values[start:stop]``, in order, to ``out[start:]``.

    Returns how many were copied. (``values[~isnan(values)]`` does the same with a mask,
    ten times slower where NaNs are scattered.)
    """
    count = start
    for i in range(start, stop):
        value = values[i]
        out[count] = value
        count += value == value
    return count - start


@njit(nogil=True, cache=True)
def close_gap(values, source, destination, count):
    """Move ``values[source:source + count]`` down to ``destination`` (<= source)."""
    for i in range(count):
        values[destination + i] = values[source + i]


@njit(nogil=True, cache=True)
def beyond(values, low, high, low_index, high_index, start, stop):
    """Flat indices in ``start:stop`` of the values strictly below ``low`` or above ``high``.

    They go, ascending, into ``low_index`` and ``high_index`` while those have room; the
    returned counts say whether they had. NaN is neither.
    """
    low_count = 0
    high_count = 0
    low_room = low_index.shape[0]
    high_room = high_index.shape[0]
    for i in range(start, stop):
        value = values[i]
        if value < low:
            if low_count < low_room:
                low_index[low_count] = i
            low_count += 1
        elif value > high:
            if high_count < high_room:
                high_index[high_count] = i
            high_count += 1
    return low_count, high_count
