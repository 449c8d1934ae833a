import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from badpix_inspector.core import (
    Thresholds,
    compare_flags,
    fractions_in_sigma,
    suggest_fractions,
    suspect_flags,
    thresholds,
)
from badpix_inspector.core.statistics import robust_sigma_sorted

# ------------------------------------------------------------------------------ compare


def test_compare_counts_match_numpy_set_operations():
    rng = np.random.default_rng(4)
    reference = rng.random((60, 70)) < 0.05
    current = rng.random((60, 70)) < 0.07
    comparison = compare_flags(reference, current)
    a, b = np.flatnonzero(reference), np.flatnonzero(current)
    np.testing.assert_array_equal(comparison.gained.index, np.setdiff1d(b, a))
    np.testing.assert_array_equal(comparison.lost.index, np.setdiff1d(a, b))
    np.testing.assert_array_equal(comparison.kept.index, np.intersect1d(a, b))
    assert comparison.n_gained == np.setdiff1d(b, a).size > 0
    assert comparison.n_lost == np.setdiff1d(a, b).size > 0
    assert comparison.n_kept == np.intersect1d(a, b).size > 0
    assert comparison.n_kept + comparison.n_gained == current.sum()


def test_compare_refuses_other_shapes():
    with pytest.raises(ValueError, match="pin the reference again"):
        compare_flags(np.zeros((3, 4), bool), np.zeros((4, 3), bool))


# ----------------------------------------------------------------------------- robust σ


def _difference(seed: int, size: int = 20000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.1, 0.7, size).astype(np.float32)
    values[rng.random(size) < 0.01] = np.nan
    values[rng.random(size) < 0.003] *= 40  # outliers, the tails the step flags
    return values.reshape(100, -1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), n_sigma=st.floats(0.5, 8.0))
def test_suggested_fractions_put_thresholds_at_n_sigma_within_one_rank(seed, n_sigma):
    difference = _difference(seed)
    values = np.sort(difference[np.isfinite(difference)])
    sigma = robust_sigma_sorted(values)
    lower, upper = suggest_fractions(values, sigma, n_sigma)
    assert 0 <= lower <= 0.5 and 0 <= upper <= 0.5
    centre = float(np.median(values))
    # The step's own thresholds for these fractions, from the image with its NaNs.
    limits = thresholds(difference, lower, upper)
    for got, target in ((limits.low, centre - n_sigma * sigma),
                        (limits.high, centre + n_sigma * sigma)):
        rank_got = np.searchsorted(values, got)
        rank_target = np.searchsorted(values, target)
        assert abs(int(rank_got) - int(rank_target)) <= 1


def test_suggested_fractions_round_trip_through_sigma():
    difference = _difference(7)
    values = np.sort(difference[np.isfinite(difference)])
    sigma = robust_sigma_sorted(values)
    lower, upper = suggest_fractions(values, sigma, 4.0)
    low, high = fractions_in_sigma(values, lower, upper, sigma)
    assert low == pytest.approx(-4.0, abs=0.02) and high == pytest.approx(4.0, abs=0.02)
    # The pipeline's defaults, in σ: outside the bulk on both sides.
    low, high = fractions_in_sigma(values, 0.001, 0.001, sigma)
    assert low < -2 and high > 2


def test_suggested_fractions_are_clipped_to_the_parameter_bounds():
    values = np.arange(1001, dtype=np.float64)  # uniform: centre 500
    # Targets beyond the data flag nothing there: fraction 0.
    assert suggest_fractions(values, 1000.0, 5.0) == (0.0, 0.0)
    # Targets at the median would need 0.5; never more.
    lower, upper = suggest_fractions(values, 1e-6, 1.0)
    assert lower == pytest.approx(0.5, abs=1e-6) and upper == pytest.approx(0.5, abs=1e-6)
    assert lower <= 0.5 and upper <= 0.5
    # A given centre moves both targets.
    lower, upper = suggest_fractions(values, 10.0, 10.0, centre=300.0)
    assert lower == pytest.approx(0.2)
    assert upper == 0.5  # 1 - 400/1000 = 0.6, clipped


def test_suggest_fractions_refuses_nonsense():
    with pytest.raises(ValueError, match="no finite"):
        suggest_fractions(np.array([]), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        suggest_fractions(np.arange(5.0), 0.0)
    with pytest.raises(ValueError, match="n_sigma"):
        suggest_fractions(np.arange(5.0), 1.0, n_sigma=-1)
    assert np.isnan(fractions_in_sigma(np.array([]), 0.1, 0.1, 1.0)).all()


# ---------------------------------------------------------------------------- suspects

LIMITS = Thresholds(low=-1.0, high=1.0)


def _row(values, flag_at):
    """One row (dispersion along rows, DISPAXIS=2: neighbours are along the row)."""
    image = np.zeros((3, len(values)))
    image[1] = values
    image[1, flag_at] = 2.0 if image[1, flag_at] == 0 else image[1, flag_at]
    return image


@pytest.mark.parametrize(("values", "flag_at", "expected"), [
    # 4 of 6 neighbours above half the high threshold (0.5): 67 % >= 60 %.
    ([0.6, 0.6, 0.0, 0, 0.6, 0.6, 0.0], 3, True),
    # 3 of 6: 50 %.
    ([0.6, 0.6, 0.0, 0, 0.6, 0.0, 0.0], 3, False),
    # Exactly at half the threshold is not beyond it.
    ([0.5, 0.5, 0.5, 0, 0.5, 0.5, 0.5], 3, False),
    # A NaN ends the slice: the raised pixels beyond it do not count (0 of 3 reached).
    ([0.0, 0.0, 0.0, 0, np.nan, 0.9, 0.9], 3, False),
    # ... and on the near side 2 of the 3 reached are raised: 67 %.
    ([0.0, 0.6, 0.6, 0, np.nan, 0.0, 0.0], 3, True),
    # Fewer than 3 neighbours reached (NaN at ±2): never suspect.
    ([0.0, np.nan, 0.9, 0, 0.9, np.nan, 0.0], 3, False),
    # The image edge ends the walk too: 3 reached on the right, all raised.
    ([0, 0.9, 0.9, 0.9, 0.0, 0.0, 0.0], 0, True),
    # A low flag with neighbours below half the low threshold (-0.5).
    ([-0.7, -0.7, -0.7, -3, 0.0, 0.0, -0.7], 3, True),
    # A low flag with neighbours raised the other way is alone.
    ([0.9, 0.9, 0.9, -3, 0.9, 0.9, 0.9], 3, False),
])  # fmt: skip
def test_suspect_rule(values, flag_at, expected):
    image = _row(np.array(values, dtype=float), flag_at)
    suspect = suspect_flags(image, LIMITS, 2)
    assert suspect[1, flag_at] == expected
    assert suspect.sum() == int(expected)  # neighbours at 0.6 or 0.9 are not flags
    # DISPAXIS=1 looks along the columns: the same on the transposed image.
    np.testing.assert_array_equal(suspect_flags(image.T.copy(), LIMITS, 1), suspect.T)
    # No dispersion direction (square window): nothing is suspect.
    assert not suspect_flags(image, LIMITS, None).any()


def test_suspect_numbers_are_adjustable():
    image = _row(np.array([0.4, 0.4, 0.4, 0, 0.0, 0.0, 0.0]), 3)
    assert not suspect_flags(image, LIMITS, 2)[1, 3]
    assert not suspect_flags(image, LIMITS, 2, level=0.3)[1, 3]  # 3 of 6 is 50 %
    assert suspect_flags(image, LIMITS, 2, level=0.3, min_fraction=0.5)[1, 3]
    assert suspect_flags(image, LIMITS, 2, level=0.3, half_width=1, min_fraction=0.5)[1, 3]
    assert not suspect_flags(image, LIMITS, 2, flags=np.zeros(image.shape, bool)).any()
    with pytest.raises(ValueError):
        suspect_flags(image, LIMITS, 2, half_width=0)


def _suspect_by_hand(difference, limits, cross_axis, half_width=3, min_fraction=0.6,
                     level=0.5):
    """The rule written as plain loops, to check the vectorised version."""
    image = difference if cross_axis == 1 else difference.T
    result = np.zeros(image.shape, bool)
    for row, column in zip(*np.nonzero((image > limits.high) | (image < limits.low)),
                           strict=True):
        high = image[row, column] > limits.high
        bound = level * (limits.high if high else limits.low)
        raised = reached = 0
        for direction in (-1, 1):
            for step in range(1, half_width + 1):
                where = column + direction * step
                if not 0 <= where < image.shape[1] or not np.isfinite(image[row, where]):
                    break
                reached += 1
                value = image[row, where]
                raised += bool(value > bound if high else value < bound)
        result[row, column] = reached >= half_width and raised >= min_fraction * reached
    return result if cross_axis == 1 else result.T


@pytest.mark.parametrize("dispaxis", [1, 2])
def test_suspects_match_the_rule_written_as_loops(dispaxis):
    rng = np.random.default_rng(11)
    difference = rng.normal(size=(80, 90))
    # Coherent features across the dispersion and NaN gaps, so that both answers occur.
    if dispaxis == 2:
        difference[10, 20:40] += 3.5
        difference[:, 45] = np.nan
    else:
        difference[20:40, 10] += 3.5
        difference[45, :] = np.nan
    difference[rng.random(difference.shape) < 0.02] = np.nan
    limits = thresholds(difference, 0.01, 0.01)
    expected = _suspect_by_hand(difference, limits, cross_axis=dispaxis - 1)
    got = suspect_flags(difference, limits, dispaxis)
    assert expected.sum() > 5 and (~expected & ((difference > limits.high)
                                                | (difference < limits.low))).sum() > 5
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ decide, per result


def test_decide_labels_and_counts():
    from badpix_inspector.core import SuspectRule, decide
    from badpix_inspector.core.decide import DECIDE_LABELS

    rng = np.random.default_rng(2)
    difference = rng.normal(0, 1, (40, 50)).astype(np.float32)
    difference[10, 5:25] = 30.0  # a line across the slice (DISPAXIS 2: along the columns)
    difference[30, 40] = 40.0  # a lone hot pixel
    values = np.sort(difference.ravel())
    limits = thresholds(values, 0.001, 0.02)
    final = (difference < limits.low) | (difference > limits.high)
    reference = np.zeros_like(final)
    reference[30, 40] = reference[0, 0] = True
    result = decide(difference, values, limits, 2, final, fractions=(0.001, 0.02),
                    sigma=robust_sigma_sorted(values), reference=reference)
    assert result.comparison.n_lost == 1 and result.comparison.n_kept == 1
    assert result.compare_labels[0, 0] == DECIDE_LABELS["lost"]
    assert result.compare_labels[30, 40] == DECIDE_LABELS["kept"]
    assert result.compare_labels[10, 12] == DECIDE_LABELS["gained"]
    assert result.suspect[10, 12] and not result.suspect[30, 40]
    assert result.suspect_labels[10, 12] == DECIDE_LABELS["suspect"]
    assert result.suspect_labels[30, 40] == DECIDE_LABELS["flagged"]
    assert result.n_suspect == int(result.suspect.sum())
    assert result.thresholds_sigma[1] > 0 > result.thresholds_sigma[0]
    # The known thresholds give what finding them again gives.
    assert result.thresholds_sigma == fractions_in_sigma(values, 0.001, 0.02,
                                                         robust_sigma_sorted(values))
    # No reference, or one of another shape: no comparison.
    other = decide(difference, values, limits, 2, final, fractions=(0.001, 0.02), sigma=1.0,
                   reference=np.zeros((3, 3), bool), rule=SuspectRule(1, 1.0))
    assert other.comparison is None and other.compare_labels is None
    with pytest.raises(ValueError, match="half_width"):
        SuspectRule(0, 0.5)
    with pytest.raises(ValueError, match="min_fraction"):
        SuspectRule(3, 0.0)
