"""``S_BPXSLF`` on every product is what jwst 3.0.0 leaves there (issue 10).

The science product gets COMPLETE or SKIPPED; the flagged background products keep the
keyword as their input had it (absent, or any earlier value), as jwst's step leaves them.
"""

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main
from badpix_inspector.simulate import make_association

pytestmark = pytest.mark.parity


def status_of(path):
    """S_BPXSLF of a product, None when absent (as jwst's model attribute is)."""
    return fits.getheader(path, 0).get("S_BPXSLF")


def jwst_step(science, backgrounds=None, selfcals=None, **parameters):
    from jwst.badpix_selfcal import BadpixSelfcalStep

    step = BadpixSelfcalStep(skip=False, **parameters)
    if backgrounds is None and selfcals is None:
        return step.run(str(science))
    return step.run(str(science), selfcals, backgrounds)


def mark_input(path, value):
    with fits.open(path, mode="update") as hdulist:
        hdulist[0].header["S_BPXSLF"] = value


@pytest.mark.parametrize("earlier", [None, "SKIPPED", "COMPLETE"])
def test_background_products_keep_their_inputs_keyword(jwst, tmp_path, earlier):
    made = make_association(tmp_path / "in", "NRS1", n_background=2, n_selfcal=1,
                            shape=(96, 128), seed=11)
    if earlier is not None:
        mark_input(made.backgrounds[1], earlier)  # one with, one without: both kept
    assert main([str(made.association), "--output_dir", str(tmp_path / "out"),
                 "--save_flagged_bkg", "-q"]) == 0
    science_model, background_models = jwst_step(made.association, save_flagged_bkg=True)
    stem = made.science.name.removesuffix("_rate.fits")
    assert status_of(tmp_path / "out" / f"{stem}_badpix_selfcal.fits") == \
        science_model.meta.cal_step.badpix_selfcal == "COMPLETE"
    assert len(background_models) == 2
    for number, model in enumerate(background_models):
        path = tmp_path / "out" / f"{stem}_badpix_selfcal_bkg_{number}.fits"
        expected = earlier if number == 1 else None
        assert model.meta.cal_step.badpix_selfcal == expected  # what jwst does
        assert status_of(path) == expected  # and we do the same
        assert np.array_equal(fits.getdata(path, "DQ"), model.dq)


def test_hand_given_background_keeps_its_keyword(jwst, tmp_path):
    made = make_association(tmp_path / "in", "NRS2", n_background=1, n_selfcal=1,
                            shape=(96, 128), seed=12)
    (background,), (selfcal,) = made.backgrounds, made.selfcals
    mark_input(background, "SKIPPED")
    assert main([str(made.science), "--bkg", str(background), "--selfcal", str(selfcal),
                 "--save_flagged_bkg", "--output_dir", str(tmp_path / "out"), "-q"]) == 0
    science_model, (background_model,) = jwst_step(made.science, [str(background)],
                                                   [str(selfcal)])
    stem = made.science.name.removesuffix("_rate.fits")
    assert status_of(tmp_path / "out" / f"{stem}_badpix_selfcal.fits") == \
        science_model.meta.cal_step.badpix_selfcal
    assert status_of(tmp_path / "out" / f"{stem}_badpix_selfcal_bkg_0.fits") == \
        background_model.meta.cal_step.badpix_selfcal == "SKIPPED"


@pytest.mark.parametrize(("options", "parameters"), [([], {}),
                                                     (["--force_single"], {"force_single": True})])
def test_single_science_product_status(jwst, tmp_path, options, parameters):
    made = make_association(tmp_path / "in", "NRS1", n_background=0, n_selfcal=0,
                            shape=(96, 128), seed=13)
    assert main([str(made.science), "--output_dir", str(tmp_path / "out"), "-q",
                 *options]) == 0
    result = jwst_step(made.science, **parameters)
    model = result[0] if isinstance(result, tuple | list) else result
    stem = made.science.name.removesuffix("_rate.fits")
    assert status_of(tmp_path / "out" / f"{stem}_badpix_selfcal.fits") == \
        model.meta.cal_step.badpix_selfcal
