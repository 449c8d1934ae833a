"""The File menu fired as a person does: products, exports, markers (dialogs answered)."""

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

pytest.importorskip("PyQt6")

from gui_helpers import drag, wait_for_result

from badpix_inspector.cli import main as command


def test_saved_products_with_edits_equal_the_commands_with_the_edits_file(
        qtbot, window, small_nirspec, tmp_path, dialogs, excepthook):
    result = window.session.result
    flagged = np.argwhere(result.flags)[:3]
    window.named_actions["tool_unflag_brush"].trigger()
    window.brush_radius.setValue(0)
    panel = window.grid.panels["combined"]
    view = panel.plot.getViewBox()
    for row, column in flagged:  # three clicks that unflag, zoomed in to see the pixel
        view.setRange(xRange=(column - 20, column + 20), yRange=(row - 20, row + 20), padding=0)
        drag(qtbot, panel, (column + 0.5, row + 0.5), (column + 0.5, row + 0.5), steps=1)
    window.named_actions["tool_flag_rectangle"].trigger()
    view.setRange(xRange=(0, 40), yRange=(0, 40), padding=0)
    drag(qtbot, panel, (7.2, 5.2), (8.8, 5.7))  # forced bad: (5, 7), (5, 8)
    wait_for_result(qtbot, window)
    assert window.session.edits.n_forced_good == 3 and window.session.edits.n_forced_bad == 2
    (tmp_path / "window").mkdir()
    dialogs.folders.append(tmp_path / "window")
    window.named_actions["save"].trigger()
    (product,) = (tmp_path / "window").iterdir()
    dialogs.save_paths.append(tmp_path / "edits.json")
    window.named_actions["export_edits"].trigger()
    assert command([str(small_nirspec.association), "--output_dir", str(tmp_path / "cli"),
                    "--edits", str(tmp_path / "edits.json"), "-q"]) == 0
    with fits.open(product) as ours, fits.open(tmp_path / "cli" / product.name) as theirs:
        for name in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE"):
            assert np.array_equal(ours[name].data, theirs[name].data, equal_nan=True)
        history = str(ours[0].header["HISTORY"])
    assert "2 pixels forced bad, 3 forced good" in history
    flagged_in_product = (fits.getdata(product, "DQ") & (1 << 30)) != 0
    np.testing.assert_array_equal(flagged_in_product, window.session.result.final)
    assert not window.recovery.has_unsaved_edits()
    assert not excepthook.errors and not dialogs.errors


def test_markers_blink_and_exports(qtbot, window, tmp_path, dialogs):
    result = window.session.result
    window.grid.hovered.emit(7, 5)
    window.named_actions["marker"].trigger()
    (record,) = window.markers.records
    assert (record["column"], record["row"]) == (7, 5)
    assert (record["x_fits"], record["y_fits"]) == (8, 6)
    assert record["note"] == ""  # not Qt's checked=False
    assert record["combined"] == pytest.approx(float(result.combined[5, 7]))
    window.markers_panel.table.item(0, window.markers_panel.table.columnCount() - 1) \
        .setText("hot pixel")
    assert window.markers.records[0]["note"] == "hot pixel"
    for suffix in ("ecsv", "csv"):
        dialogs.save_paths.append(tmp_path / f"markers.{suffix}")
        window.named_actions["export_markers"].trigger()
        table = Table.read(tmp_path / f"markers.{suffix}", format=f"ascii.{suffix}")
        assert table["x_fits"][0] == 8 and table["column"][0] == 7
        assert table["note"][0] == "hot pixel"
    names = [window.blink(1) for _ in range(len(result.used) + 1)]
    assert names[-1].endswith("(science)") and "combined" in names[-2]
    assert window.grid.panels["science"].data is result.used[0].exposure.sci
    assert window.blink(-1).startswith("combined")
    assert "— blink" in window.grid.panels["science"].title.text()
    window.session.edit_pixels([0], [0], 1)
    final = wait_for_result(qtbot, window).final
    exports = {"export_mask": "mask.fits", "export_regions": "flags.reg",
               "png_difference": "difference.png", "export_edits": "e.json"}
    for name, file_name in exports.items():
        dialogs.save_paths.append(tmp_path / file_name)
        window.named_actions[name].trigger()
    with fits.open(tmp_path / "mask.fits") as hdulist:
        np.testing.assert_array_equal(hdulist["FINAL"].data, final.astype(np.uint8))
        assert hdulist["MANUAL"].data[0, 0] == 1
    from badpix_inspector.io import read_region_markers

    # The markers recorded above travel in the region file too, as points with their notes.
    (point,) = read_region_markers(tmp_path / "flags.reg")
    assert (point["x"], point["y"], point["note"]) == (7, 5, "hot pixel")
    boxes = [line for line in (tmp_path / "flags.reg").read_text().splitlines()
             if line.startswith("box(")]
    assert len(boxes) == int(final.sum())  # one box a flag, each of one kind
    # DS9's box(1,1) is numpy's [0, 0] (forced bad above): the x_fits/y_fits convention.
    assert any(line.startswith("box(1.0,1.0,1.0,1.0,0.0)") and "forced_bad" in line
               for line in boxes)
    assert (tmp_path / "difference.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.loads((tmp_path / "e.json").read_text())
