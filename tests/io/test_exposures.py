import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.io import InputError, read_exposure


def write(path, sci, header=None, extra=()):
    hdus = [fits.PrimaryHDU(header=header), fits.ImageHDU(sci, name="SCI"), *extra]
    fits.HDUList(hdus).writeto(path)
    return path


def test_reads_sci_as_native_float32_with_header_facts(small_nirspec):
    exposure = read_exposure(small_nirspec.science, "science", with_dq=True)
    assert exposure.sci.dtype == np.dtype("float32") and exposure.sci.dtype.isnative
    assert exposure.shape == (96, 128)
    assert (exposure.detector, exposure.instrument, exposure.exp_type) == (
        "NRS1", "NIRSPEC", "NRS_IFU",
    )
    assert exposure.dispaxis == 1
    assert exposure.dq.dtype == np.uint32
    assert exposure.sci.flags.writeable  # a copy, not the file's memory map


def test_float64_sci_is_cast_like_jwsts_datamodels(tmp_path):
    path = write(tmp_path / "f64.fits", np.full((4, 5), 1 / 3, dtype=np.float64))
    exposure = read_exposure(path)
    assert exposure.sci.dtype == np.float32 and exposure.sci[0, 0] == np.float32(1 / 3)
    assert exposure.dispaxis is None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_text("SIMPLE? no, this is text " * 200), "not a FITS file"),
        (lambda p: fits.HDUList([fits.PrimaryHDU()]).writeto(p), "has no SCI extension"),
        (lambda p: write(p, np.zeros((3, 4, 5), np.float32)), r"SCI is 3-D \(3 integrations\)"),
        (lambda p: write(p, np.zeros(5, np.float32)), "SCI is 1-D"),
        (lambda p: fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(name="SCI")]).writeto(p),
         "holds no data"),
    ],
)
def test_bad_files_raise_one_clear_message(tmp_path, make, message):
    path = tmp_path / "bad_rate.fits"
    make(path)
    with pytest.raises(InputError, match=message) as caught:
        read_exposure(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_truncated_file(tmp_path):
    path = write(tmp_path / "whole.fits", np.zeros((100, 100), np.float32))
    truncated = tmp_path / "cut.fits"
    truncated.write_bytes(path.read_bytes()[:-20000])
    with pytest.raises(InputError, match="truncated"):
        read_exposure(truncated)


def test_missing_file_and_bad_dispaxis(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_exposure(tmp_path / "nothing.fits")
    header = fits.Header()
    hdu = fits.ImageHDU(np.zeros((4, 4), np.float32), name="SCI")
    hdu.header["DISPAXIS"] = 3
    fits.HDUList([fits.PrimaryHDU(header=header), hdu]).writeto(tmp_path / "d3.fits")
    with pytest.raises(InputError, match="DISPAXIS is 3"):
        read_exposure(tmp_path / "d3.fits")


@pytest.mark.parametrize("stored", ["float32", "float64", "scaled int16", "lossless compressed",
                                    "lossy compressed"])
def test_a_released_exposure_reads_again_what_was_read_first(tmp_path, stored):
    rng = np.random.default_rng(5)
    values = (rng.normal(size=(40, 50)) * 30).astype(np.float32)
    values[rng.random(values.shape) < 0.05] = np.nan
    path = tmp_path / "exposure.fits"
    if stored == "scaled int16":
        sci = fits.ImageHDU(np.nan_to_num(values).astype(np.int16), name="SCI")
        sci.header["BSCALE"], sci.header["BZERO"] = 0.01, 3.0
    elif stored == "lossy compressed":  # quantized floats, as many archives store them
        sci = fits.CompImageHDU(values, name="SCI", compression_type="RICE_1",
                                quantize_level=16.0)
    elif stored == "lossless compressed":
        sci = fits.CompImageHDU(values, name="SCI", compression_type="GZIP_2",
                                quantize_level=0.0)
    else:
        sci = fits.ImageHDU(values.astype(stored), name="SCI")
    fits.HDUList([fits.PrimaryHDU(), sci]).writeto(path)
    exposure = read_exposure(path, "selfcal")
    first = exposure.sci.copy()
    exposure.release()
    assert exposure.released and exposure.sci is None and exposure.shape == (40, 50)
    again = exposure.read_sci()
    assert again.dtype == np.float32
    np.testing.assert_array_equal(again, first)  # NaN where NaN, every bit of the rest
    index = (np.arange(3, 17), 22)  # a cut, as the pixel inspector reads one
    np.testing.assert_array_equal(exposure.read_sci(index), first[index])
    assert exposure.read_sci((7, 9)) == first[7, 9] or np.isnan(first[7, 9])


def test_a_file_changed_since_it_was_read_is_not_read_as_the_same_exposure(tmp_path):
    path = write(tmp_path / "x.fits", np.ones((4, 5), np.float32))
    exposure = read_exposure(path, "background")
    exposure.release()
    path.unlink()
    write(path, np.full((4, 5), 2, np.float32))  # replaced by another file of that name
    with pytest.raises(InputError, match="changed on disk since it was opened"):
        exposure.read_sci()
    path.unlink()
    with pytest.raises(InputError, match="is gone since it was opened"):
        exposure.read_sci()


def test_an_exposure_from_memory_is_never_released(tmp_path):
    path = write(tmp_path / "x.fits", np.ones((4, 5), np.float32))
    exposure = read_exposure(path)
    exposure.stamp = None  # as an exposure made from a jwst datamodel
    exposure.release()
    assert not exposure.released and exposure.read_sci()[0, 0] == 1
