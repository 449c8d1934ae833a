import json

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.core import pedestal_region
from badpix_inspector.io import read_association
from badpix_inspector.simulate import main, simulate_exposure


def test_miri_frame_looks_like_an_mrs_rate_product(miri_long):
    with fits.open(miri_long.science) as hdulist:
        assert [hdu.name for hdu in hdulist] == [
            "PRIMARY", "SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE", "ASDF"]
        header = hdulist[0].header
        assert (header["INSTRUME"], header["DETECTOR"], header["EXP_TYPE"]) == (
            "MIRI", "MIRIFULONG", "MIR_MRS")
        assert hdulist["SCI"].header["DISPAXIS"] == 2
        sci, dq = hdulist["SCI"].data, hdulist["DQ"].data
        assert sci.shape == (1024, 1032) and sci.dtype == np.dtype(">f4")
        # 4 reference columns each side, flagged REFERENCE_PIXEL | DO_NOT_USE.
        assert (dq[:, :4] & (2**31 | 1) == 2**31 | 1).all()
        assert (dq[:, -4:] & 2**31).all() and not (dq[:, 4:-4] & 2**31).any()
        # The inter-channel gap is dark next to the illuminated slices.
        rows, columns = pedestal_region("MIRIFULONG")
        gap = np.nanmedian(sci[rows, columns])
        assert np.nanmedian(sci[rows, 100:400]) > gap + 3
        # Spectral structure along the dispersion axis (rows): the continuum varies.
        profile = np.nanmedian(sci[:, 100:400], axis=1)
        assert profile.max() > 1.3 * profile.min()


def test_each_exposure_has_its_own_pedestal_and_the_source_moves(miri_long):
    rows, columns = pedestal_region("MIRIFULONG")
    pedestals, brightest = [], []
    for path in miri_long.exposures:
        sci = fits.getdata(path, "SCI")
        pedestals.append(float(np.nanmedian(sci[rows, columns])))
        brightest.append(int(np.nanargmax(np.nanmedian(sci[400:600], axis=0))))
    assert len(set(np.round(pedestals, 2))) == len(pedestals)
    assert len(set(brightest)) > 1  # the dithered point source changes place


def test_defects_and_cosmic_ray(miri_long):
    defects = miri_long.defects
    assert defects.hot.sum() > 100 and defects.cold.sum() > 100 and defects.nan.sum() > 50
    sci = fits.getdata(miri_long.science, "SCI")
    assert np.isnan(sci[defects.nan]).all()
    dq = fits.getdata(miri_long.science, "DQ")
    assert (dq[defects.preflagged] & 1).all()
    assert 0 < defects.preflagged.sum() < defects.hot.sum()
    # The cosmic-ray residual is in one exposure only.
    hit_in = [np.nanmin(fits.getdata(p, "SCI")[miri_long.cosmic_ray]) > 40
              for p in miri_long.exposures]
    assert sum(hit_in) == 1


def test_association_is_a_spec2_association(miri_long):
    document = json.loads(miri_long.association.read_text())
    assert document["asn_type"] == "spec2"
    (product,) = read_association(miri_long.association)
    assert product.science == miri_long.science
    assert len(product.backgrounds) == 1 and len(product.selfcals) == 3


def test_nirspec_layout_and_crop():
    planes, defects, _ = simulate_exposure("NRS1", shape=(64, 80))
    assert planes["SCI"].shape == (64, 80)
    full, full_defects, _ = simulate_exposure("NRS1", seed=0)
    assert full["SCI"].shape == (2048, 2048)
    # A crop shows the same defects as the full frame at the same place.
    np.testing.assert_array_equal(defects.hot, full_defects.hot[:64, :80])
    # Dispersion along columns: slices are horizontal, so rows vary far more than columns.
    sci = full["SCI"][:, 100:1900]
    assert np.nanstd(np.nanmedian(sci, axis=1)) > 3 * np.nanstd(np.nanmedian(sci[300:1800], axis=0))
    with pytest.raises(ValueError, match="does not fit"):
        simulate_exposure("NRS1", shape=(4000, 10))


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path), "--instrument", "nirspec", "--selfcals", "1",
                 "--backgrounds", "0"]) == 0
    asn = capsys.readouterr().out.strip()
    assert asn.endswith("_nrs1_spec2_asn.json")
    assert len(list(tmp_path.glob("*_rate.fits"))) == 2
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--instrument", "miri", "--detector", "NRS1"])
