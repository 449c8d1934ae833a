import math

import numpy as np
import pytest

from badpix_inspector.core import PARAMETER_SPECS, ParameterError, SelfcalParameters


def test_defaults_are_jwsts():
    parameters = SelfcalParameters()
    assert parameters.as_dict() == {
        "flagfrac_lower": 0.001,
        "flagfrac_upper": 0.001,
        "kernel_size": 15,
        "force_single": False,
        "save_flagged_bkg": False,
    }
    assert PARAMETER_SPECS["flagfrac_lower"].maximum == 0.5


@pytest.mark.parametrize("name", ["flagfrac_lower", "flagfrac_upper"])
@pytest.mark.parametrize("value", [-0.001, 0.5000001, math.nan, "abc", None, True])
def test_fractions_out_of_range_are_refused_by_name(name, value):
    with pytest.raises(ParameterError, match=rf"{name} must be a number from 0 to 0.5"):
        SelfcalParameters(**{name: value})


@pytest.mark.parametrize("value", [0.0, 0.5, "0.25", np.float32(0.125)])
def test_fraction_bounds_are_inclusive(value):
    assert SelfcalParameters(flagfrac_upper=value).flagfrac_upper == float(value)


@pytest.mark.parametrize("value", [0, -3, 2.5, "x", math.inf, None])
def test_bad_kernel_sizes(value):
    with pytest.raises(ParameterError, match="kernel_size must be an odd integer >= 1"):
        SelfcalParameters(kernel_size=value)


@pytest.mark.parametrize("value", [2, 14, 16])
def test_even_kernel_sizes_are_refused_with_the_reason(value):
    with pytest.raises(ParameterError, match=r"must be odd.*jwst 3\.0\.0 crashes"):
        SelfcalParameters(kernel_size=value)


def test_kernel_size_normalised_to_int():
    parameters = SelfcalParameters(kernel_size=np.int64(7))
    assert parameters.kernel_size == 7 and type(parameters.kernel_size) is int
    assert SelfcalParameters(kernel_size="9").kernel_size == 9


def test_frozen_and_replace_validates():
    parameters = SelfcalParameters()
    with pytest.raises(AttributeError):
        parameters.kernel_size = 5
    assert parameters.replace(kernel_size=5).kernel_size == 5
    with pytest.raises(ParameterError):
        parameters.replace(flagfrac_lower=0.7)


def test_booleans_must_be_booleans():
    with pytest.raises(ParameterError, match="force_single must be true or false"):
        SelfcalParameters(force_single="yes")
