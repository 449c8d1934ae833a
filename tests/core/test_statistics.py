"""Flag statistics, robust sigma, edge counts and the label image, without Qt."""

import numpy as np
import pytest

from badpix_inspector.core.pixelsets import PixelSet
from badpix_inspector.core.stages import Thresholds
from badpix_inspector.core.statistics import (
    LABEL_ALREADY_BAD,
    LABEL_FORCED_BAD,
    LABEL_FORCED_GOOD,
    LABEL_HIGH,
    LABEL_LOW,
    LABEL_NONE,
    FlagPixels,
    already_bad_mask,
    count_edge_flags,
    flag_statistics,
    robust_sigma_sorted,
)


def flag_pixels(low, high, already_bad, forced_bad=None, forced_good=None):
    def pixels(mask):
        return PixelSet.from_mask(np.zeros(low.shape, bool) if mask is None else mask)

    return FlagPixels(low=pixels(low), high=pixels(high), forced_bad=pixels(forced_bad),
                      forced_good=pixels(forced_good), already_bad=pixels(already_bad))


@pytest.mark.parametrize("dispaxis", [1, 2, None])
def test_edge_flag_count_matches_a_mask(dispaxis):
    rng = np.random.default_rng(4)
    for shape in [(40, 50), (9, 30), (3, 3), (1, 12), (100, 7)]:
        flags = rng.random(shape) < 0.3
        for half in (0, 1, 2, 7):
            edge = np.zeros(shape, dtype=bool)
            if half:
                if dispaxis in (2, None):
                    edge[:half, :] = edge[-half:, :] = True
                if dispaxis in (1, None):
                    edge[:, :half] = edge[:, -half:] = True
            assert count_edge_flags(flags, half, dispaxis) == (flags & edge).sum()
            assert count_edge_flags(PixelSet.from_mask(flags), half, dispaxis) == (
                flags & edge).sum()


def test_robust_sigma_from_sorted_values_equals_numpys_mad():
    rng = np.random.default_rng(8)
    for size in (1, 2, 3, 4, 5, 10, 101, 1000, 4097):
        for _ in range(20):
            values = rng.standard_t(2, size=size) * rng.uniform(0.1, 10)
            if rng.random() < 0.3:  # ties, as in real data
                values = np.round(values, 1)
            values = np.sort(values.astype(rng.choice([np.float32, np.float64])))
            as_float = values.astype(np.float64)
            expected = 1.4826 * np.median(np.abs(as_float - np.median(as_float)))
            assert robust_sigma_sorted(values) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert np.isnan(robust_sigma_sorted(np.array([])))


def test_labels_follow_their_precedence():
    shape = (4, 5)
    already_bad = np.zeros(shape, bool)
    low, high = np.zeros(shape, bool), np.zeros(shape, bool)
    forced_bad, forced_good = np.zeros(shape, bool), np.zeros(shape, bool)
    already_bad[0, :3] = True
    low[0, 1] = True
    high[0, 2] = high[1, 0] = True
    forced_bad[2, 2] = forced_bad[1, 0] = True
    forced_good[3, 3] = forced_good[0, 2] = True
    labels = flag_pixels(low, high, already_bad, forced_bad, forced_good).labels.image()
    assert labels.dtype == np.uint8
    assert labels[0, 0] == LABEL_ALREADY_BAD and labels[0, 1] == LABEL_LOW
    assert labels[0, 2] == LABEL_FORCED_GOOD and labels[1, 0] == LABEL_FORCED_BAD
    assert labels[2, 2] == LABEL_FORCED_BAD and labels[3, 3] == LABEL_FORCED_GOOD
    assert labels[3, 4] == LABEL_NONE
    assert (flag_pixels(low, high, already_bad).labels.image() == np.maximum.reduce(
        [already_bad * LABEL_ALREADY_BAD, low * LABEL_LOW, high * LABEL_HIGH])).all()


def test_already_bad_mask_reads_do_not_use_only():
    dq = np.array([[0, 1, 2, 3], [1 << 30, (1 << 30) | 1, 4, 5]], dtype=np.uint32)
    np.testing.assert_array_equal(already_bad_mask(dq, dq.shape),
                                  [[False, True, False, True], [False, True, False, True]])
    assert not already_bad_mask(None, (2, 3)).any()


def test_flag_statistics_counts_what_the_masks_hold():
    rng = np.random.default_rng(11)
    shape = (30, 40)
    low, high = rng.random(shape) < 0.02, rng.random(shape) < 0.03
    high &= ~low
    flags = low | high
    already_bad = rng.random(shape) < 0.1
    forced_bad, forced_good = rng.random(shape) < 0.01, rng.random(shape) < 0.01
    forced_good &= ~forced_bad
    final = (flags | forced_bad) & ~forced_good
    limits = Thresholds(-1.0, 2.0)
    pixels = flag_pixels(low, high, already_bad, forced_bad, forced_good)
    np.testing.assert_array_equal(pixels.final.mask(), final)
    np.testing.assert_array_equal(pixels.algorithm.mask(), flags)
    stats = flag_statistics(pixels=pixels, n_finite=1000, kernel_size=5, dispaxis=1,
                            thresholds=limits, sigma=0.5)
    assert stats.n_low == low.sum() and stats.n_high == high.sum()
    assert stats.n_total == flags.sum() and stats.fraction == flags.sum() / 1000
    assert stats.n_already_bad == already_bad.sum()
    assert stats.n_flagged_already_bad == (flags & already_bad).sum()
    assert stats.n_edge == count_edge_flags(flags, 2, 1)
    assert stats.n_forced_bad == forced_bad.sum() and stats.n_forced_good == forced_good.sum()
    assert stats.n_final == final.sum()
    plain = flag_statistics(pixels=flag_pixels(low, high, already_bad), n_finite=0,
                            kernel_size=1, dispaxis=None, thresholds=limits, sigma=0.5)
    assert plain.n_final == flags.sum() and plain.n_edge == 0 and plain.fraction == 0.0
    assert plain.n_forced_bad == plain.n_forced_good == 0
    assert pytest.approx(0.5) == stats.sigma


@pytest.mark.parametrize("distinct", [1, 5, 256, 257, 200_000])
def test_packed_dq_gives_the_values_and_the_do_not_use_pixels_of_the_image(distinct):
    from badpix_inspector.core.dqflags import PackedDQ

    rng = np.random.default_rng(distinct)
    table = rng.choice(2**32, size=distinct, replace=False).astype(np.uint32)
    dq = table[rng.permutation(np.arange(120_000) % distinct).reshape(300, 400)]
    distinct = min(distinct, dq.size)  # every table value is in the image
    packed = PackedDQ(dq)
    assert packed.shape == dq.shape and packed.dtype == np.uint32
    assert packed.codes.dtype == (np.uint8 if distinct <= 256 else
                                  np.uint16 if distinct <= 65536 else np.uint32)
    assert packed.nbytes < dq.nbytes or distinct > 65536
    np.testing.assert_array_equal(np.asarray(packed), dq)
    assert int(packed[17, 33]) == int(dq[17, 33])
    np.testing.assert_array_equal(packed[5:9, (1, 7)], dq[5:9, (1, 7)])
    np.testing.assert_array_equal(already_bad_mask(packed, dq.shape),
                                  already_bad_mask(dq, dq.shape))
