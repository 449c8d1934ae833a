"""Manual QA in the window: histogram, pixel inspector, hand edits, sessions, markers, blink,
exports (pytest-qt, offscreen)."""

import json
import shutil

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

pytest.importorskip("PyQt6")

from gui_helpers import wait_for_result
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


def test_brush_and_rectangle_edits_with_undo_redo(qtbot, window):
    grid = window.grid
    window.set_tool("flag brush")
    grid.brush_radius = 1
    grid._clicked(10.5, 20.5, 1)  # x=10, y=20
    grid._clicked(12.5, 20.5, 1)  # same stroke
    window.set_tool("unflag rectangle")
    grid._rectangle(30.2, 40.2, 33.9, 41.9)  # x 30..33, y 40..41
    result = wait_for_result(qtbot, window)
    edits = window.session.edits
    assert edits.forced_bad[20, 10] and edits.forced_bad[21, 10] and edits.forced_bad[20, 13]
    assert edits.forced_good[40:42, 30:34].all() and edits.n_forced_good == 8
    assert result.labels[20, 10] == LABEL_FORCED_BAD and result.labels[40, 30] == LABEL_FORCED_GOOD
    after = edits.state.copy()
    qtbot.keySequence = None
    window.undo_action.trigger()
    assert edits.n_forced_good == 0 and edits.n_forced_bad > 0
    window.undo_action.trigger()  # the whole brush stroke at once
    assert not edits.state.any()
    window.redo_action.trigger()
    window.redo_action.trigger()
    np.testing.assert_array_equal(edits.state, after)
    final = wait_for_result(qtbot, window)
    assert final.statistics.n_forced_bad == edits.n_forced_bad
    assert "forced bad" in window.statistics.values["manual"].text()
    # Edits survive a kernel change.
    window.session.set_parameters(kernel_size=7)
    changed = wait_for_result(qtbot, window)
    assert changed.final[20, 10] and not changed.final[40:42, 30:34].any()


def test_product_with_edits_equals_the_commands_with_edits_file(qtbot, window, small_nirspec,
                                                                tmp_path):
    result = window.session.result
    flagged = np.argwhere(result.flags)[:3]
    window.session.edit_pixels(flagged[:, 0], flagged[:, 1], -1)
    window.session.edit_pixels([5, 6], [7, 8], 1)
    wait_for_result(qtbot, window)
    (product,) = window.save_products(tmp_path / "window")
    edits = window.export_edits(tmp_path / "edits.json")
    assert command([str(small_nirspec.association), "--output_dir", str(tmp_path / "cli"),
                    "--edits", str(edits), "-q"]) == 0
    with fits.open(product) as ours, fits.open(tmp_path / "cli" / product.name) as theirs:
        for name in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE"):
            assert np.array_equal(ours[name].data, theirs[name].data, equal_nan=True)
        history = str(ours[0].header["HISTORY"])
    assert "2 pixels forced bad, 3 forced good" in history
    flagged_in_product = (fits.getdata(product, "DQ") & (1 << 30)) != 0
    np.testing.assert_array_equal(flagged_in_product, window.session.result.final)


def test_session_round_trip(qtbot, window, tmp_path, settings_dir, cache):
    window.session.set_parameters(kernel_size=9, flagfrac_upper=0.004)
    window.session.set_role(2, "ignored")
    window.session.edit_pixels([1, 2], [3, 4], 1)
    window.grid.panels["difference"].stretch.setCurrentText("asinh")
    window.markers.add({"x": 1, "y": 2, "note": "check"})
    wait_for_result(qtbot, window)
    path = window.save_session(tmp_path / "s.json")
    assert not window.has_unsaved_edits()
    other = create_main_window()
    qtbot.addWidget(other)
    assert other.open_session(path)
    result = wait_for_result(qtbot, other)
    assert other.session.state() == window.session.state()
    assert result.statistics.n_forced_bad == 2
    assert other.grid.panels["difference"].stretch.currentText() == "asinh"
    assert other.markers.records[0]["note"] == "check"
    other.close()


def test_autosave_restores_edits_after_a_crash(qtbot, settings_dir, cache, small_nirspec,
                                               tmp_path):
    first = create_main_window([small_nirspec.association])
    qtbot.addWidget(first)
    wait_for_result(qtbot, first)
    first.session.edit_pixels([3, 3, 4], [9, 10, 11], 1)
    qtbot.waitUntil(first.autosave_available, timeout=5000)  # written within a second
    state = first.session.edits.state.copy()
    # The crash: the process dies with the autosave on disk and closeEvent never runs.
    crashed = tmp_path / "autosave-at-crash.json"
    shutil.copy(first.autosave_path, crashed)
    first.close()
    shutil.copy(crashed, first.autosave_path)
    second = create_main_window()
    qtbot.addWidget(second)
    assert second.autosave_available()
    assert second.restore_autosave()
    wait_for_result(qtbot, second)
    np.testing.assert_array_equal(second.session.edits.state, state)
    assert second.has_unsaved_edits()  # restored edits still need saving
    second.save_session(tmp_path / "saved.json")
    assert not second.autosave_available()
    second.close()


def test_markers_blink_and_exports(qtbot, window, tmp_path):
    result = window.session.result
    window._hovered(7, 5)
    record = window.add_marker("hot?")
    assert record["x"] == 7 and record["y"] == 5
    assert record["combined"] == pytest.approx(float(result.combined[5, 7]))
    window.markers.table.item(0, len(record) - 1).setText("hot pixel")
    assert window.markers.records[0]["note"] == "hot pixel"
    for suffix in ("ecsv", "csv"):
        path = window.export_markers(tmp_path / f"markers.{suffix}")
        table = Table.read(path, format=f"ascii.{suffix}")
        assert table["x"][0] == 7 and table["note"][0] == "hot pixel"
    names = [window.blink(1) for _ in range(len(result.used) + 1)]
    assert names[-1].startswith("science") and "combined" in names[-2]
    assert window.grid.panels["science"].data is result.used[0].exposure.sci
    assert window.blink(-1).startswith("combined")
    assert "Blink" in window.grid.panels["science"].title.text()
    window.session.edit_pixels([0], [0], 1)
    final = wait_for_result(qtbot, window).final
    mask = window.export_mask(tmp_path / "mask.fits")
    with fits.open(mask) as hdulist:
        np.testing.assert_array_equal(hdulist["FINAL"].data, final.astype(np.uint8))
        assert hdulist["MANUAL"].data[0, 0] == 1
    regions = window.export_regions(tmp_path / "flags.reg").read_text().splitlines()
    assert len(regions) == 3 + int(final.sum()) and "box(1,1,1,1,0)" in regions
    png = window.export_panel_png("difference", tmp_path / "difference.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.loads(window.export_edits(tmp_path / "e.json").read_text())


def test_restore_offer_and_quit_prompt(qtbot, settings_dir, cache, small_nirspec, tmp_path,
                                       monkeypatch):
    first = create_main_window([small_nirspec.association])
    qtbot.addWidget(first)
    wait_for_result(qtbot, first)
    first.session.edit_pixels([2], [3], 1)
    first.write_autosave()
    # Quitting with unsaved edits asks first: "cancel" keeps the window open.
    first.show()
    monkeypatch.setattr(first, "ask", lambda *args: "cancel")
    assert not first.close() and first.isVisible()
    # "discard" closes it and drops the autosave.
    monkeypatch.setattr(first, "ask", lambda *args: "discard")
    assert first.close() and not first.autosave_available()

    second = create_main_window([small_nirspec.association])
    qtbot.addWidget(second)
    wait_for_result(qtbot, second)
    second.session.edit_pixels([4], [5], -1)
    second.show()
    saved = tmp_path / "kept.json"
    monkeypatch.setattr(second, "ask", lambda *args: "save")
    monkeypatch.setattr(second, "save_session_dialog", lambda: second.save_session(saved))
    assert second.close() and saved.is_file()

    # A crash leaves an autosave; the next start offers it.
    third = create_main_window([small_nirspec.association])
    qtbot.addWidget(third)
    wait_for_result(qtbot, third)
    third.session.edit_pixels([6], [7], 1)
    third.write_autosave()
    third.session.close()  # the crash: no closeEvent, the autosave stays
    fourth = create_main_window()
    qtbot.addWidget(fourth)
    monkeypatch.setattr(fourth, "ask", lambda *args: "discard")
    assert fourth.offer_autosave() is False and not fourth.autosave_available()
    third.write_autosave()
    monkeypatch.setattr(fourth, "ask", lambda *args: "restore")
    assert fourth.offer_autosave() is True
    wait_for_result(qtbot, fourth)
    assert fourth.session.edits.state[6, 7] == 1
    monkeypatch.setattr(fourth, "ask", lambda *args: "discard")
    monkeypatch.setattr(third, "ask", lambda *args: "discard")
