"""File ▸ Send via SAMP (to a hub the test starts) and File ▸ Import of DS9 region files."""

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from astropy.io import fits
from astropy.table import Table
from gui_helpers import click, wait_for_result

from badpix_inspector.io.regions import write_flag_regions
from badpix_inspector.io.samp import IMAGE_MTYPE, TABLE_MTYPE
from samp_helpers import url_path


def test_send_each_panel_the_mask_and_the_markers(qtbot, window, samp_receiver, dialogs,
                                                  excepthook):
    result = wait_for_result(qtbot, window)
    click(qtbot, window.grid.panels["difference"], 9.5, 7.5)  # inspect: selects [7, 9]
    assert window.session.selected == (7, 9)
    window.named_actions["marker"].trigger()  # the selected pixel: no cursor over the images
    keys = ("combined", "smoothed", "difference", "science")
    for key in keys:
        window.named_actions[f"samp_{key}"].trigger()
    window.named_actions["samp_mask"].trigger()
    window.named_actions["samp_markers"].trigger()
    messages = samp_receiver.wait(6)
    assert [mtype for mtype, _ in messages] == [IMAGE_MTYPE] * 5 + [TABLE_MTYPE]
    for (_, params), key in zip(messages, keys, strict=False):
        sent = fits.getdata(url_path(params["url"]))
        np.testing.assert_array_equal(sent, getattr(result, key))
        assert key in params["name"]
    np.testing.assert_array_equal(fits.getdata(url_path(messages[4][1]["url"])),
                                  result.final.astype(np.uint8))
    table = Table.read(url_path(messages[5][1]["url"]), format="votable")
    assert list(table["x"]) == [9] and list(table["y"]) == [7]
    assert list(table["x_image"]) == [10] and list(table["y_image"]) == [8]
    assert "recorder" in window.statusBar().currentMessage()
    assert not dialogs.errors and not excepthook.errors


def test_no_hub_is_said_in_one_line(qtbot, window, dialogs, excepthook, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'no-hub').as_uri()}")
    window.named_actions["samp_difference"].trigger()
    assert len(dialogs.errors) == 1
    title, text = dialogs.errors[0]
    assert title == "Cannot send via SAMP"
    assert text.startswith("no SAMP hub is running; start DS9") and "\n" not in text
    assert "no SAMP hub is running" in window.statusBar().currentMessage()
    assert not excepthook.errors


def test_region_file_as_markers(qtbot, window, dialogs, excepthook, tmp_path):
    wait_for_result(qtbot, window)
    path = tmp_path / "drawn.reg"
    # As DS9 saves them: image coordinates, 1-based; a point, a circle, a text (skipped).
    path.write_text("# Region file format: DS9 version 4.1\n"
                    'global color=green font="helvetica 10 normal roman"\nimage\n'
                    "point(10,12) # point=x text={odd pixel}\n"
                    "circle(41,31,3)\n"
                    "# text(5,5) text={label}\n"
                    "point(5000,5000)\n")
    dialogs.open_file.append(path)
    window.named_actions["import_region_markers"].trigger()
    records = window.markers.records
    assert [(r["row"], r["column"], r["note"]) for r in records] == [
        (11, 9, "odd pixel"), (30, 40, "")]
    assert (records[0]["x_fits"], records[0]["y_fits"]) == (10, 12)
    assert "1 outside the detector skipped" in window.statusBar().currentMessage()
    # A file written by the window's export gives back its markers, never its flags.
    written = tmp_path / "flags.reg"
    write_flag_regions(written, {"high": np.eye(4, dtype=bool)},
                       [{"x": r["column"], "y": r["row"], "note": r["note"]} for r in records])
    dialogs.open_file.append(written)
    window.named_actions["import_region_markers"].trigger()
    assert [(r["row"], r["column"]) for r in window.markers.records[2:]] == [(11, 9), (30, 40)]
    assert not dialogs.errors and not excepthook.errors


@pytest.mark.parametrize("action, untagged", [("import_region_bad", 1),
                                              ("import_region_good", -1)])
def test_region_file_as_edits(qtbot, window, dialogs, excepthook, tmp_path, action, untagged):
    wait_for_result(qtbot, window)
    path = tmp_path / "edits.reg"
    path.write_text("# Region file format: DS9 version 4.1\nimage\n"
                    "box(11,21,3,1,0)\n"  # untagged: columns 9-11 of row 20
                    "point(50,40) # tag={forced_good}\n"
                    "point(60,40) # tag={high}\n")
    dialogs.open_file.append(path)
    window.named_actions[action].trigger()
    result = wait_for_result(qtbot, window)
    state = window.session.edits.state
    assert list(state[20, 9:12]) == [untagged] * 3
    assert state[39, 49] == -1 and state[39, 59] == 1
    assert np.count_nonzero(state) == 5
    assert result.final[39, 59] and not result.final[39, 49]
    # One Undo takes the whole import back.
    window.named_actions["undo"].trigger()
    assert not window.session.edits.state.any() and not window.session.edits.can_undo
    assert not dialogs.errors and not excepthook.errors


def test_a_broken_region_file_is_said_in_one_line(qtbot, window, dialogs, excepthook, tmp_path):
    path = tmp_path / "broken.reg"
    path.write_text("fk5\ncircle(10:00:00,+20:00:00,3\")\n")
    dialogs.open_file.append(path)
    window.named_actions["import_region_bad"].trigger()
    assert len(dialogs.errors) == 1 and "\n" not in dialogs.errors[0][1]
    assert not window.session.edits.state.any()
    assert not excepthook.errors
