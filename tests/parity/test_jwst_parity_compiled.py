"""Parity with jwst 3.0.0 through the compiled kernels (`badpix_inspector.core.kernels`).

The kernels are compiled (or loaded from numba's cache) synchronously here, so every
comparison below runs the compiled path; other parity tests run the plain path.
"""

import numpy as np
import pytest
from test_jwst_parity import assert_same_product, run_jwst, run_ours

from badpix_inspector import badpix_selfcal
from badpix_inspector.core import kernels, median_filter
from badpix_inspector.simulate import make_association

pytestmark = pytest.mark.parity


@pytest.fixture(autouse=True)
def compiled_kernels():
    kernels.warm_up(background=False)
    assert kernels.ready()
    yield
    kernels._compiled = None  # the next tests take the plain path again


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_median_filter_equals_stcals_bit_for_bit(jwst, dtype):
    from stcal.outlier_detection.utils import medfilt

    rng = np.random.default_rng(19)
    image = rng.normal(size=(71, 64)).astype(dtype)
    image[rng.random(image.shape) < 0.2] = np.nan
    image[rng.random(image.shape) < 0.01] = np.inf
    image[rng.random(image.shape) < 0.01] = -np.inf
    image[20:40, 30:50] = np.nan
    for kernel_size, dispaxis, window in ((15, 1, (1, 15)), (15, 2, (15, 1)),
                                          (15, None, (15, 15)), (7, None, (7, 7)),
                                          (7, 1, (1, 7)), (31, 2, (31, 1)),
                                          (101, 1, (1, 101)), (3, 2, (3, 1))):
        axis = None if dispaxis is None else 2 - dispaxis
        assert kernels.compiled_median_filter(image, kernel_size, axis, 2) is not None
        expected = medfilt(image, window)
        got = median_filter(image, kernel_size, dispaxis)
        assert got.dtype == expected.dtype
        assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (
            kernel_size, dispaxis)


def test_compiled_public_function_equals_jwsts(jwst):
    from jwst.badpix_selfcal.badpix_selfcal import badpix_selfcal as jwst_badpix_selfcal

    rng = np.random.default_rng(20)
    image = (rng.normal(size=(400, 380)) + np.linspace(0, 5, 380)).astype(np.float32)
    image[rng.random(image.shape) < 0.01] = np.nan
    image[rng.random(image.shape) < 0.001] *= 40
    for arguments in [(), (0.001, 0.001, 15, 1), (0.01, 0.002, 15, 2), (0.0, 0.003, 15, 1),
                      (0.001, 0.001, 9, 1), (0.002, 0.001, 25, 2)]:
        expected = jwst_badpix_selfcal(image, *arguments)
        got = badpix_selfcal(image, *arguments)
        assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
        assert got[0].size > 0


@pytest.mark.parametrize(("detector", "shape", "dispaxis"),
                         [("MIRIFULONG", None, 2), ("NRS1", (512, 600), 1)])
def test_products_through_the_compiled_path(jwst, tmp_path, monkeypatch, detector, shape,
                                           dispaxis):
    served = []
    original = kernels.compiled_median_filter

    def recording(*arguments):
        result = original(*arguments)
        served.append(result is not None)
        return result

    monkeypatch.setattr(kernels, "compiled_median_filter", recording)
    extra = {} if shape is None else {"shape": shape, "dispaxis": dispaxis}
    made = make_association(tmp_path / "in", detector, n_background=1, n_selfcal=2, seed=21,
                            **extra)
    run_ours(made.association, tmp_path / "out")
    assert served == [True]
    science_model, _ = run_jwst(jwst, made.association)
    stem = made.science.name.removesuffix("_rate.fits")
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal.fits", science_model)
