"""The median filter against a plain, obviously-correct reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from badpix_inspector.core import ParameterError, dispersion_array_axis, median_filter


def reference_median_filter(image, kernel_size, dispaxis):
    """Median of the finite values of each zero-padded window, one pixel at a time."""
    half = kernel_size // 2
    rows, columns = image.shape
    half_rows = 0 if dispaxis == 1 else half
    half_columns = 0 if dispaxis == 2 else half
    result = np.empty_like(image)
    two = image.dtype.type(2)
    for row in range(rows):
        for column in range(columns):
            values = []
            for r in range(row - half_rows, row + half_rows + 1):
                for c in range(column - half_columns, column + half_columns + 1):
                    inside = 0 <= r < rows and 0 <= c < columns
                    values.append(image[r, c] if inside else image.dtype.type(0.0))
            values = sorted(v for v in values if not np.isnan(v))
            if not values:
                result[row, column] = np.nan
                continue
            n = len(values)
            low, high = values[(n - 1) // 2], values[n // 2]
            result[row, column] = (low + high) / two
    return result


images = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=14),
    elements=st.one_of(
        st.floats(-1e3, 1e3, width=32),
        st.just(np.nan),
        st.sampled_from([0.0, 1.0, -1.0, 2.5]),  # ties
    ),
)


@settings(max_examples=150, deadline=None)
@given(image=images, kernel_size=st.sampled_from([1, 3, 5, 7, 9]),
       dispaxis=st.sampled_from([1, 2, None]))
def test_matches_reference(image, kernel_size, dispaxis):
    expected = reference_median_filter(image, kernel_size, dispaxis)
    got = median_filter(image, kernel_size, dispaxis)
    assert got.dtype == image.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dispaxis", [1, 2, None])
def test_square_and_line_windows_agree_with_reference_on_a_larger_image(dispaxis):
    rng = np.random.default_rng(5)
    image = rng.normal(size=(37, 41)).astype(np.float32)
    image[rng.random(image.shape) < 0.15] = np.nan
    image[5:12, 20:30] = np.nan  # an all-NaN patch larger than a 5x5 window
    expected = reference_median_filter(image, 5, dispaxis)
    np.testing.assert_array_equal(median_filter(image, 5, dispaxis), expected)
    # The square window uses threads; one thread must give the same.
    np.testing.assert_array_equal(median_filter(image, 5, dispaxis, threads=1), expected)


def test_even_count_is_the_mean_in_the_datas_precision():
    # Window of 3 along rows at row 0: [0 (padding), a, b] -> three values, median b or a.
    # With one NaN the window holds two values, whose mean is taken in float32.
    a, b = np.float32(1.0000001), np.float32(3.3333333)
    image = np.array([[a], [b], [np.nan]], dtype=np.float32)
    result = median_filter(image, 3, 2)
    assert result[2, 0] == (b + np.float32(0.0)) / np.float32(2)
    assert result.dtype == np.float32


def test_zero_padding_biases_edges_low():
    image = np.full((9, 9), 10.0, dtype=np.float32)
    result = median_filter(image, 9, 2)
    # Row 0: window holds 4 zeros and 5 tens -> median 10; a 9x9 square window at a corner
    # holds 16 tens among 81 -> median 0.
    assert result[0, 0] == 10.0
    assert median_filter(image, 9, None)[0, 0] == 0.0


def test_kernel_one_returns_a_copy():
    image = np.array([[1.0, np.nan]], dtype=np.float32)
    result = median_filter(image, 1, None)
    np.testing.assert_array_equal(result, image)
    assert result is not image


def test_refuses_even_and_bad_axes():
    image = np.zeros((4, 4), dtype=np.float32)
    with pytest.raises(ParameterError):
        median_filter(image, 4, 1)
    with pytest.raises(ParameterError, match="dispaxis must be 1, 2 or None"):
        median_filter(image, 3, 3)
    with pytest.raises(ValueError, match="2-D"):
        median_filter(np.zeros(4), 3, 1)


def test_dispaxis_maps_to_numpy_axes():
    assert dispersion_array_axis(2) == 0
    assert dispersion_array_axis(1) == 1
    assert dispersion_array_axis(None) is None


def test_input_is_not_modified():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(20, 20)).astype(np.float32)
    image[3, 3] = np.nan
    before = image.copy()
    for dispaxis in (1, 2, None):
        median_filter(image, 5, dispaxis)
    np.testing.assert_array_equal(image, before)
