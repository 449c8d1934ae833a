"""Pixel sets and label layers against plain numpy masks (no Qt)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from badpix_inspector.core.pixelsets import LabelLayers, PixelSet
from oracles import pool_labels

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


def masks(shape, density):
    return st.integers(0, 2**32 - 1).map(
        lambda seed: np.random.default_rng(seed).random(shape) < density)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), shape=shapes, density=st.sampled_from([0.0, 0.01, 0.2, 0.7, 1.0]))
def test_set_operations_are_those_of_the_masks(data, shape, density):
    a = data.draw(masks(shape, density))
    b = data.draw(masks(shape, 0.3))
    first, second = PixelSet.from_mask(a), PixelSet.from_mask(b)
    np.testing.assert_array_equal(first.mask(), a)
    assert first.size == len(first) == a.sum()
    np.testing.assert_array_equal(first.union(second).mask(), a | b)
    np.testing.assert_array_equal(first.difference(second).mask(), a & ~b)
    np.testing.assert_array_equal(first.intersection(second).mask(), a & b)
    rows, columns = first.rows_columns()
    expected_rows, expected_columns = np.nonzero(a)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(columns, expected_columns)
    flat = np.arange(a.size)
    np.testing.assert_array_equal(first.isin(flat), a.ravel())
    row, column = data.draw(st.integers(-2, shape[0] + 1)), data.draw(st.integers(-2, shape[1] + 1))
    inside = 0 <= row < shape[0] and 0 <= column < shape[1]
    assert first.contains(row, column) == (inside and bool(a[row, column]))


def test_from_flat_sorts_and_drops_repeats_and_the_mask_is_read_only():
    pixels = PixelSet.from_flat((3, 4), [7, 2, 7, 11])
    np.testing.assert_array_equal(pixels.index, [2, 7, 11])
    with pytest.raises(ValueError):
        pixels.mask()[0, 0] = True
    with pytest.raises(ValueError):
        pixels.index[0] = 1
    with pytest.raises(ValueError, match="detector"):
        pixels.union(PixelSet.empty((4, 3)))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), shape=shapes, factor=st.integers(1, 9),
       with_base=st.booleans())
def test_labels_are_the_largest_layer_and_pool_as_the_image_does(data, shape, factor, with_base):
    values = sorted(data.draw(st.lists(st.integers(2, 255), min_size=1, max_size=4,
                                       unique=True)))
    layer_masks = [data.draw(masks(shape, 0.1)) for _ in values]
    base_mask = data.draw(masks(shape, 0.3))
    base = LabelLayers(shape, ((1, PixelSet.from_mask(base_mask)),)) if with_base else None
    # Given in any order: the larger value wins all the same.
    order = data.draw(st.permutations(range(len(values))))
    layers = LabelLayers(shape, tuple((values[i], PixelSet.from_mask(layer_masks[i]))
                                      for i in order), base=base)
    expected = np.zeros(shape, np.uint8)
    if with_base:
        expected[base_mask] = 1
    for value, mask in zip(values, layer_masks, strict=True):
        expected = np.maximum(expected, mask * np.uint8(value))
    np.testing.assert_array_equal(layers.image(), expected)
    pooled = layers.pooled(factor)
    np.testing.assert_array_equal(pooled, pool_labels(expected, factor))
    assert layers.pooled(factor) is pooled  # kept
    assert not pooled.flags.writeable
