"""Manual QA in the window: histogram, pixel inspector, hand edits, sessions, markers, blink,
exports (pytest-qt, offscreen)."""


import numpy as np
import pytest

pytest.importorskip("PyQt6")

from gui_helpers import drag, wait_for_result
from PyQt6.QtCore import Qt

from badpix_inspector.gui.histogram_panel import fraction_beyond
from badpix_inspector.io import read_exposure
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
        value = read_exposure(entry.exposure.path).sci[row, column]  # read whole, apart
        assert table.item(number, 2).text() == f"{value:.5g}"
    minimum_row = [table.item(n, 5).text() for n in range(len(result.used))].index("◀ minimum")
    assert minimum_row == result.source_of(row, column)
    assert "flagged" in window.inspector.title.text()
    assert f"x={column + 1} y={row + 1} (FITS, 1-based)" in window.inspector.title.text()
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


def test_a_fast_brush_stroke_paints_the_whole_way(qtbot, window):
    # Seen by a first-time user: a quick drag left separate blobs where the mouse events
    # happened to land. Two events 40 pixels apart must paint the pixels between them.
    panel = window.grid.panels["difference"]
    panel.plot.getViewBox().setRange(xRange=(0, 64), yRange=(0, 64), padding=0)
    window.brush_radius.setValue(0)
    window.named_actions["tool_flag_brush"].trigger()
    drag(qtbot, panel, (10.5, 30.5), (50.5, 30.5), steps=2)
    painted = np.argwhere(window.session.edits.forced_bad)
    assert set(map(tuple, painted)) == {(30, column) for column in range(10, 51)}
