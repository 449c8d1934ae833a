"""The algorithm's stages: the behaviours the pipeline's own tests check, and caching."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from badpix_inspector import badpix_selfcal
from badpix_inspector.core import (
    FLAG_BITS,
    ParameterError,
    SelfcalParameters,
    SelfcalStages,
    apply_flags,
    combine,
    count_sorted,
    filter_combined,
    pedestal_region,
    thresholds,
)
from oracles import source_index


def smooth_background_with_outliers(seed=1, shape=(128, 120)):
    rng = np.random.default_rng(seed)
    rows, columns = np.indices(shape)
    image = (50 + 0.05 * rows + 3 * np.sin(columns / 17)).astype(np.float32)
    image += rng.normal(0, 0.1, size=shape).astype(np.float32)
    flat = rng.choice(image.size, size=12, replace=False)
    hot = np.unravel_index(flat[:6], shape)
    cold = np.unravel_index(flat[6:], shape)
    image[hot] += 40
    image[cold] -= 40
    return image, hot, cold


@pytest.mark.parametrize("dispaxis", [1, 2, None])
def test_planted_hot_and_cold_pixels_are_all_found(dispaxis):
    image, hot, cold = smooth_background_with_outliers()
    fraction = 0.002
    flagged = badpix_selfcal(image, fraction, fraction, kernel_size=7, dispaxis=dispaxis)
    found = set(zip(*flagged, strict=True))
    assert set(zip(*hot, strict=True)) <= found
    assert set(zip(*cold, strict=True)) <= found
    # The tails hold flagfrac_lower + flagfrac_upper of the pixels (to interpolation).
    assert len(flagged[0]) == pytest.approx(2 * fraction * image.size, abs=2)


def vertically_striped(shape=(100, 92)):
    """Bright stripes on every 4th column and four outliers, one of them on a stripe."""
    image = np.zeros(shape)
    image[:, ::4] = 10.0
    outliers = [(20, 8), (45, 30), (70, 55), (85, 77)]  # (20, 8) lies on a stripe
    for place in outliers:
        image[place] += 10.0
    return image, outliers


@pytest.mark.parametrize(("dispaxis", "expected_found"), [(2, 4), (1, 1), (None, 1)])
def test_dispersion_axis_decides_which_outliers_are_found(dispaxis, expected_found):
    image, outliers = vertically_striped()
    flagged = set(zip(*badpix_selfcal(image, dispaxis=dispaxis), strict=True))
    found = [place for place in outliers if place in flagged]
    assert len(found) == expected_found
    if expected_found == 1:
        assert found == [(20, 8)]


def test_badpix_selfcal_returns_where_style_indices_and_refuses_bad_values():
    image, *_ = smooth_background_with_outliers()
    flagged = badpix_selfcal(image)
    assert isinstance(flagged, tuple) and len(flagged) == 2
    with pytest.raises(ParameterError, match="odd"):
        badpix_selfcal(image, kernel_size=4)
    with pytest.raises(ParameterError, match="dispaxis"):
        badpix_selfcal(image, dispaxis=0)
    with pytest.raises(ParameterError, match="flagfrac_upper"):
        badpix_selfcal(image, flagfrac_upper=0.6)


def test_thresholds_from_sorted_values_equal_nanpercentile():
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        difference = rng.standard_t(3, size=(200, 150)).astype(dtype)
        difference[rng.random(difference.shape) < 0.05] = np.nan
        finite = np.sort(difference[np.isfinite(difference)])
        for lower, upper in [(0.001, 0.001), (0.0, 0.5), (0.37, 0.0123), (1e-5, 0.2)]:
            expected = np.nanpercentile(difference, [lower * 100, (1 - upper) * 100])
            got = thresholds(finite, lower, upper)
            assert (got.low, got.high) == (expected[0], expected[1])
            assert thresholds(difference, lower, upper) == got


def test_nan_is_never_flagged_and_limits_are_strict():
    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    image[0, 0] = np.nan
    filtered = filter_combined(image, 1, 1)  # kernel 1: difference is all zero
    limits = thresholds(filtered.sorted_finite, 0.1, 0.1)
    stages = SelfcalStages([image], None)
    mask = stages.flags(SelfcalParameters(kernel_size=1, flagfrac_lower=0.1), 1)
    assert limits.low == limits.high == 0.0
    assert not mask.any()  # nothing is strictly beyond zero, and NaN is never flagged


def test_miri_pedestal_is_subtracted_per_exposure_for_the_combination_only():
    shape = (1024, 1032)
    first = np.full(shape, 5.0, dtype=np.float32)
    second = np.full(shape, 4.0, dtype=np.float32)
    rows, columns = pedestal_region("mirifulong")
    first[rows, columns] = 3.0  # pedestal of the first exposure: 3
    second[rows, columns] = 0.5  # of the second: 0.5 -> 3.5 after subtraction
    combined = combine([first, second], "MIRIFULONG", with_source=True)
    assert combined.pedestals == (np.float32(3.0), np.float32(0.5))
    assert combined.image.dtype == np.float32
    assert combined.image[0, 0] == 2.0  # min(5 - 3, 4 - 0.5)
    assert first[0, 0] == 5.0  # the inputs keep their values
    assert combined.source[0, 0] == 0


def test_no_pedestal_for_other_detectors_and_all_nan_stays_nan():
    first = np.array([[1.0, np.nan], [np.nan, 4.0]], dtype=np.float32)
    second = np.array([[2.0, 0.5], [np.nan, 3.0]], dtype=np.float32)
    combined = combine([first, second], "NRS1", with_source=True)
    assert combined.pedestals == (None, None)
    np.testing.assert_array_equal(combined.image, [[1.0, 0.5], [np.nan, 3.0]])
    np.testing.assert_array_equal(combined.source, [[0, 1], [-1, 1]])
    assert pedestal_region("MIRIFUSHORT") == (slice(50, 974), slice(503, 516))
    assert pedestal_region(None) is None


def test_combine_refuses_shapes_that_differ():
    with pytest.raises(ValueError, match="differ in shape"):
        combine([np.zeros((2, 2)), np.zeros((3, 2))], None)


def test_apply_flags_ors_dq_and_nans_only_the_planes_that_exist():
    mask = np.array([[True, False], [False, True]])
    dq = np.array([[4, 0], [2**31, 0]], dtype=np.uint32)
    sci = np.ones((2, 2), dtype=np.float32)
    err = np.full((2, 2), 0.5, dtype=np.float32)
    planes = {"SCI": sci, "ERR": err, "DQ": dq}
    flagged = apply_flags(planes, mask)
    assert set(flagged) == {"SCI", "ERR", "DQ"}  # no VAR_* invented
    np.testing.assert_array_equal(
        flagged["DQ"], [[4 | 1 | 2**30, 0], [2**31, 1 | 2**30]]
    )
    assert FLAG_BITS == 1073741825
    assert np.isnan(flagged["SCI"][0, 0]) and np.isnan(flagged["ERR"][1, 1])
    assert flagged["SCI"][0, 1] == 1.0
    # Inputs untouched.
    assert dq[0, 0] == 4 and sci[0, 0] == 1.0


def test_missing_dq_starts_as_uint32_zeros():
    mask = np.array([[True, False]])
    flagged = apply_flags({"SCI": np.zeros((1, 2), dtype=np.float32)}, mask)
    assert flagged["DQ"].dtype == np.uint32
    np.testing.assert_array_equal(flagged["DQ"], [[FLAG_BITS, 0]])


def test_stages_recompute_only_what_a_change_needs(monkeypatch):
    image, *_ = smooth_background_with_outliers()
    stages = SelfcalStages([image, image + 1], None)
    calls = []
    import badpix_inspector.core.stages as stages_module

    real = stages_module.smooth
    monkeypatch.setattr(
        stages_module, "smooth", lambda *args: calls.append(args[1:]) or real(*args)
    )
    parameters = SelfcalParameters(kernel_size=5)
    first = stages.flags(parameters, 2)
    stages.flags(parameters.replace(flagfrac_upper=0.01), 2)  # fractions: no new filtering
    assert calls == [(5, 2)]
    combined = stages.combined
    stages.flags(parameters.replace(kernel_size=7), 2)  # kernel: filter again, same combined
    stages.flags(parameters.replace(kernel_size=7), 1)  # axis: filter again
    assert calls == [(5, 2), (7, 2), (7, 1)]
    assert stages.combined is combined
    np.testing.assert_array_equal(first, stages.flags(parameters, 2))


def test_count_beyond_matches_the_mask():
    image, *_ = smooth_background_with_outliers()
    filtered = filter_combined(image, 5, 2)
    limits = thresholds(filtered.sorted_finite, 0.01, 0.02)
    low, high = filtered.count_beyond(limits)
    assert low == int((filtered.difference < limits.low).sum())
    assert high == int((filtered.difference > limits.high).sum())


@settings(max_examples=300, deadline=None)
@given(
    values=hnp.arrays(np.float32, st.integers(0, 60),
                      elements=st.floats(width=32, allow_nan=False)),
    key=st.one_of(st.floats(allow_nan=True), st.sampled_from([1e39, -1e39, 0.1, -0.0])),
    near=st.booleans(),
)
def test_count_sorted_equals_a_float64_search(values, key, near):
    values = np.sort(values)
    if near and values.size:  # keys a hair away from a value: where rounding would bite
        key = float(np.nextafter(np.float64(values[values.size // 2]), key))
    for side in ("left", "right"):
        expected = int(np.searchsorted(values.astype(np.float64), np.float64(key), side=side))
        assert count_sorted(values, key, side) == expected
        assert count_sorted(values.astype(np.float64), key, side) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data(), count=st.integers(1, 6), detector=st.sampled_from([None, "MIRIFULONG"]))
def test_the_source_noted_while_combining_is_the_first_exposure_holding_the_minimum(
        data, count, detector):
    shape = (60, 520) if detector else (5, 7)
    values = st.sampled_from([np.nan, -np.inf, np.inf, -0.0, 0.0, 1.0, 2.0, -3.5])
    images = [data.draw(hnp.arrays(np.float32, shape, elements=values)) for _ in range(count)]
    combined = combine(iter(images), detector, with_source=True)
    assert combined.source.dtype == np.int8
    np.testing.assert_array_equal(combined.source, source_index(combined, images))
    np.testing.assert_array_equal(combined.image, combine(images, detector).image)


def test_the_source_map_widens_beyond_127_exposures():
    images = [np.full((2, 3), 200.0 - number, np.float32) for number in range(130)]
    combined = combine(images, None, with_source=True)
    assert combined.source.dtype == np.int16 and (combined.source == 129).all()
