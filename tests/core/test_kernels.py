"""The compiled kernels against the plain reference and numpy, bit for bit.

Every test here runs the compiled path for real: the kernels are compiled (or loaded from
numba's cache) synchronously by a fixture, and the tests check that they were used.
"""

import contextlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_medfilt import reference_median_filter

from badpix_inspector.core import (
    Filtered,
    Thresholds,
    badpix_selfcal,
    flag_mask,
    flag_sides,
    kernels,
    median_filter,
    thresholds,
)


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Load the compiled kernels for this module; afterwards the plain path serves again."""
    kernels.warm_up(background=False)
    assert kernels.ready()
    yield
    # Other test modules test the plain path through the same public functions.
    kernels._compiled = None


def as_bits(array):
    """The bytes of an array, with -0.0 made +0.0.

    Equal values compare equal bit for bit, NaN payloads and signs included; only the sign
    of a zero may differ, because which of two equal zeros a selection algorithm returns is
    its own choice (numpy's and bottleneck's differ too) and changes no flag.
    """
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = np.where(array == 0, array.dtype.type(0), array)
    return array.view(np.uint8)


def compiled_filter(image, kernel_size, dispaxis):
    axis = None if dispaxis is None else 2 - dispaxis
    result = kernels.compiled_median_filter(image, kernel_size, axis, 2)
    assert result is not None, "the compiled path did not serve"
    assert np.array_equal(
        as_bits(median_filter(image, kernel_size, dispaxis)), as_bits(result)
    ), "median_filter did not take the compiled path"
    return result


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5]  # ties and non-finite values


def images(max_side, extremes=False):
    finite = (
        st.floats(width=32, allow_nan=False, allow_infinity=False)
        if extremes
        else st.floats(-1e3, 1e3, width=32)
    )
    return hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=max_side),
        # NaN drawn often, so that all-NaN windows and every NaN count occur.
        elements=st.one_of(st.just(np.nan), finite, st.sampled_from(SPECIAL)),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(40), dispaxis=st.sampled_from([1, 2]))
def test_window_of_15_along_either_axis_matches_the_reference(image, dispaxis):
    got = compiled_filter(image, 15, dispaxis)
    expected = reference_median_filter(image, 15, dispaxis)
    assert got.dtype == image.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(18), kernel_size=st.sampled_from([3, 5, 7, 9, 15, 21]))
def test_square_window_matches_the_reference(image, kernel_size):
    got = compiled_filter(image, kernel_size, None)
    expected = reference_median_filter(image, kernel_size, None)
    assert got.dtype == image.dtype
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(30, extremes=True), dispaxis=st.sampled_from([1, 2, None]),
       kernel_size=st.sampled_from([7, 15]))
def test_extreme_values_match_the_plain_path_bit_for_bit(image, dispaxis, kernel_size):
    # Values near the largest float and subnormals: the mean of two middle values must be
    # formed exactly as the plain path forms it (bottleneck for lines, dtype for squares).
    got = compiled_filter(image, kernel_size, dispaxis)
    plain = median_filter(image, kernel_size, dispaxis, compiled=False)
    assert np.array_equal(as_bits(got), as_bits(plain))


def test_sorting_network_gives_ranks_6_7_8():
    from badpix_inspector.core import kernels_compiled

    rng = np.random.default_rng(0)
    for trial in range(3000):
        values = rng.integers(0, 4 if trial % 2 else 1000, size=15).astype(np.float64)
        expected = np.sort(values)[6:9]
        got = kernels_compiled._ranks_6_7_8(*values)
        assert tuple(expected) == got


@pytest.mark.parametrize("dispaxis", [1, 2, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_larger_images_with_nan_patches_and_infinities(dispaxis, dtype):
    rng = np.random.default_rng(3)
    image = rng.normal(size=(97, 83)).astype(dtype)
    image[rng.random(image.shape) < 0.1] = np.nan
    image[rng.random(image.shape) < 0.01] = np.inf
    image[rng.random(image.shape) < 0.01] = -np.inf
    image[30:50, 10:40] = np.nan  # windows with no value at all
    got = compiled_filter(image, 15, dispaxis)
    np.testing.assert_array_equal(got, median_filter(image, 15, dispaxis, compiled=False))
    if dispaxis is not None:
        np.testing.assert_array_equal(got, reference_median_filter(image, 15, dispaxis))


def test_kernel_larger_than_the_image_and_one_line_images():
    rng = np.random.default_rng(4)
    for shape in [(1, 1), (1, 9), (9, 1), (3, 2), (1, 40), (40, 1)]:
        image = rng.normal(size=shape).astype(np.float32)
        image.flat[0] = np.nan
        for dispaxis in (1, 2, None):
            got = compiled_filter(image, 15, dispaxis)
            np.testing.assert_array_equal(got, reference_median_filter(image, 15, dispaxis))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(70), dispaxis=st.sampled_from([1, 2]),
       kernel_size=st.sampled_from([3, 5, 7, 9, 11, 13, 17, 19, 23, 31, 41, 63, 99]))
def test_any_odd_window_along_either_axis_matches_the_reference(image, dispaxis, kernel_size):
    # Lines shorter than the window, lane groups of 64 with a remainder, every NaN count.
    got = compiled_filter(image, kernel_size, dispaxis)
    expected = reference_median_filter(image, kernel_size, dispaxis)
    assert got.dtype == image.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kernel_size", [3, 15, 17, 31, 101])
@pytest.mark.parametrize("dispaxis", [1, 2])
def test_other_windows_on_a_wide_image_with_ties_and_infinities(kernel_size, dispaxis):
    # 333 columns: blocks of 128 columns for the window of 15 down the rows, and a rest.
    rng = np.random.default_rng(kernel_size)
    image = np.round(rng.normal(size=(150, 333)) * 2).astype(np.float32)  # many ties
    image[rng.random(image.shape) < 0.15] = np.nan
    image[rng.random(image.shape) < 0.01] = np.inf
    image[rng.random(image.shape) < 0.01] = -np.inf
    image[40:60, 100:200] = np.nan  # windows with no value at all
    got = compiled_filter(image, kernel_size, dispaxis)
    assert np.array_equal(as_bits(got),
                          as_bits(median_filter(image, kernel_size, dispaxis, compiled=False)))


def test_windows_longer_than_the_lanes_take_fall_back_to_the_exact_plain_path():
    image = np.random.default_rng(5).normal(size=(30, 300)).astype(np.float32)
    size = kernels.MAX_LANE_KERNEL + 2
    assert kernels.compiled_median_filter(image, size, 1, 2) is None
    np.testing.assert_array_equal(median_filter(image, size, 1),
                                  reference_median_filter(image, size, 1))


def random_difference(rng, size, dtype, nan=0.01, infinities=0):
    values = rng.normal(size=size).astype(dtype)
    values[rng.random(size) < 0.001] *= 100  # outliers
    values[rng.random(size) < nan] = np.nan
    values[rng.integers(0, size, infinities)] = np.inf
    values[rng.integers(0, size, infinities)] = -np.inf
    return values


@pytest.mark.parametrize("seed", range(12))
def test_tail_percentiles_equal_numpys(seed):
    rng = np.random.default_rng(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    values = random_difference(rng, int(rng.integers(2000, 300_000)), dtype,
                               infinities=int(rng.integers(0, 3)))
    if seed % 3 == 0:
        values = np.round(values, 1)  # many ties
    low, high = sorted(rng.uniform(0, 0.05, size=2))
    percentiles = [low * 100, (1 - high) * 100]
    got = kernels.percentile_limits(values, percentiles)
    assert got is not None, "the tail path did not serve"
    expected = np.nanpercentile(values, percentiles)
    assert got.dtype == expected.dtype
    assert np.array_equal(as_bits(got), as_bits(expected))
    found = kernels.percentile_limits(values, percentiles, with_flags=True)
    low, high = flag_sides(values, Thresholds(*expected))
    np.testing.assert_array_equal(found[1][0], np.flatnonzero(low))
    np.testing.assert_array_equal(found[1][1], np.flatnonzero(high))
    assert found[2] == np.count_nonzero(np.isfinite(values))


fractions = st.one_of(st.sampled_from([0.0, 0.001, 0.5]), st.floats(0, 0.5))


@settings(max_examples=150, deadline=None)
@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(1, 3000),
        elements=st.one_of(st.floats(-1e6, 1e6, width=32), st.sampled_from(SPECIAL)),
    ),
    lower=fractions,
    upper=fractions,
)
def test_thresholds_equal_nanpercentile_whatever_path(values, lower, upper):
    if np.isnan(values).all():
        values[0] = 1.0
    percentiles = [lower * 100, (1 - upper) * 100]
    expected = np.nanpercentile(values, percentiles)
    compiled = thresholds(values, lower, upper)
    plain = thresholds(values, lower, upper, compiled=False)
    sorted_values = np.sort(values[~np.isnan(values)])
    from_sorted = kernels.sorted_percentiles(sorted_values, percentiles)
    for got in (np.array([compiled.low, compiled.high]),
                np.array([plain.low, plain.high]), from_sorted):
        assert np.array_equal(as_bits(got), as_bits(expected))
    found = kernels.percentile_limits(values, percentiles, with_flags=True)
    if found is not None:
        low, high = flag_sides(values, Thresholds(*expected))
        np.testing.assert_array_equal(found[1][0], np.flatnonzero(low))
        np.testing.assert_array_equal(found[1][1], np.flatnonzero(high))
        assert found[2] == np.count_nonzero(np.isfinite(values))


@pytest.mark.parametrize("dispaxis", [1, 2, None])
def test_public_function_flags_the_same_on_both_paths(dispaxis):
    rng = np.random.default_rng(8)
    image = random_difference(rng, 120 * 110, np.float32).reshape(120, 110)
    image += np.linspace(0, 3, 110, dtype=np.float32)
    got = badpix_selfcal(image, 0.002, 0.003, 15, dispaxis)
    filtered = Filtered(15, dispaxis, smoothed := median_filter(image, 15, dispaxis,
                                                                  compiled=False),
                        image - smoothed)
    limits = thresholds(filtered.difference, 0.002, 0.003, compiled=False)
    expected = np.nonzero(flag_mask(filtered.difference, limits))
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert got[0].size > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_counts_from_sorted_values_match_the_mask(dtype):
    rng = np.random.default_rng(9)
    difference = random_difference(rng, 50_000, dtype, infinities=2).reshape(250, 200)
    filtered = Filtered(15, 1, np.zeros_like(difference), difference)
    for lower, upper in [(0.001, 0.001), (0.0, 0.02), (0.3, 0.5)]:
        limits = filtered.thresholds(lower, upper)
        mask = flag_mask(difference, limits)
        assert filtered.count_beyond(limits) == (
            int((difference < limits.low).sum()), int((difference > limits.high).sum())
        )
        assert sum(filtered.count_beyond(limits)) == int(mask.sum())
        # A limit between two float32 values, and one equal to a value: strictness holds.
        value = np.float64(filtered.sorted_values[100])
        for limit in (value, np.nextafter(value, np.inf), np.nextafter(value, -np.inf)):
            between = Thresholds(low=limit, high=limit)
            assert filtered.count_beyond(between) == (
                int((difference < limit).sum()), int((difference > limit).sum())
            )
    assert filtered.sorted_finite.size == int(np.isfinite(difference).sum())


def test_importing_the_core_does_not_import_numba_and_warm_up_runs_in_the_background():
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from badpix_inspector.core import kernels, median_filter, thresholds\n"
        "image = np.ones((20, 20), np.float32)\n"
        "median_filter(image, 15, 1); thresholds(image, 0.1, 0.1)\n"
        "assert 'numba' not in sys.modules, 'numba imported too early'\n"
        "assert not kernels.ready()\n"
        "thread = kernels.warm_up()\n"
        "assert thread is not None and thread.daemon\n"
        "thread.join()\n"
        "assert kernels.ready() and 'numba' in sys.modules\n"
        "assert kernels.warm_up() is None\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_plain_path_blocks_serve_without_the_kernels():
    image = np.ones((20, 20), np.float32)
    with kernels.plain_path():
        assert not kernels.ready()
        assert kernels.compiled_median_filter(image, 15, 0, 1) is None
        assert kernels.percentile_limits(image, [1, 99]) is None
    assert kernels.ready()
    assert kernels.compiled_median_filter(image, 15, 0, 1) is not None


def test_tail_path_serves_on_column_structured_images():
    # Wide outliers only in some columns: a sample taken at a regular stride that divides
    # the row length would see none of them and bracket the tails too narrowly.
    rng = np.random.default_rng(11)
    difference = rng.normal(size=(512, 2048)).astype(np.float32)
    difference[:, 3::8] *= 50
    percentiles = [0.1, 99.9]
    got = kernels.percentile_limits(difference, percentiles)
    assert got is not None, "the tail path did not serve"
    assert np.array_equal(as_bits(got), as_bits(np.nanpercentile(difference, percentiles)))


def test_read_only_and_strided_inputs_use_the_compiled_kernels_without_compiling_again():
    from badpix_inspector.core import kernels_compiled

    def signatures():
        return {name: len(getattr(kernels_compiled, name).signatures)
                for name in kernels._KERNEL_NAMES}

    before = signatures()
    rng = np.random.default_rng(12)
    image = rng.normal(size=(60, 80)).astype(np.float32)
    image[rng.random(image.shape) < 0.05] = np.nan
    read_only = image.copy()
    read_only.flags.writeable = False
    strided = np.repeat(image, 2, axis=1)[:, ::2]
    for variant in (read_only, strided, np.asfortranarray(image)):
        for dispaxis in (1, 2, None):
            got = compiled_filter(variant, 15, dispaxis)
            np.testing.assert_array_equal(got, median_filter(image, 15, dispaxis,
                                                             compiled=False))
        assert kernels.percentile_limits(variant, [1, 99]) is not None
    assert signatures() == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flag_mask_compares_exactly_with_float64_limits(dtype):
    rng = np.random.default_rng(13)
    difference = random_difference(rng, 20_000, dtype, infinities=2).reshape(100, 200)
    values = np.sort(difference[np.isfinite(difference)]).astype(np.float64)
    for low, high in [(values[10], values[-10]),
                      (np.nextafter(values[10], np.inf), np.nextafter(values[-10], -np.inf)),
                      (np.nextafter(values[10], -np.inf), np.nextafter(values[-10], np.inf)),
                      (-np.inf, np.inf), (np.nan, np.nan), (-1e300, 1e300), (1e300, -1e300)]:
        expected = (difference.astype(np.float64) > high) | (difference.astype(np.float64) < low)
        np.testing.assert_array_equal(flag_mask(difference, Thresholds(low, high)), expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=hnp.arrays(dtype=st.sampled_from([np.float32, np.float64]),
                         shape=st.integers(0, 5000),
                         elements=st.one_of(st.sampled_from(SPECIAL),
                                            st.floats(-10, 10, width=32))),
       bounds=st.tuples(st.floats(-3, 3), st.floats(-3, 3)).map(sorted),
       threads=st.integers(1, 3), known=st.booleans())
def test_the_flag_pass_and_the_sort_give_numpys_answers(values, bounds, threads, known):
    low, high = (values.dtype.type(bound) for bound in bounds)
    expected = (np.flatnonzero(values < low), np.flatnonzero(values > high))
    counts = tuple(part.size for part in expected) if known else None
    got = kernels.beyond(values, low, high, counts=counts, threads=threads)
    for side, want in zip(got, expected, strict=True):
        assert side.dtype == np.int64
        np.testing.assert_array_equal(side, want)
    np.testing.assert_array_equal(kernels.sorted_non_nan(values, threads=threads),
                                  np.sort(values[~np.isnan(values)]))


def test_the_flag_pass_grows_a_short_guess():
    # More than its first guess (1024 a piece) beyond the bounds, and no counts given.
    values = np.linspace(-1, 1, 50_000, dtype=np.float32)
    low, high = kernels.beyond(values, np.float32(-0.5), np.float32(0.5), threads=2)
    np.testing.assert_array_equal(low, np.flatnonzero(values < -0.5))
    np.testing.assert_array_equal(high, np.flatnonzero(values > 0.5))


@pytest.mark.parametrize("dispaxis", [1, 2])
def test_the_stages_flags_are_the_same_on_the_compiled_and_the_plain_path(dispaxis):
    # Before the sort (the tail pass, counting the finite values on the way) and after it
    # (an index into the sorted values, then the flag pass sized by the counts).
    from badpix_inspector.core import SelfcalStages

    rng = np.random.default_rng(21)
    images = [random_difference(rng, 160 * 150, np.float32, infinities=3).reshape(160, 150)
              + np.float32(5) for _ in range(3)]
    for fractions in ((0.002, 0.003), (0.0, 0.5), (0.03, 0.001)):
        answers = []
        for plain in (False, True):
            with kernels.plain_path() if plain else contextlib.nullcontext():
                assert kernels.ready() is not plain
                filtered = SelfcalStages(images, None).filtered(9, dispaxis)
                before = filtered.flags_for(*fractions)
                count = filtered.finite_count
                filtered.sorted_values  # noqa: B018 (sorts)
                answers += [before, filtered.flags_for(*fractions)]
                assert count == int(np.isfinite(filtered.difference).sum())
        expected = answers[-1]  # the plain path, from the sorted values
        for limits, low, high in answers:
            assert np.array_equal(as_bits(np.array([limits.low, limits.high])),
                                  as_bits(np.array([expected[0].low, expected[0].high])))
            np.testing.assert_array_equal(low.index, expected[1].index)
            np.testing.assert_array_equal(high.index, expected[2].index)
