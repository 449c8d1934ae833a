"""Manual QA in the window: histogram, pixel inspector, hand edits, sessions, markers, blink,
exports (pytest-qt, offscreen)."""

import json

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

pytest.importorskip("PyQt6")

from gui_helpers import drag, wait_for_result
from PyQt6.QtCore import Qt

from badpix_inspector.cli import main as command
from badpix_inspector.gui import create_main_window
from badpix_inspector.gui.histogram_panel import fraction_beyond
from badpix_inspector.session import LABEL_FORCED_BAD, LABEL_FORCED_GOOD


@pytest.mark.parametrize("side", ["low", "high"])
def test_dragging_a_threshold_sets_the_exact_fraction(qtbot, window, side):
    result = window.session.result
    values = result.sorted_difference
    target = float(np.quantile(values, 0.03 if side == "low" else 0.95))
    line = window.histogram.lines[side]
    line.setValue(target)
    line.sigPositionChangeFinished.emit(line)
    expected = fraction_beyond(values, target, side)
    name = "flagfrac_lower" if side == "low" else "flagfrac_upper"
    assert getattr(window.session.parameters, name) == expected
    assert expected == pytest.approx(0.03 if side == "low" else 0.05, abs=0.002)
    below = int((result.difference < target).sum()) if side == "low" else int(
        (result.difference > target).sum())
    assert expected == below / np.isfinite(result.difference).sum()
    spin = window.parameters.flagfrac_lower if side == "low" else window.parameters.flagfrac_upper
    assert spin.value() == pytest.approx(expected, abs=1e-6)  # the spin box followed
    new = wait_for_result(qtbot, window)
    assert line.value() == pytest.approx(float(getattr(new.statistics.thresholds, side)))


def test_inspector_values_equal_the_arrays_and_arrows_move_it(qtbot, window):
    result = window.session.result
    row, column = (int(v) for v in np.argwhere(result.flags)[0])
    window.grid.pixel_clicked.emit(row, column)
    assert window.session.selected == (row, column)
    cut = window.inspector.cut
    position = list(cut.positions).index(column)  # NIRSpec: dispersion along columns
    assert cut.axis == 1
    assert cut.combined[position] == result.combined[row, column]
    assert cut.smoothed[position] == result.smoothed[row, column]
    assert cut.band_high[position] == result.smoothed[row, column] + \
        result.statistics.thresholds.high
    assert cut.flagged[position]
    table = window.inspector.table
    for number, entry in enumerate(result.used):
        assert table.item(number, 0).text() == entry.name
        assert table.item(number, 2).text() == f"{entry.exposure.sci[row, column]:.5g}"
    minimum_row = [table.item(n, 5).text() for n in range(len(result.used))].index("◀ minimum")
    assert minimum_row == result.source_index[row, column]
    assert "flagged" in window.inspector.title.text()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)
    assert window.session.selected == (row, column + 1)
    qtbot.keyClick(window.grid, Qt.Key.Key_Up)
    assert window.session.selected == (row + 1, column + 1)


def test_brush_and_rectangle_drags_with_undo_redo(qtbot, window):
    panel = window.grid.panels["difference"]
    panel.plot.getViewBox().setRange(xRange=(0, 50), yRange=(10, 50), padding=0)
    window.brush_radius.setValue(1)
    window.named_actions["tool_flag_brush"].trigger()
    drag(qtbot, panel, (10.5, 20.5), (14.5, 20.5))  # one stroke along row 20, x 10..14
    window.named_actions["tool_unflag_rectangle"].trigger()
    drag(qtbot, panel, (30.2, 40.2), (33.9, 41.9))  # x 30..33, y 40..41
    result = wait_for_result(qtbot, window)
    edits = window.session.edits
    assert edits.forced_bad[20, 10] and edits.forced_bad[21, 10] and edits.forced_bad[20, 14]
    assert not edits.forced_bad[20, 16]
    assert edits.forced_good[40:42, 30:34].all() and edits.n_forced_good == 8
    assert result.labels[20, 10] == LABEL_FORCED_BAD and result.labels[40, 30] == LABEL_FORCED_GOOD
    after = edits.state.copy()
    undo, redo = window.named_actions["undo"], window.named_actions["redo"]
    undo.trigger()
    assert edits.n_forced_good == 0 and edits.n_forced_bad > 0
    undo.trigger()  # the whole brush stroke at once
    assert not edits.state.any()
    redo.trigger()
    redo.trigger()
    np.testing.assert_array_equal(edits.state, after)
    final = wait_for_result(qtbot, window)
    assert final.statistics.n_forced_bad == edits.n_forced_bad
    assert "forced bad" in window.statistics.values["manual"].text()
    # Edits survive a kernel change.
    window.session.set_parameters(kernel_size=7)
    changed = wait_for_result(qtbot, window)
    assert changed.final[20, 10] and not changed.final[40:42, 30:34].any()


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


def test_session_round_trip_resets_the_selection_and_applies_the_zoom(
        qtbot, window, tmp_path, settings_dir, cache, dialogs, small_nirspec):
    window.session.set_parameters(kernel_size=9, flagfrac_upper=0.004)
    window.session.set_role(2, "ignored")
    window.session.edit_pixels([1, 2], [3, 4], 1)
    window.grid.panels["difference"].stretch.setCurrentText("asinh")
    window._hovered(1, 2)
    window.named_actions["marker"].trigger()
    window.markers.set_note(0, "check")
    wait_for_result(qtbot, window)
    view = window.grid.panels["combined"].plot.getViewBox()
    view.setRange(xRange=(10, 60), yRange=(20, 70), padding=0)
    zoom = view.viewRange()
    dialogs.save_paths.append(tmp_path / "s.json")
    window.named_actions["save_session"].trigger()
    assert not window.recovery.has_unsaved_edits()
    other = create_main_window([small_nirspec.selfcals[0]])
    other.interactive = True
    qtbot.addWidget(other)
    wait_for_result(qtbot, other)
    other.session.select_pixel(100, 200)
    dialogs.open_file.append(tmp_path / "s.json")
    other.named_actions["open_session"].trigger()
    assert other.session.selected is None  # the previous data's pixel is gone
    result = wait_for_result(qtbot, other)
    assert other.session.state() == window.session.state()
    assert result.statistics.n_forced_bad == 2
    assert other.grid.panels["difference"].stretch.currentText() == "asinh"
    assert other.markers.records[0]["note"] == "check"
    assert other.markers.records[0]["x_fits"] == 2 and other.markers.records[0]["row"] == 2
    # The saved zoom (the window's aspect may widen one axis): same centre, same x span.
    restored = np.array(other.grid.panels["combined"].plot.getViewBox().viewRange())
    np.testing.assert_allclose(restored.mean(axis=1), np.mean(zoom, axis=1), atol=1.0)
    assert restored[0, 1] - restored[0, 0] < 120 and restored[1, 1] - restored[1, 0] < 120
    other.close()


def test_markers_blink_and_exports(qtbot, window, tmp_path, dialogs):
    result = window.session.result
    window._hovered(7, 5)
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
    assert names[-1].startswith("science") and "combined" in names[-2]
    assert window.grid.panels["science"].data is result.used[0].exposure.sci
    assert window.blink(-1).startswith("combined")
    assert "Blink" in window.grid.panels["science"].title.text()
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
    regions = (tmp_path / "flags.reg").read_text().splitlines()
    # DS9's box(1,1) is numpy's [0, 0]: the marker's x_fits/y_fits convention.
    assert len(regions) == 3 + int(final.sum()) and "box(1,1,1,1,0)" in regions
    assert (tmp_path / "difference.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.loads((tmp_path / "e.json").read_text())
