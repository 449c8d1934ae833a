"""The pixel inspector, reached by clicking an image (pytest-qt, offscreen)."""

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from display_helpers import (  # noqa: F401 (fixtures)
    RIGHT,
    click,
    exceptions,
    view_to_widget,
)
from PyQt6.QtCore import QPointF, Qt

from badpix_inspector.gui.inspector_panel import exposure_labels
from badpix_inspector.model.markers import pixel_label

pytestmark = pytest.mark.usefixtures("exceptions")


def _click_pixel(qtbot, window, row, column):
    panel = window.grid.panels["difference"]
    view = panel.plot.getViewBox()
    click(panel.graphics.viewport(), view_to_widget(panel.graphics, view, column + 0.5,
                                                    row + 0.5))
    qtbot.waitUntil(lambda: window.inspector.cut is not None)


def test_a_clicked_pixel_shows_with_a_legend_naming_each_exposure(qtbot, window):
    result = window.session.result
    row, column = (int(v) for v in np.argwhere(result.flags)[0])
    _click_pixel(qtbot, window, row, column)
    assert window.session.selected == (row, column)
    inspector = window.inspector
    assert pixel_label(row, column) in inspector.title.text()  # both conventions, named
    legend = [label.text for _, label in inspector.legend.items]
    assert legend == ["threshold band", "smoothed", "combined", "flagged"]
    plot = inspector.plot
    click(plot.viewport(), QPointF(plot.viewport().width() / 2, plot.viewport().height() / 2),
          RIGHT)
    menu = {action.text(): action for action in plot.getViewBox().menu.actions()}
    menu["Name the exposures in the legend"].trigger()
    legend = [label.text for _, label in inspector.legend.items]
    names = exposure_labels([entry.name for entry in result.used],
                            [entry.role for entry in result.used])
    assert legend[:len(names)] == names
    assert [label.split(" (")[-1] for label in names] == [f"{entry.role})"
                                                          for entry in result.used]
    for label, entry in zip(names, result.used, strict=True):
        core = label.split(" (")[0].strip("…")
        assert core in entry.name  # the part of the file name that tells it apart
    assert {"smoothed", "combined", "threshold band", "flagged"} <= set(legend)
    # The table's rows carry their curve's colour, file name and role.
    table = inspector.table
    for number, entry in enumerate(result.used):
        assert table.item(number, 0).text() == entry.name
        short = table.item(number, 0).data(Qt.ItemDataRole.UserRole)  # what the cell shows
        assert short in entry.name and short in names[number]
        assert table.item(number, 1).text() == entry.role
        colour = table.item(number, 0).data(Qt.ItemDataRole.DecorationRole)
        curve = inspector.plot.getPlotItem().listDataItems()[number]
        assert colour.getRgb()[:3] == curve.opts["pen"].color().getRgb()[:3]


def test_labels_tell_exposures_apart():
    labels = exposure_labels(
        ["jw01523003001_03102_00001_mirifulong_rate.fits",
         "jw01523004001_03102_00002_mirifulong_rate.fits"], ["science", "background"])
    assert labels == ["…3001_03102_00001… (science)", "…4001_03102_00002… (background)"]
    assert exposure_labels(["a_rate.fits"], ["science"]) == ["a_rate (science)"]


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_plot_is_usable_and_the_table_never_scrolls_sideways(qtbot, window, size):
    window.resize(*size)
    result = window.session.result
    _click_pixel(qtbot, window, 40, 60)
    qtbot.wait(200)
    inspector = window.inspector
    assert inspector.isVisible()
    assert inspector.plot.height() >= 140 and inspector.plot.width() >= 240
    table = inspector.table
    columns = table.horizontalHeader()
    used = sum(columns.sectionSize(n) for n in range(table.columnCount()))
    assert used <= table.viewport().width()  # every column in view: nothing to scroll to
    assert table.horizontalScrollBar().maximum() == 0
    assert table.rowCount() == len(result.used)
    # The axis labels are inside the plot's widget (not clipped away).
    for name in ("left", "bottom"):
        label = inspector.plot.getAxis(name).label
        margin = label.document().documentMargin()  # blank space around the text
        text = label.boundingRect().adjusted(margin, margin, -margin, -margin)
        box = inspector.plot.mapFromScene(label.mapRectToScene(text))
        assert inspector.plot.rect().contains(box.boundingRect()), name


def test_right_click_on_the_plot_shows_our_menu(qtbot, window):
    _click_pixel(qtbot, window, 40, 60)
    plot = window.inspector.plot
    click(plot.viewport(), QPointF(plot.viewport().width() / 2,
                                   plot.viewport().height() / 2), RIGHT)
    menu = plot.getViewBox().menu
    assert [action.text() for action in menu.actions()] == [
        "Fit view", "Show legend", "Name the exposures in the legend", "Export PNG…"]
    menu.actions()[1].trigger()
    assert not window.inspector.legend.isVisible()


def test_the_table_decodes_every_exposures_dq_read_from_its_file(qtbot, window):
    from astropy.io import fits

    from badpix_inspector.core.dqflags import decode_dq

    result = window.session.result
    row, column = (int(v) for v in np.argwhere(result.flags)[0])
    _click_pixel(qtbot, window, row, column)
    for number, entry in enumerate(result.used):
        value = int(fits.getdata(entry.exposure.path, "DQ")[row, column])
        expected = ", ".join(decode_dq(value)) or "GOOD"
        assert window.inspector.table.item(number, 4).text() == expected, entry.name


def test_exposures_read_again_from_changed_files_are_refused_with_a_message(
        qtbot, settings_dir, cache, small_nirspec, dialogs, tmp_path):
    import shutil

    from gui_helpers import wait_for_result

    from badpix_inspector.gui import create_main_window

    copies = []
    for path in small_nirspec.exposures:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    window = create_main_window(copies)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    result = wait_for_result(qtbot, window)
    # Only the science exposure's SCI is kept; the inspector reads the others' cut from
    # their files and gives what they hold.
    assert all(entry.exposure.released for entry in result.used[1:])
    row, column = (int(v) for v in np.argwhere(result.flags)[0])
    _click_pixel(qtbot, window, row, column)
    cut = window.inspector.cut
    for number, path in enumerate(copies):
        from badpix_inspector.io import read_exposure

        sci = read_exposure(path).sci
        np.testing.assert_array_equal(cut.raw[number], sci[row, cut.positions])
    # A selfcal file rewritten meanwhile: neither the inspector nor blink shows it as the
    # exposure that was combined; each says so.
    copies[2].write_bytes(copies[2].read_bytes())
    width = window.width()
    window.session.select_pixel(row, column + 1)
    qtbot.waitUntil(lambda: "changed on disk" in window.inspector.title.text())
    assert window.inspector.cut is None and copies[2].name in window.inspector.title.text()
    qtbot.wait(50)
    assert window.width() == width  # the message wraps; it does not widen the window
    failed = []
    window.grid.blink_failed.connect(failed.append)
    for _ in range(3):
        window.named_actions["blink"].trigger()
        qtbot.wait(300)  # each frame is read on another thread
    assert failed and "changed on disk" in failed[0] and copies[2].name in failed[0]
    dialogs.buttons[:] = ["discard"] * 3
    window.close()


def test_a_click_outside_the_detector_selects_nothing(qtbot, window):
    result = window.session.result
    row, column = (int(v) for v in np.argwhere(result.flags)[0])
    _click_pixel(qtbot, window, row, column)
    panel = window.grid.panels["difference"]
    view = panel.plot.getViewBox()
    window.grid.reset_view()
    click(panel.graphics.viewport(), view_to_widget(panel.graphics, view, -3.5, row + 0.5))
    assert window.session.selected == (row, column)  # not the edge pixel of that row
    assert "outside the detector" in window.statusBar().currentMessage()
