"""Fuzzing the command with damaged FITS files (hypothesis), issue 10.

Valid exposures from the project's simulator, truncated or with header cards and bytes
mutated, must end in exit 0 with a valid product or exit 1 with one line: never a
traceback, never an unforeseen error, never a changed input, never a left-over file.
"""

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badpix_inspector.cli import main
from badpix_inspector.simulate import make_association

CARD = 80
BLOCK = 2880


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The bytes of one small valid exposure (NIRSpec, 32x40) and where its data starts."""
    made = make_association(tmp_path_factory.mktemp("fuzz_source"), "NRS1", n_background=0,
                            n_selfcal=0, shape=(32, 40), seed=21)
    data = made.science.read_bytes()
    with fits.open(made.science) as hdulist:
        headers = [(hdu.fileinfo()["hdrLoc"], hdu.fileinfo()["datLoc"]) for hdu in hdulist]
    return data, headers


def truncate(data, headers, draw):
    return data[: draw(st.integers(0, len(data) - 1))]


def mutate_card(data, headers, draw):
    start, end = draw(st.sampled_from(headers))
    card = draw(st.integers(0, (end - start) // CARD - 1))
    where = start + card * CARD
    keyword = data[where:where + 8]
    value = draw(st.one_of(
        st.sampled_from([b"-1", b"0", b"99999999999999999999", b"'text'", b"T", b"1.5E400",
                         b"NAN", b"'", b"", b"3", b"-32", b"8", b"1.0E-30"]),
        st.binary(min_size=0, max_size=30).map(lambda raw: bytes(b % 95 + 32 for b in raw)),
    ))
    if draw(st.booleans()):
        new = (keyword + b"= " + value.rjust(20)).ljust(CARD)[:CARD]
    else:  # a card replaced by printable noise
        new = draw(st.binary(min_size=CARD, max_size=CARD)).translate(
            bytes(b % 95 + 32 for b in range(256)))
    return data[:where] + new + data[where + CARD:]


def flip_bytes(data, headers, draw):
    mutable = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        mutable[position] = draw(st.integers(0, 255))
    return bytes(mutable)


class Damaged(bytes):
    """Damaged file bytes whose repr says how they differ from the pristine file."""

    def __new__(cls, raw, how, pristine):
        made = super().__new__(cls, raw)
        made.how = how
        changed = [i for i in range(min(len(raw), len(pristine))) if raw[i] != pristine[i]]
        made.summary = (f"{how}: {len(raw)} of {len(pristine)} bytes, changed at "
                        f"{changed[:3]}..{changed[-1:]}: {raw[changed[0]:changed[0] + 80]!r}"
                        if changed else f"{how}: {len(raw)} of {len(pristine)} bytes")
        return made

    def __repr__(self):
        return self.summary


@st.composite
def damaged(draw, data, headers):
    how = draw(st.sampled_from([truncate, mutate_card, flip_bytes]))
    return Damaged(how(data, headers, draw), how.__name__, data)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_damaged_fits_ends_cleanly(pristine):
    data, headers = pristine

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")), deadline=None,
              derandomize=not os.environ.get("FUZZ_EXAMPLES"),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=damaged(data, headers))
    def check(case):
        how, damaged_bytes = case.summary, bytes(case)
        folder = Path(tempfile.mkdtemp(prefix="fuzz_"))
        try:
            science = folder / "jw01523003001_03102_00001_nrs1_rate.fits"
            science.write_bytes(damaged_bytes)
            before = digest(science)
            out = folder / "out"
            err = io.StringIO()
            with contextlib.redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # every warning would reach the terminal
                status = main([str(science), "--force_single", "--kernel_size", "5",
                               "--output_dir", str(out), "-q"])
            text = err.getvalue()
            assert not caught, (how, [str(warning.message) for warning in caught])
            assert "Traceback" not in text and "unexpected" not in text, (how, text)
            assert digest(science) == before, how  # the input is never changed
            assert sorted(os.listdir(folder)) == sorted(
                [science.name] + (["out"] if out.exists() else []))
            if status == 0:
                assert text == "", (how, text)
                (product,) = os.listdir(out)
                with fits.open(out / product) as hdulist:
                    assert hdulist["SCI"].data.shape == hdulist["DQ"].data.shape
                    assert np.issubdtype(hdulist["SCI"].data.dtype, np.floating)
            else:
                assert status == 1, (how, text)
                lines = text.strip().splitlines()
                assert len(lines) == 1, (how, text)
                assert lines[0].startswith("badpix-selfcal: error: "), (how, text)
                assert not out.exists() or os.listdir(out) == [], (how, os.listdir(out))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    check()
