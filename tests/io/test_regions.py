import numpy as np
import pytest

from badpix_inspector.io import (
    InputError,
    read_region_edits,
    read_region_markers,
    write_flag_regions,
)

SHAPE = (40, 50)

# Written by hand as DS9 4.1 saves regions: image coordinates, 1-based, a global line,
# one region per line with its properties after '#'.
DS9_FILE = """\
# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 \
highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1
image
point(11,21) # point=x text={hot pixel?}
point(31,6) # point=circle
box(20,10,3,1,0) # tag={forced_bad}
box(10,30,2,2,45) # tag={forced_bad}
circle(40,30,1.2) # color=red
polygon(5.5,35.5,8.5,35.5,8.5,37.5,5.5,37.5)
box(45,5,1,1,0) # color=magenta tag={forced_good}
-box(40,30,1,1,0)
"""


def _pixels(*pairs):
    return sorted(map(tuple, pairs))


def test_a_file_written_by_ds9s_conventions_loads_as_markers(tmp_path):
    path = tmp_path / "hand.reg"
    path.write_text(DS9_FILE)
    markers = read_region_markers(path)
    # Zero-based numpy pixels: DS9's (11, 21) is column 10, row 20.
    assert markers[:2] == [{"x": 10, "y": 20, "note": "hot pixel?"},
                           {"x": 30, "y": 5, "note": ""}]
    # Shapes give their centre; those tagged as flag kinds are edits, not markers.
    assert [(m["x"], m["y"]) for m in markers[2:]] == [(39, 29), (6, 36), (39, 29)]


def test_a_file_written_by_ds9s_conventions_loads_as_edits(tmp_path):
    path = tmp_path / "hand.reg"
    path.write_text(DS9_FILE)
    edits = read_region_edits(path, SHAPE)
    assert edits.shape == SHAPE
    # The circle of radius 1.2 round (39, 29) 0-based covers the centre and its 4 sides; the
    # excluded box on its centre goes the other way (forced good), but a pixel in both
    # lists stays forced bad. The polygon covers columns 5..7 of rows 35..36.
    circle = [(29, 39), (28, 39), (30, 39), (29, 38), (29, 40)]
    polygon = [(row, column) for row in (35, 36) for column in (5, 6, 7)]
    # The box of 2 x 2 turned by 45 degrees round (9, 29) 0-based is a diamond reaching
    # 1.41 pixels from its centre: the centre and its 4 sides.
    diamond = [(29, 9), (28, 9), (30, 9), (29, 8), (29, 10)]
    expected_bad = _pixels((20, 10), (5, 30), (9, 18), (9, 19), (9, 20), *diamond, *circle,
                           *polygon)
    assert _pixels(*edits.forced_bad.tolist()) == expected_bad
    assert _pixels(*edits.forced_good.tolist()) == [(4, 44)]
    # Untagged regions can be read as forced good instead (and the excluded box as bad).
    edits = read_region_edits(path, SHAPE, default="forced_good")
    assert _pixels(*edits.forced_bad.tolist()) == _pixels((9, 18), (9, 19), (9, 20), *diamond,
                                                          (29, 39))
    assert (4, 44) in _pixels(*edits.forced_good.tolist())
    # Pixels outside the detector are dropped.
    small = read_region_edits(path, (10, 25))
    assert _pixels(*small.forced_bad.tolist()) == _pixels((9, 18), (9, 19), (9, 20))


def test_flags_and_markers_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    masks = {kind: rng.random(SHAPE) < 0.02 for kind in ("low", "high", "forced_bad",
                                                         "forced_good")}
    masks["forced_good"] &= ~(masks["low"] | masks["high"] | masks["forced_bad"])
    markers = [{"x": 3, "y": 7, "note": "line?"}, {"x": 49, "y": 39, "note": ""}]
    path = write_flag_regions(tmp_path / "flags.reg", masks, markers)
    text = path.read_text()
    # Image coordinates, 1-based, coloured and tagged by kind.
    assert "\nimage\n" in text and text.startswith("# Region file format: DS9")
    row, column = np.argwhere(masks["high"])[0]
    assert f"box({column + 1}.0,{row + 1}.0,1.0,1.0,0.0)" in text
    assert "color=red" in text and "color=cyan" in text and "color=magenta" in text
    assert "point(4.0,8.0)" in text and "text={line?}" in text
    n_boxes = sum(int(mask.sum()) for mask in masks.values())
    assert text.count("box(") == n_boxes
    edits = read_region_edits(path, SHAPE)
    bad = masks["low"] | masks["high"] | masks["forced_bad"]
    # Marker points are untagged as edits: they join the default list (forced bad).
    bad[7, 3] = bad[39, 49] = True
    np.testing.assert_array_equal(edits.forced_bad, np.argwhere(bad))
    np.testing.assert_array_equal(edits.forced_good, np.argwhere(masks["forced_good"]))
    # As markers, the flag boxes are skipped: the markers come back as they were.
    assert read_region_markers(path) == markers


def test_merged_runs_cover_the_same_pixels_in_fewer_boxes(tmp_path):
    mask = np.zeros(SHAPE, bool)
    mask[10, 5:25] = True  # a line's flags along a row
    mask[30, 7] = mask[30, 9] = True
    one_each = write_flag_regions(tmp_path / "each.reg", {"high": mask})
    merged = write_flag_regions(tmp_path / "merged.reg", {"high": mask}, merge_runs=True)
    assert one_each.read_text().count("box(") == 22
    assert merged.read_text().count("box(") == 3
    assert merged.stat().st_size < one_each.stat().st_size / 3
    for path in (one_each, merged):
        edits = read_region_edits(path, SHAPE)
        np.testing.assert_array_equal(edits.forced_bad, np.argwhere(mask))


def test_bad_region_files_are_refused_in_one_line(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_region_markers(tmp_path / "missing.reg")
    sky = tmp_path / "sky.reg"
    sky.write_text("# Region file format: DS9 version 4.1\nfk5\n"
                   "circle(10.5,20.5,1\")\n")
    with pytest.raises(InputError, match="sky coordinates"):
        read_region_edits(sky, SHAPE)
    junk = tmp_path / "junk.reg"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"junk\.reg"):
        read_region_markers(junk)
    with pytest.raises(ValueError, match="unknown flag kind"):
        write_flag_regions(tmp_path / "x.reg", {"middle": np.zeros(SHAPE, bool)})
