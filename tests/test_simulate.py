import json

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.core import SelfcalParameters, SelfcalStages, pedestal_region, suspect_flags
from badpix_inspector.io import read_association, read_exposure
from badpix_inspector.simulate import main, make_association, planted_lines, simulate_exposure


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
    # The sidecar records the planted defects (zero-based [row, column]) and lines.
    planted = json.loads(next(tmp_path.glob("*_planted.json")).read_text())
    _, defects, _ = simulate_exposure("NRS1")
    assert planted["hot"] == np.argwhere(defects.hot).tolist()
    assert planted["cold"] == np.argwhere(defects.cold).tolist()
    assert len(planted["lines"]) == 8 and len(planted["line_pixels"]) > 1000
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--instrument", "miri", "--detector", "NRS1"])


def test_backgrounds_see_the_sky_only():
    """A dedicated background is off source: no lines, no point source; the dithers have both."""
    lines = planted_lines("MIRIFULONG")
    assert lines.sum() > 10000
    background, _, _ = simulate_exposure("MIRIFULONG", dither=1, seed=5, background=True)
    science, _, _ = simulate_exposure("MIRIFULONG", dither=1, seed=5)
    excess = science["SCI"].astype(float) - background["SCI"]
    # The source (its continuum and lines) is in the science exposure only.
    assert np.nanmedian(excess[lines]) > 1.0
    # Along the dispersion (rows), the sky is smooth where the lines are: a line row is no
    # brighter than the rows 6 pixels either side of it.
    rows, columns = np.nonzero(lines[:, :470])
    inner = (rows >= 6) & (rows < 1018)
    rows, columns = rows[inner], columns[inner]
    sky = background["SCI"].astype(float)
    bump = sky[rows, columns] - 0.5 * (sky[rows - 6, columns] + sky[rows + 6, columns])
    source_bump = science["SCI"][rows, columns] - 0.5 * (
        science["SCI"][rows - 6, columns] + science["SCI"][rows + 6, columns])
    assert abs(np.nanmedian(bump)) < 0.1 < 0.5 < np.nanmedian(source_bump)


def _flags_and_suspects(made):
    (product,) = read_association(made.association)
    science = read_exposure(product.science)
    images = [science.sci] + [read_exposure(p).sci
                              for p in [*product.backgrounds, *product.selfcals]]
    stages = SelfcalStages(images, science.detector)
    parameters = SelfcalParameters()  # the pipeline's defaults
    difference = stages.filtered(parameters.kernel_size, 2).difference
    flags = stages.flags(parameters, 2)
    suspect = suspect_flags(difference, stages.thresholds(parameters, 2), 2)
    return flags, suspect


@pytest.fixture(scope="module")
def selfcal_only(tmp_path_factory):
    """The notebooks' set-up: science and 3 selfcal dithers of the extended source."""
    return make_association(tmp_path_factory.mktemp("selfcal_only"), "MIRIFULONG",
                            n_background=0, n_selfcal=3, seed=0)


def test_lines_are_suspect_and_hot_pixels_are_not(selfcal_only, miri_long):
    """With the simulator's planted lines and defects, count the suspect flags of each.

    Measured on these seeded data at the pipeline's defaults: without a background, 610
    flags sit on planted line peaks and 596 of them are suspect; 456 flags sit on planted
    hot pixels and 3 of them are suspect (1 of 311 flagged cold pixels). With the off-source
    background (sky only) the minimum holds no lines: 47 flags on line pixels, none suspect.
    """
    flags, suspect = _flags_and_suspects(selfcal_only)
    lines, hot, cold = selfcal_only.lines, selfcal_only.defects.hot, selfcal_only.defects.cold
    on_lines, suspect_lines = int((flags & lines).sum()), int((suspect & lines).sum())
    on_hot, suspect_hot = int((flags & hot).sum()), int((suspect & hot).sum())
    on_cold, suspect_cold = int((flags & cold).sum()), int((suspect & cold).sum())
    print(f"selfcal only: {suspect_lines} of {on_lines} line flags suspect, "
          f"{suspect_hot} of {on_hot} hot-pixel flags, {suspect_cold} of {on_cold} cold")
    assert not (suspect & ~flags).any()
    assert on_lines > 500 and suspect_lines >= 0.95 * on_lines
    assert on_hot > 400 and suspect_hot <= 0.02 * on_hot
    assert on_cold > 250 and suspect_cold <= 0.02 * on_cold

    flags_bg, suspect_bg = _flags_and_suspects(miri_long)
    lines_bg = miri_long.lines
    print(f"with a background: {int((suspect_bg & lines_bg).sum())} of "
          f"{int((flags_bg & lines_bg).sum())} line flags suspect, "
          f"{int((suspect_bg & miri_long.defects.hot).sum())} hot-pixel flags suspect")
    # The off-source background removes the lines from the minimum.
    assert (flags_bg & lines_bg).sum() < 0.1 * on_lines
    assert (suspect_bg & lines_bg).sum() == 0
    assert (suspect_bg & miri_long.defects.hot).sum() == 0
