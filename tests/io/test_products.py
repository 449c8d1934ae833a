import os

import asdf
import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.core import FLAG_BITS, SelfcalParameters
from badpix_inspector.io import (
    InputError,
    atomic_write,
    check_output_folder,
    check_outputs,
    output_stem,
    read_parameter_file,
    write_parameter_file,
    write_product,
)
from badpix_inspector.io.parfile import STEP_CLASS


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("jw01523003001_03102_00001_mirifulong_rate.fits", "jw01523003001_03102_00001_mirifulong"),
        ("jw02_nrs1_assign_wcs.fits", "jw02_nrs1"),
        ("x_rateints.fits", "x"),
        ("x_cal.fits", "x"),
        ("x_badpix_selfcal.fits", "x"),
        ("my_data.fits", "my_data"),
        ("plain", "plain"),
    ],
)
def test_output_stem_drops_the_pipeline_suffix(name, stem):
    assert output_stem(name) == stem


def test_output_file_is_taken_as_given():
    assert output_stem("x_rate.fits", "mine.fits") == "mine"
    assert output_stem("x_rate.fits", "mine_rate") == "mine_rate"


def test_product_carries_every_hdu_and_flags_the_planes(small_nirspec, tmp_path):
    source = small_nirspec.science
    with fits.open(source) as original:
        shape = original["SCI"].data.shape
        names = [hdu.name for hdu in original]
        asdf_bytes = original["ASDF"].data.tobytes()
        before = {hdu.name: (hdu.data.copy() if hdu.data is not None else None)
                  for hdu in original if hdu.name != "ASDF"}
    mask = np.zeros(shape, dtype=bool)
    mask[10, 20] = mask[50, 60] = True
    destination = tmp_path / "out_badpix_selfcal.fits"
    write_product(source, destination, mask, "COMPLETE", ["badpix-inspector test history"])
    with fits.open(destination) as product:
        assert [hdu.name for hdu in product] == names
        assert product["ASDF"].data.tobytes() == asdf_bytes
        assert product[0].header["S_BPXSLF"] == "COMPLETE"
        assert "badpix-inspector test history" in str(product[0].header["HISTORY"])
        for name in ("SCI", "ERR", "VAR_POISSON", "VAR_RNOISE"):
            data = product[name].data
            assert np.isnan(data[mask]).all()
            np.testing.assert_array_equal(data[~mask], before[name][~mask])
        dq = product["DQ"].data
        assert dq.dtype == np.uint32
        np.testing.assert_array_equal(dq[mask], before["DQ"][mask] | FLAG_BITS)
        np.testing.assert_array_equal(dq[~mask], before["DQ"][~mask])
    assert sorted(os.listdir(tmp_path)) == ["out_badpix_selfcal.fits"]  # no temporary left


def test_missing_dq_is_created_after_sci(tmp_path):
    source = tmp_path / "nodq.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((3, 3), np.float32), name="SCI")]
                 ).writeto(source)
    mask = np.eye(3, dtype=bool)
    write_product(source, tmp_path / "p.fits", mask, "COMPLETE")
    with fits.open(tmp_path / "p.fits") as product:
        assert [hdu.name for hdu in product] == ["PRIMARY", "SCI", "DQ"]
        np.testing.assert_array_equal(product["DQ"].data, np.eye(3, dtype=np.uint32) * FLAG_BITS)


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path):
    target = tmp_path / "keep.fits"
    target.write_bytes(b"old")

    def fail(stream):
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.fits"]


def test_outputs_never_overwrite_inputs(tmp_path):
    source = tmp_path / "x_badpix_selfcal.fits"
    with pytest.raises(InputError, match="would overwrite an input"):
        check_outputs([tmp_path / "." / "x_badpix_selfcal.fits"], [source])
    with pytest.raises(InputError, match="same file"):
        check_outputs([tmp_path / "a", tmp_path / "a"], [])


def test_output_folder_checks(tmp_path):
    check_output_folder(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # judged, not made
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_output_folder(blocker)
    with pytest.raises(InputError, match="cannot be written"):
        check_output_folder(blocker / "sub")


def test_parameter_file_round_trip(tmp_path):
    parameters = SelfcalParameters(flagfrac_lower=0.002, flagfrac_upper=0.01, kernel_size=9)
    path = write_parameter_file(tmp_path / "pars.asdf", parameters)
    with asdf.open(path) as handle:
        assert handle.tree["class"] == STEP_CLASS
        assert handle.tree["name"] == "badpix_selfcal"
        assert handle.tree["parameters"]["skip"] is False
        assert handle.tree["parameters"]["kernel_size"] == 9
    assert read_parameter_file(path) == parameters


def test_parameter_file_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_parameter_file(tmp_path / "no" / "p.asdf", SelfcalParameters())
    bad = tmp_path / "bad.asdf"
    bad.write_text("nonsense")
    with pytest.raises(InputError, match="not an ASDF parameter file"):
        read_parameter_file(bad)
    out_of_range = tmp_path / "range.asdf"
    asdf.AsdfFile({"parameters": {"flagfrac_lower": 0.9}}).write_to(out_of_range)
    with pytest.raises(InputError, match="flagfrac_lower must be"):
        read_parameter_file(out_of_range)
