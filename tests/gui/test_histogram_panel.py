"""The histogram dock, driven with the mouse (pytest-qt, offscreen)."""

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from display_helpers import (  # noqa: F401 (fixtures)
    LEFT,
    RIGHT,
    click,
    exceptions,
    move,
    press,
    release,
    view_to_widget,
    widget_to_view,
)
from gui_helpers import wait_for_result
from PyQt6.QtCore import QPointF

# Any exception that reaches sys.excepthook (a slot that raised) fails the test.
pytestmark = pytest.mark.usefixtures("exceptions")


def _drag_line(qtbot, window, side, pixels):
    """Drag a threshold line by ``pixels`` in steps, letting results arrive on the way.

    Returns the data value under the mouse where it let go (in the view as it was when
    the drag began: what the user saw), and the x range before and at the end.
    """
    histogram = window.histogram
    window.docks["histogram"].raise_()
    plot, view = histogram.plot, histogram.plot.getViewBox()
    viewport = plot.viewport()
    line = histogram.lines[side]
    y_middle = float(np.mean(view.viewRange()[1]))
    start = view_to_widget(plot, view, line.value(), y_middle)
    x_before = list(view.viewRange()[0])
    name = "flagfrac_lower" if side == "low" else "flagfrac_upper"
    fraction_before = getattr(window.session.parameters, name)
    move(viewport, start)
    press(viewport, start)
    position = QPointF(start)
    step = 6 if pixels > 0 else -6
    for _ in range(abs(pixels) // 6):
        position = QPointF(position.x() + step, position.y())
        move(viewport, position, LEFT)
        qtbot.wait(25)
    # Results computed during the drag arrive while the line is still held.
    qtbot.waitUntil(lambda: getattr(window.session.parameters, name) != fraction_before,
                    timeout=5000)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10_000)
    qtbot.wait(100)
    x_during = list(view.viewRange()[0])
    released_at = widget_to_view(plot, view, position)[0]
    release(viewport, position)
    return released_at, x_before, x_during


@pytest.mark.parametrize(("side", "pixels"), [("high", -86), ("low", 60)])
def test_a_dragged_line_stays_under_the_mouse_and_sets_the_fraction_where_it_let_go(
        qtbot, window, side, pixels):
    histogram = window.histogram
    axis = histogram.plot.getAxis("bottom")
    released_at, x_before, x_during = _drag_line(qtbot, window, side, pixels)
    assert x_during == x_before  # the plot did not re-range under the mouse
    assert "x0.001" not in axis.labelString() and not axis.autoSIPrefix
    line = histogram.lines[side]
    pixel_width = (x_before[1] - x_before[0]) / histogram.plot.viewport().width()
    assert line.value() == pytest.approx(released_at, abs=pixel_width)
    difference = window.session.result.difference
    finite = int(np.isfinite(difference).sum())
    beyond = (difference < line.value()) if side == "low" else (difference > line.value())
    expected = int(beyond.sum()) / finite
    name = "flagfrac_lower" if side == "low" else "flagfrac_upper"
    assert getattr(window.session.parameters, name) == pytest.approx(expected, rel=1e-12)
    assert 0.001 < expected < 0.2  # moved by the drag, not run away to the 0.5 cap
    result = wait_for_result(qtbot, window)
    assert float(getattr(result.statistics.thresholds, side)) == pytest.approx(
        line.value(), abs=pixel_width)


def test_the_range_stays_after_a_release_that_keeps_both_lines_in_view(qtbot, window):
    view = window.histogram.plot.getViewBox()
    _, x_before, _ = _drag_line(qtbot, window, "high", -30)
    wait_for_result(qtbot, window)
    qtbot.wait(50)
    assert list(view.viewRange()[0]) == x_before


def test_right_click_shows_our_menu_and_fit_view_brings_both_lines_back(qtbot, window):
    histogram = window.histogram
    window.docks["histogram"].raise_()
    plot, view = histogram.plot, histogram.plot.getViewBox()
    view.setXRange(-1e6, -1e6 + 1, padding=0)  # lost somewhere far away
    middle = QPointF(plot.viewport().width() / 2, plot.viewport().height() / 2)
    click(plot.viewport(), middle, RIGHT)
    menu = view.menu
    assert menu is not None and menu.isVisible()
    texts = [action.text() for action in menu.actions()]
    assert texts == ["Fit view", "Export PNG…"]  # not pyqtgraph's "View All", "Mouse Mode"…
    menu.actions()[0].trigger()
    low, high = view.viewRange()[0]
    assert low < histogram.lines["low"].value() < histogram.lines["high"].value() < high


def test_export_png_from_the_menu(qtbot, window, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    target = tmp_path / "histogram"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "PNG (*.png)")))
    plot = window.histogram.plot
    click(plot.viewport(), QPointF(50, 50), RIGHT)
    plot.getViewBox().menu.actions()[1].trigger()
    assert (tmp_path / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _ = (press, release)  # the gestures above are built from these


def test_the_lines_hold_still_until_a_new_kernels_distribution_comes(qtbot, window):
    from badpix_inspector.inspection import Snapshot, is_provisional

    session, histogram = window.session, window.histogram
    wait_for_result(qtbot, window)
    assert all(line.movable for line in histogram.lines.values())
    # A new kernel's first result (as the worker gives it before sorting): the lines
    # move to its thresholds but cannot be dragged while the distribution is unknown.
    snapshot = Snapshot(session.result.generation + 1, tuple(session.entries),
                        session.parameters.replace(kernel_size=9), session.dispaxis, None)
    provisional = session._cache.compute(snapshot, provisional=True)
    assert is_provisional(provisional)
    session.result_ready.emit(provisional)
    qtbot.waitUntil(lambda: not any(line.movable for line in histogram.lines.values()))
    assert histogram.values is None
    assert histogram.lines["high"].value() == pytest.approx(
        float(provisional.statistics.thresholds.high))
    session.set_parameters(kernel_size=11)  # a complete result brings them back
    wait_for_result(qtbot, window)
    qtbot.waitUntil(lambda: all(line.movable for line in histogram.lines.values()))
