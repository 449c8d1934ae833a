"""Parity with jwst 3.0.0's BadpixSelfcalStep, on the project's synthetic data.

jwst's step runs in this process on the same files as ``badpix-selfcal``; every array of
the products and ``S_BPXSLF`` must be identical, and our products must open in jwst's
datamodels.
"""

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main
from badpix_inspector.core import median_filter
from badpix_inspector.simulate import make_association

pytestmark = pytest.mark.parity

PLANES = {"SCI": "data", "ERR": "err", "DQ": "dq", "VAR_POISSON": "var_poisson",
          "VAR_RNOISE": "var_rnoise", "VAR_FLAT": "var_flat"}  # fmt: skip


def run_jwst(jwst, step_input, selfcal_list=None, bkg_list=None, **parameters):
    from jwst.badpix_selfcal import BadpixSelfcalStep

    if selfcal_list is None and bkg_list is None:
        return BadpixSelfcalStep.call(str(step_input), skip=False, **parameters)
    # The hand-given lists are arguments of process(), not step parameters.
    step = BadpixSelfcalStep(skip=False, **parameters)
    return step.run(str(step_input), selfcal_list, bkg_list)


def run_ours(step_input, output_dir, *options):
    status = main([str(step_input), "--output_dir", str(output_dir), "-q", *map(str, options)])
    assert status == 0


def assert_same_product(path, model, status="COMPLETE"):
    with fits.open(path) as product:
        # Background products: jwst leaves S_BPXSLF unset, SPEC §4 has us set it; arrays only.
        if status is not None:
            assert product[0].header["S_BPXSLF"] == status
        compared = 0
        for extension, attribute in PLANES.items():
            if extension not in product:
                # jwst must not have invented the plane either.
                assert not model.hasattr(attribute), f"jwst has {attribute}, we do not"
                continue
            expected = getattr(model, attribute)
            got = product[extension].data
            assert got.shape == expected.shape
            assert np.array_equal(got, expected, equal_nan=True), f"{extension} differs"
            compared += 1
        assert compared >= 3
    if status is not None:
        assert model.meta.cal_step.badpix_selfcal == status


def assert_opens_in_jwst(path):
    from jwst import datamodels

    with datamodels.open(str(path)) as model:
        assert type(model).__name__ == "IFUImageModel"
        assert model.meta.cal_step.badpix_selfcal in ("COMPLETE", "SKIPPED")


@pytest.mark.parametrize(
    ("detector", "options", "parameters"),
    [
        ("MIRIFULONG", ["--save_flagged_bkg"], {}),
        ("MIRIFUSHORT", ["--kernel_size", "7", "--flagfrac_lower", "0.005",
                         "--flagfrac_upper", "0.02"],
         {"kernel_size": 7, "flagfrac_lower": 0.005, "flagfrac_upper": 0.02}),
    ],
)
def test_miri_associations(jwst, tmp_path, detector, options, parameters):
    made = make_association(tmp_path / "in", detector, n_background=2, n_selfcal=2, seed=4)
    run_ours(made.association, tmp_path / "out", *options)
    science_model, background_models = run_jwst(jwst, made.association, **parameters)
    stem = made.science.name.removesuffix("_rate.fits")
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal.fits", science_model)
    assert_opens_in_jwst(tmp_path / "out" / f"{stem}_badpix_selfcal.fits")
    if "--save_flagged_bkg" in options:
        assert len(background_models) == 2
        for number, model in enumerate(background_models):
            path = tmp_path / "out" / f"{stem}_badpix_selfcal_bkg_{number}.fits"
            assert_same_product(path, model, status=None)
    # The pedestal matters: the planted defects are found, the one-exposure cosmic ray is not.
    with fits.open(tmp_path / "out" / f"{stem}_badpix_selfcal.fits") as product:
        flagged = (product["DQ"].data & (1 << 30)) != 0
    assert flagged[made.defects.hot].mean() > 0.9
    assert not flagged[made.cosmic_ray].any()


def test_nirspec_full_frame(jwst, tmp_path):
    made = make_association(tmp_path / "in", "NRS1", n_background=1, n_selfcal=1, seed=5)
    run_ours(made.association, tmp_path / "out", "--kernel_size", "11")
    science_model, _ = run_jwst(jwst, made.association, kernel_size=11)
    stem = made.science.name.removesuffix("_rate.fits")
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal.fits", science_model)


@pytest.mark.parametrize("kernel_size", [5, 15])
def test_file_without_dispaxis_uses_the_square_window(jwst, tmp_path, kernel_size):
    made = make_association(tmp_path / "in", "NRS2", n_background=1, n_selfcal=1,
                            shape=(140, 150), dispaxis=None, seed=6)
    run_ours(made.association, tmp_path / "out", "--kernel_size", kernel_size)
    science_model, _ = run_jwst(jwst, made.association, kernel_size=kernel_size)
    assert science_model.meta.wcsinfo.dispersion_direction is None
    stem = made.science.name.removesuffix("_rate.fits")
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal.fits", science_model)


def test_forced_single_and_skipped_exposure(jwst, tmp_path):
    made = make_association(tmp_path / "in", "MIRIFULONG", n_background=0, n_selfcal=0, seed=7)
    stem = made.science.name.removesuffix("_rate.fits")
    run_ours(made.science, tmp_path / "skipped")
    model, _ = run_jwst(jwst, made.science)
    assert_same_product(tmp_path / "skipped" / f"{stem}_badpix_selfcal.fits", model, "SKIPPED")
    assert_opens_in_jwst(tmp_path / "skipped" / f"{stem}_badpix_selfcal.fits")
    run_ours(made.science, tmp_path / "forced", "--force_single")
    model, _ = run_jwst(jwst, made.science, force_single=True)
    assert_same_product(tmp_path / "forced" / f"{stem}_badpix_selfcal.fits", model)


def test_hand_given_background_and_selfcal_lists(jwst, tmp_path):
    made = make_association(tmp_path / "in", "MIRIFUSHORT", n_background=1, n_selfcal=1, seed=8)
    (background,), (selfcal,) = made.backgrounds, made.selfcals
    run_ours(made.science, tmp_path / "out", "--bkg", background, "--selfcal", selfcal,
             "--save_flagged_bkg")
    science_model, (background_model,) = run_jwst(
        jwst, made.science, bkg_list=[str(background)], selfcal_list=[str(selfcal)]
    )
    stem = made.science.name.removesuffix("_rate.fits")
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal.fits", science_model)
    assert_same_product(tmp_path / "out" / f"{stem}_badpix_selfcal_bkg_0.fits",
                        background_model, status=None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_filter_equals_stcals_bit_for_bit(jwst, dtype):
    from stcal.outlier_detection.utils import medfilt

    rng = np.random.default_rng(9)
    image = rng.normal(size=(61, 67)).astype(dtype)
    image[rng.random(image.shape) < 0.2] = np.nan
    image[20:32, 30:44] = np.nan
    for kernel_size in (1, 3, 5, 9, 15):
        for dispaxis, window in ((1, (1, kernel_size)), (2, (kernel_size, 1)),
                                 (None, (kernel_size, kernel_size))):
            expected = medfilt(image, window)
            got = median_filter(image, kernel_size, dispaxis)
            assert got.dtype == expected.dtype
            assert np.array_equal(got.view(np.uint8), expected.view(np.uint8)), (
                kernel_size, dispaxis)


def test_public_function_equals_jwsts(jwst):
    from jwst.badpix_selfcal.badpix_selfcal import badpix_selfcal as jwst_badpix_selfcal

    from badpix_inspector import badpix_selfcal

    rng = np.random.default_rng(10)
    image = (rng.normal(size=(90, 80)) + np.linspace(0, 5, 80)).astype(np.float32)
    image[rng.random(image.shape) < 0.02] = np.nan
    for arguments in [(), (0.01, 0.03, 5, 1), (0.0, 0.2, 3, 2), (0.05, 0.0, 7, None)]:
        expected = jwst_badpix_selfcal(image, *arguments)
        got = badpix_selfcal(image, *arguments)
        assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_parameter_file_is_accepted_by_stpipe_and_strun(jwst, small_nirspec, tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from stpipe import Step

    pars = tmp_path / "tuned.asdf"
    run_ours(small_nirspec.association, tmp_path / "ours", "--kernel_size", "9",
             "--flagfrac_upper", "0.01", "--save-parameters", pars)
    step = Step.from_config_file(str(pars))
    assert type(step).__name__ == "BadpixSelfcalStep"
    assert (step.kernel_size, step.flagfrac_upper, step.skip) == (9, 0.01, False)

    strun = shutil.which("strun") or str(Path(sys.executable).with_name("strun"))
    strun_dir = tmp_path / "strun"
    strun_dir.mkdir()
    environment = {**os.environ, "STPIPE_DISABLE_CRDS_STEPPARS": "true"}
    result = subprocess.run(
        [strun, str(pars), str(small_nirspec.association), "--output_dir", str(strun_dir)],
        capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (strun_product,) = strun_dir.glob("*_badpix_selfcal.fits")
    (our_product,) = (tmp_path / "ours").glob("*_badpix_selfcal.fits")
    for extension in ("SCI", "DQ"):
        assert np.array_equal(fits.getdata(strun_product, extension),
                              fits.getdata(our_product, extension), equal_nan=True)
