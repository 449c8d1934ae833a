import json

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.io import (
    InputError,
    read_edits,
    read_session,
    write_edits,
    write_flag_mask,
    write_session,
)


def test_edits_round_trip_and_checks(tmp_path):
    edits = {"shape": [10, 20], "forced_bad": [[1, 2], [9, 19]], "forced_good": [[0, 0]]}
    path = write_edits(tmp_path / "e.json", edits, science="x_rate.fits")
    bad, good, shape = read_edits(path, shape=(10, 20))
    assert shape == (10, 20)
    np.testing.assert_array_equal(bad, [[1, 2], [9, 19]])
    np.testing.assert_array_equal(good, [[0, 0]])
    with pytest.raises(InputError, match="science exposure has 11x20"):
        read_edits(path, shape=(11, 20))
    document = json.loads(path.read_text())
    document["forced_bad"].append([10, 0])
    path.write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"pixel \[10, 0\] outside 10x20"):
        read_edits(path)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a badpix-inspector edits file"):
        read_edits(tmp_path / "other.json")


def test_session_paths_are_relative_below_the_session_folder(tmp_path):
    (tmp_path / "data").mkdir()
    state = {"exposures": [{"path": str(tmp_path / "data" / "a.fits"), "role": "science"},
                           {"path": "/elsewhere/b.fits", "role": "selfcal"}],
             "association": None, "parameters": {"kernel_size": 7}}
    path = write_session(tmp_path / "s.json", state)
    stored = json.loads(path.read_text())
    assert stored["exposures"][0]["path"] == "data/a.fits"
    assert stored["exposures"][1]["path"] == "/elsewhere/b.fits"
    loaded = read_session(path)
    assert loaded["exposures"][0]["path"] == str(tmp_path / "data" / "a.fits")
    assert loaded["parameters"] == {"kernel_size": 7}


def test_flag_mask_and_regions(tmp_path):
    algorithm = np.zeros((3, 4), bool)
    algorithm[0, 1] = True
    bad = np.zeros((3, 4), bool)
    bad[2, 3] = True
    good = np.zeros((3, 4), bool)
    good[0, 1] = True
    final = (algorithm | bad) & ~good
    path = write_flag_mask(tmp_path / "m.fits", algorithm, bad, good, final)
    with fits.open(path) as mask:
        assert [hdu.name for hdu in mask] == ["PRIMARY", "ALGORITHM", "MANUAL", "FINAL"]
        assert mask["MANUAL"].data[2, 3] == 1 and mask["MANUAL"].data[0, 1] == -1
        np.testing.assert_array_equal(mask["FINAL"].data, final.astype(np.uint8))
