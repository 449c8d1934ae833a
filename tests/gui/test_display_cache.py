"""Colour indices and the display cache the session's worker fills (numpy only, no Qt)."""

import gc
import threading

import numpy as np
import pytest

import badpix_inspector.gui.scaling as scaling
from badpix_inspector.core.pixelsets import LabelLayers, PixelSet
from badpix_inspector.gui.scaling import (
    NAN_INDEX,
    STRETCHES,
    DisplayCache,
    display_indices,
    stretched_fraction,
)
from oracles import pool_labels


@pytest.mark.parametrize("stretch", STRETCHES)
def test_indices_follow_the_limits_and_the_stretch_nan_gets_its_own(stretch):
    rng = np.random.default_rng(4)
    image = rng.normal(size=(300, 1000)).astype(np.float32)  # more than one chunk
    image[rng.random(image.shape) < 0.01] = np.nan
    image[0, :3] = (-np.inf, np.inf, 50.0)
    low, high = -2.0, 3.0
    indices = display_indices(image, (low, high), stretch)
    assert indices.dtype == np.uint8 and indices.shape == image.shape
    assert (indices[np.isnan(image)] == NAN_INDEX).all()
    finite = ~np.isnan(image)
    assert indices[finite].max() <= NAN_INDEX - 1
    assert tuple(indices[0, :3]) == (0, NAN_INDEX - 1, NAN_INDEX - 1)  # clipped at the ends
    # Each index is where the value's stretched position falls, to within one of the
    # 16384 linear steps: at the faint end of log (slope 1000 / ln 1001 = 145) a step
    # spans 145 / 16383 * 255 = 2.25 indices, the first of sqrt 255 / sqrt(16383) = 2;
    # elsewhere about one.
    fraction = np.clip((image[finite].astype(np.float64) - low) / (high - low), 0, 1)
    expected = stretched_fraction(stretch, fraction) * NAN_INDEX
    assert np.abs(indices[finite] - expected).max() <= (2.5 if stretch in ("log", "sqrt") else 1.5)
    # Monotonic: a larger value never gets a smaller index.
    order = np.argsort(image[finite], kind="stable")
    assert (np.diff(indices[finite][order].astype(int)) >= 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stretch", ["linear", "log"])
def test_the_compiled_lookup_gives_the_numpy_paths_indices(dtype, stretch):
    from badpix_inspector.core import kernels

    rng = np.random.default_rng(8)
    image = (rng.normal(size=(257, 1031)) * 10).astype(dtype)
    image[rng.random(image.shape) < 0.02] = np.nan
    image.flat[:6] = (np.inf, -np.inf, -0.0, 0.0, 3e38, -3e38)
    kernels.warm_up(background=False)
    try:
        for levels in ((-5.0, 7.0), (0.1, 0.1000001), (-1e30, 1e30), (2.0, 2.0)):
            compiled = display_indices(image, levels, stretch)
            with kernels.plain_path():
                plain = display_indices(image, levels, stretch)
            assert kernels.table_lookup(image, 0.0, 1.0, np.zeros(3, np.uint8)) is not None
            np.testing.assert_array_equal(compiled, plain)
    finally:
        kernels._compiled = None  # the other tests take the numpy path


def test_the_cache_computes_once_per_image_and_forgets_images_that_are_gone(monkeypatch):
    calls = []
    original = scaling.display_indices
    monkeypatch.setattr(scaling, "display_indices",
                        lambda *args: calls.append(args[2]) or original(*args))
    cache = DisplayCache()
    cache.choices["difference"] = ("zscale", None, "log")
    image = np.random.default_rng(1).normal(size=(64, 80)).astype(np.float32)
    flags = np.random.default_rng(2).random((64, 80)) < 0.01
    labels = LabelLayers((64, 80), ((1, PixelSet.from_mask(flags)),))
    cache.pooling = 3
    worker = threading.Thread(target=cache.prepare, args=({"difference": image}, labels))
    worker.start()
    worker.join()
    levels = cache.limits(image, "zscale")
    indices = cache.indices(image, levels, "log")
    assert calls == ["log"]  # made by the worker, found by the panel
    np.testing.assert_array_equal(indices, original(image, levels, "log"))
    pooled = labels._made[3]  # pooled by the worker, for the panels to take
    assert labels.pooled(3) is pooled
    np.testing.assert_array_equal(pooled, pool_labels(flags.astype(np.uint8), 3))
    cache.indices(image, levels, "sqrt")  # another view: computed once more
    assert calls == ["log", "sqrt"]
    del image, indices
    gc.collect()
    other = np.zeros((64, 80), dtype=np.float32)
    cache.limits(other, "zscale")
    assert len(cache._entries) == 1  # the new image; the old one is gone


def test_limits_of_a_large_image_sample_it_but_min_max_sees_every_value():
    from badpix_inspector.gui.scaling import image_limits

    rng = np.random.default_rng(9)
    image = rng.normal(size=(1000, 1000)).astype(np.float32)  # 5x the sample
    image[rng.random(image.shape) < 0.3] = np.nan
    image[1, 1], image[998, 997] = -123.0, 456.0  # off any regular sample's grid
    image[0, 0], image[5, 5] = np.inf, -np.inf
    assert image_limits(image, "min–max") == (-123.0, 456.0)
    low, high = image_limits(image, "99 %")
    finite = image[np.isfinite(image)]
    exact = np.percentile(finite, [0.5, 99.5])
    assert abs(low - exact[0]) < 0.05 and abs(high - exact[1]) < 0.05
