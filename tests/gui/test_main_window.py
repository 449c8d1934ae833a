"""The inspector window, driven as a user would (pytest-qt, offscreen)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

pytest.importorskip("PyQt6")

from gui_helpers import wait_for_result
from PyQt6.QtCore import QEvent, QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QProgressBar,
    QSlider,
    QSpinBox,
)

from badpix_inspector.cli import main as command
from badpix_inspector.gui import create_main_window
from badpix_inspector.gui.parameters_panel import (
    OddSpinBox,
    fraction_to_slider,
    slider_to_fraction,
)
from badpix_inspector.io import read_parameter_file


def spin(window, name, kind=QSpinBox):
    return window.findChild(kind, name)


def test_object_names_and_first_result(window):
    result = window.session.result
    assert result.status == "complete"
    assert spin(window, "kernel_size").value() == 15
    assert spin(window, "flagfrac_lower", QDoubleSpinBox).value() == 0.001
    assert spin(window, "flagfrac_upper", QDoubleSpinBox).value() == 0.001
    count = window.findChild(QLabel, "flag_count")
    assert count.text().replace(",", "") == str(result.statistics.n_total)


def test_controls_drive_the_model(qtbot, window):
    spin(window, "kernel_size").setValue(9)
    assert window.session.parameters.kernel_size == 9
    spin(window, "flagfrac_upper", QDoubleSpinBox).setValue(0.0125)
    assert window.session.parameters.flagfrac_upper == 0.0125
    window.findChild(QSlider, "flagfrac_lower_slider").setValue(fraction_to_slider(0.002))
    assert window.session.parameters.flagfrac_lower == pytest.approx(0.002, rel=1e-2)
    window.findChild(QSlider, "kernel_slider").setValue(10)
    assert window.session.parameters.kernel_size == 21
    window.findChild(QComboBox, "dispaxis").setCurrentIndex(3)
    assert window.session.dispaxis_choice is None and window.session.dispaxis is None
    window.parameters.force_single.setChecked(True)
    assert window.session.parameters.force_single is True
    qtbot.mouseClick(window.parameters.defaults, Qt.MouseButton.LeftButton)
    assert window.session.parameters.kernel_size == 15
    assert window.session.dispaxis_choice == "auto" and window.session.dispaxis == 1
    result = wait_for_result(qtbot, window)
    assert result.parameters.kernel_size == 15


def test_model_drives_the_controls(window):
    window.session.set_parameters(kernel_size=7, flagfrac_lower=0.02, flagfrac_upper=0.3)
    assert spin(window, "kernel_size").value() == 7
    assert window.findChild(QSlider, "kernel_slider").value() == 3
    assert spin(window, "flagfrac_lower", QDoubleSpinBox).value() == 0.02
    assert window.findChild(QSlider, "flagfrac_lower_slider").value() == fraction_to_slider(0.02)
    assert spin(window, "flagfrac_upper", QDoubleSpinBox).value() == 0.3
    window.session.set_dispaxis_choice(2)
    assert window.findChild(QComboBox, "dispaxis").currentIndex() == 2
    window.session.set_parameters(force_single=True)
    assert window.parameters.force_single.isChecked()
    # The model was not changed back by the widgets' echo.
    assert window.session.parameters.kernel_size == 7
    assert window.session.parameters.flagfrac_lower == 0.02


def test_a_fraction_change_updates_counts_and_overlay_a_kernel_change_the_images(qtbot, window):
    first = window.session.result
    panels = window.grid.panels
    window.session.set_parameters(flagfrac_upper=0.01)
    second = wait_for_result(qtbot, window)
    assert second.statistics.n_high > first.statistics.n_high
    count = window.findChild(QLabel, "flag_count").text().replace(",", "")
    assert count == str(second.statistics.n_total)
    assert panels["smoothed"].data is first.smoothed  # the filtered image was reused
    assert window.grid._labels is second.label_layers
    window.session.set_parameters(kernel_size=5)
    third = wait_for_result(qtbot, window)
    assert panels["smoothed"].data is third.smoothed is not first.smoothed
    assert panels["difference"].data is third.difference
    assert panels["combined"].data is first.combined


def test_role_edit_recomputes(qtbot, window):
    first = window.session.result
    role = window.exposures.table.cellWidget(1, 1)
    assert role.currentText() == "background"
    role.setCurrentText("ignored")
    assert window.session.entries[1].role == "ignored"
    result = wait_for_result(qtbot, window)
    assert result.combined is not first.combined
    assert [entry.role for entry in result.used] == ["science", "selfcal", "selfcal"]


def test_saved_product_equals_the_commands(qtbot, window, small_nirspec, tmp_path, dialogs):
    window.session.set_parameters(kernel_size=7, flagfrac_upper=0.005, save_flagged_bkg=True)
    wait_for_result(qtbot, window)
    (tmp_path / "window").mkdir()
    dialogs.folders.append(tmp_path / "window")
    window.named_actions["save"].trigger()
    written = sorted((tmp_path / "window").iterdir())
    assert [path.name for path in written] == [
        "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits",
        "jw01523003001_03102_00001_nrs1_badpix_selfcal_bkg_0.fits",
    ]
    assert command([str(small_nirspec.association), "--output_dir", str(tmp_path / "cli"),
                    "--kernel_size", "7", "--flagfrac_upper", "0.005", "--save_flagged_bkg",
                    "-q"]) == 0
    for path in written:
        with fits.open(path) as ours, fits.open(tmp_path / "cli" / path.name) as theirs:
            for name in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE"):
                assert np.array_equal(ours[name].data, theirs[name].data, equal_nan=True)
            # The science product is COMPLETE; backgrounds keep their input's keyword, as
            # jwst 3.0.0 writes them: the window's products are the command's.
            assert ours[0].header.get("S_BPXSLF") == theirs[0].header.get("S_BPXSLF")
    with fits.open(written[0]) as science:
        assert science[0].header["S_BPXSLF"] == "COMPLETE"


def test_export_parameters_and_strun_line(window, tmp_path, dialogs):
    window.session.set_parameters(kernel_size=11, flagfrac_lower=0.003)
    dialogs.save_paths.append(tmp_path / "tuned.asdf")
    window.named_actions["export_parameters"].trigger()
    assert read_parameter_file(tmp_path / "tuned.asdf") == window.session.parameters
    window.named_actions["copy_strun"].trigger()
    line = QApplication.clipboard().text()
    assert line.startswith("strun calwebb_spec2 ")
    assert "--steps.badpix_selfcal.kernel_size=11" in line
    assert "--steps.badpix_selfcal.flagfrac_lower=0.003" in line
    assert "--steps.badpix_selfcal.skip=False" in line


def test_cursor_readout(window):
    result = window.session.result
    row, column = np.argwhere(result.flags)[0]
    text = window.describe_pixel(int(column), int(row))
    # Both conventions, each named: FITS/DS9 1-based and numpy 0-based.
    assert f"x={column + 1} y={row + 1} (FITS, 1-based)" in text
    assert f"[{row}, {column}] (numpy)" in text
    assert f"combined={result.combined[row, column]:.5g}" in text
    assert f"diff={result.difference[row, column]:.5g}" in text
    assert "FLAGGED" in text and "min from jw" in text
    dq_row, dq_column = np.argwhere(np.asarray(result.science_dq) & 1)[0]
    assert "DO_NOT_USE" in window.describe_pixel(int(dq_column), int(dq_row))
    assert "outside" in window.describe_pixel(-5, 3)


def test_drag_and_drop_opens_files(qtbot, settings_dir, small_nirspec):
    window = create_main_window()
    qtbot.addWidget(window)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in (small_nirspec.science,
                                                        small_nirspec.selfcals[0])])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert [entry.role for entry in window.session.entries] == ["science", "selfcal"]
    assert wait_for_result(qtbot, window).status == "complete"
    window.close()


def test_a_bad_file_is_reported_and_the_window_keeps_working(qtbot, window, tmp_path,
                                                            dialogs):
    bad = tmp_path / "broken_rate.fits"
    bad.write_text("not FITS")
    before = len(window.session.entries)
    dialogs.open_files.append([bad])
    window.named_actions["open"].trigger()
    assert len(window.session.entries) == before
    assert "broken_rate.fits" in window.statusBar().currentMessage()
    assert dialogs.errors and "broken_rate.fits" in dialogs.errors[0][1]
    window.session.set_parameters(kernel_size=3)
    assert wait_for_result(qtbot, window).parameters.kernel_size == 3


def test_save_to_an_unwritable_folder_is_reported(window, tmp_path, dialogs):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    dialogs.folders.append(blocker / "sub")
    window.named_actions["save"].trigger()
    assert "cannot be written" in window.statusBar().currentMessage()
    assert dialogs.errors[0][0] == "Cannot save the products"


def test_settings_persist(qtbot, settings_dir, small_nirspec):
    first = create_main_window()
    qtbot.addWidget(first)
    first.colormap.setCurrentText("viridis")
    first.grid.panels["difference"].stretch.setCurrentText("asinh")
    first.close()
    second = create_main_window()
    qtbot.addWidget(second)
    assert second.colormap.currentText() == "viridis"
    assert second.grid.panels["difference"].stretch.currentText() == "asinh"
    second.close()


def test_odd_spin_box_and_log_slider():
    box = OddSpinBox()
    box.setRange(1, 151)
    assert box.fixup("14") == "15"
    assert box.validate("14", 2)[0].name == "Intermediate"
    assert box.validate("15", 2)[0].name == "Acceptable"
    assert slider_to_fraction(0) == 1e-5 and slider_to_fraction(1000) == 0.5
    assert fraction_to_slider(0.0) == 0 and fraction_to_slider(0.5) == 1000


def test_screenshot_option(tmp_path):
    shot = tmp_path / "shot.png"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
                   "XDG_CACHE_HOME": str(tmp_path / "cache"),
                   "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from badpix_inspector.gui import main; "
         "sys.exit(main(sys.argv[1:]))", "--demo", "--size", "1280x800", "--screenshot",
         str(shot)],
        capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    from PyQt6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert not (tmp_path / "config" / "badpix-inspector").exists()  # settings left alone


def test_remove_selected_exposures_and_markers(qtbot, window):
    names = [entry.name for entry in window.session.entries]
    window.exposures.table.selectRow(3)
    qtbot.mouseClick(window.exposures.remove_button, Qt.MouseButton.LeftButton)
    assert [entry.name for entry in window.session.entries] == names[:3]
    for column in (1, 2, 3):
        window.grid.hovered.emit(column, 0)
        window.named_actions["marker"].trigger()
    window.markers_panel.table.selectRow(1)
    qtbot.mouseClick(window.markers_panel.remove_button, Qt.MouseButton.LeftButton)
    assert [record["column"] for record in window.markers.records] == [1, 3]


def test_the_hint_goes_when_data_arrive_and_messages_never_cover_the_readout(
        qtbot, settings_dir, cache, small_nirspec, dialogs):
    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    readout = window.cursor_label
    assert "Open exposures" in readout.text()
    dialogs.open_files.append([small_nirspec.association])
    window.named_actions["open"].trigger()
    wait_for_result(qtbot, window)
    assert "Open exposures" not in readout.text()
    # A passing message gets the whole bar (seen cut short beside the readout): the readout
    # steps aside, so nothing is drawn over it, and comes back with the pointer.
    window.statusBar().showMessage("Saved jw01523003001_03102_00001_nrs1_badpix_selfcal.fits "
                                   "in /a/folder/that/matters", 10_000)
    assert not readout.isVisible()
    window.grid.hovered.emit(3, 4)  # the pointer back on the images
    assert window.statusBar().currentMessage() == ""
    assert readout.isVisible() and "x=4 y=5 (FITS" in readout.text()
    # M with the pointer gone from the images takes the selected pixel, not a stale one.
    QApplication.sendEvent(window.grid, QEvent(QEvent.Type.Leave))
    window.session.select_pixel(7, 9)
    window.named_actions["marker"].trigger()
    assert (window.markers.records[-1]["row"], window.markers.records[-1]["column"]) == (7, 9)
    window.named_actions["close_all"].trigger()
    assert "Open exposures" in readout.text()
    window.close()


def test_reset_layout_after_a_tiny_window(qtbot, settings_dir, cache, small_nirspec):
    window = create_main_window([small_nirspec.association])
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    parameters = window.docks["parameters"]
    wide = parameters.width()
    window.resize(400, 300)
    qtbot.wait(50)
    window.resize(1600, 1000)
    qtbot.wait(50)
    assert parameters.width() >= 240  # never the ~60 px a squeeze used to leave
    window.resizeDocks([parameters], [250], Qt.Orientation.Horizontal)
    window.docks["statistics"].setFloating(True)
    window.named_actions["reset_layout"].trigger()
    qtbot.wait(50)
    assert not window.docks["statistics"].isFloating()
    assert abs(parameters.width() - wide) <= 40
    window.close()


def test_without_a_display_one_line_and_exit_2(tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environment["XDG_CACHE_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from badpix_inspector.gui import main; "
         "sys.exit(main(sys.argv[1:]))", "--demo"],
        capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("badpix-inspector: error: no display")
    assert "--screenshot" in lines[0] and "badpix-selfcal" in lines[0] and "xvfb-run" in lines[0]


def test_at_1280x720_the_parameters_are_not_scrolled_away(qtbot, settings_dir, cache,
                                                          small_nirspec):
    window = create_main_window([small_nirspec.association])
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    wait_for_result(qtbot, window)
    for widget in (window.parameters.force_single, window.parameters.defaults):
        shown = widget.visibleRegion().boundingRect()
        assert shown.height() == widget.height(), widget.objectName()
    window.close()


def test_display_problem_is_checked_before_qt_starts():
    from badpix_inspector.gui import display_problem

    if sys.platform in ("win32", "darwin"):
        pytest.skip("these platforms always have a display")
    assert "no display" in display_problem(False, {})
    assert "no display" in display_problem(False, {"QT_QPA_PLATFORM": "xcb"})
    assert display_problem(True, {}) is None  # --screenshot goes offscreen
    assert display_problem(False, {"DISPLAY": "remotehost:0"}) is None  # left to Qt (ssh -X)
    # A local display with no X server: one line, not Qt's abort (seen: exit 134).
    assert "no X server answers on DISPLAY=:99999" in display_problem(False, {"DISPLAY": ":99999"})
    assert display_problem(False, {"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert display_problem(False, {"QT_QPA_PLATFORM": "offscreen"}) is None


def test_a_squeezed_layout_remembered_comes_back_usable(qtbot, settings_dir, cache):
    first = create_main_window()
    qtbot.addWidget(first)
    first.show()
    first.resize(400, 300)
    qtbot.wait(50)
    first.close()  # remembers geometry and docks
    second = create_main_window()
    qtbot.addWidget(second)
    second.show()
    second.resize(1600, 1000)
    qtbot.wait(50)
    assert second.docks["parameters"].width() >= 240
    assert second.docks["statistics"].width() >= 240
    second.close()


def test_the_toolbar_shows_the_colour_map_drawn_and_ctrl_i_inverts(qtbot, window, excepthook):
    from PyQt6.QtTest import QTest

    name, inverted = window.grid.colormap()
    assert window.colormap.currentText() == name  # also at the first start
    window.grid.set_colormap("viridis")  # as a panel's own right-click menu does
    assert window.colormap.currentText() == "viridis"
    window.grid.panels["combined"].graphics.setFocus()
    QTest.keyClick(window.grid.panels["combined"].graphics, Qt.Key.Key_I,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.grid.colormap() == ("viridis", not inverted)
    assert window.named_actions["invert_colormap"].isChecked() == (not inverted)
    assert not excepthook.errors


def test_an_x_display_that_is_not_there_is_one_line_not_an_abort(tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environment.update(DISPLAY=":99999", XDG_CACHE_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from badpix_inspector.gui import main; "
         "sys.exit(main(sys.argv[1:]))", "--demo"],
        capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no X server answers on DISPLAY=:99999" in lines[0]


def test_a_window_larger_than_the_screen_is_brought_within_it(qtbot, monkeypatch):
    from PyQt6.QtGui import QGuiApplication
    from PyQt6.QtWidgets import QWidget

    from badpix_inspector.gui.layout import fit_to_screen

    # As on a real screen (the offscreen platform has none to fit, on purpose).
    monkeypatch.setattr(QGuiApplication, "platformName", staticmethod(lambda: "xcb"))
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.move(300, 200)
    widget.resize(5000, 4000)  # a first start's 1500x950 on a laptop, or a bigger monitor
    fit_to_screen(widget)
    free = widget.screen().availableGeometry()
    assert free.contains(widget.geometry()), (widget.geometry(), free)


def test_a_message_outlives_a_redraw_under_a_still_pointer(qtbot, window):
    # Seen: Restore A by its shortcut, the pointer on an image, said nothing: the redraw
    # that followed refreshed the readout as if the pointer had moved, and that cleared it.
    window.grid.hovered.emit(3, 4)
    window.statusBar().showMessage("Restored A's parameters", 10_000)
    window.session.set_parameters(kernel_size=9)
    wait_for_result(qtbot, window)
    qtbot.wait(50)
    assert window.statusBar().currentMessage() == "Restored A's parameters"
    assert "x=4 y=5 (FITS" in window.cursor_label.text()  # the readout has the new values


def test_the_working_bar_shows_only_for_work_that_lasts(qtbot, window, monkeypatch):
    import time

    from badpix_inspector.gui.main_window import BUSY_DELAY_MS

    bar = window.findChild(QProgressBar, "busy")
    kernel = window.findChild(QSpinBox, "kernel_size")
    compute = window.session._cache.compute
    pause = {"seconds": 0.0}  # work that takes this long, whatever the machine's load

    def timed(*arguments, **keywords):
        time.sleep(pause["seconds"])
        return compute(*arguments, **keywords)

    monkeypatch.setattr(window.session._cache, "compute", timed)
    shown = []
    kernel.setValue(kernel.value() + 2)  # work of no time: the bar never shows
    qtbot.waitUntil(lambda: shown.append(bar.isVisible()) or not window.session.busy)
    wait_for_result(qtbot, window)
    assert not any(shown) and not bar.isVisible()
    pause["seconds"] = BUSY_DELAY_MS * 3 / 1000
    kernel.setValue(kernel.value() + 2)
    assert not bar.isVisible()
    qtbot.waitUntil(bar.isVisible, timeout=BUSY_DELAY_MS * 3)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10_000)
    assert not bar.isVisible()


def test_figures_of_a_failed_computation_say_they_are_not_up_to_date(qtbot, window, dialogs,
                                                                      monkeypatch):
    compute = window.session._cache.compute
    monkeypatch.setattr(window.session._cache, "compute", lambda snapshot, **_: 1 / 0)
    status = window.statistics.values["status"]
    kernel = window.findChild(QSpinBox, "kernel_size")
    kernel.setValue(kernel.value() + 2)
    qtbot.waitUntil(lambda: "Not up to date" in status.text())
    assert "ZeroDivisionError" in status.text()
    assert dialogs.errors  # and said at once, in a dialog
    monkeypatch.setattr(window.session._cache, "compute", compute)
    kernel.setValue(kernel.value() + 2)
    wait_for_result(qtbot, window)
    qtbot.waitUntil(lambda: "Not up to date" not in status.text())


def test_the_wheel_scrolls_past_value_boxes_until_one_is_clicked(qtbot, window):
    from display_helpers import wheel
    from PyQt6.QtCore import QPointF

    kernel = window.findChild(QSpinBox, "kernel_size")
    slider = window.findChild(QSlider, "kernel_slider")
    rule = window.decide_panel.min_fraction
    window.grid.setFocus()
    before = (kernel.value(), slider.value(), rule.value())
    for widget in (kernel, slider, rule):  # over them on the way down a dock
        wheel(widget, QPointF(widget.width() / 2, widget.height() / 2), -1)
    assert (kernel.value(), slider.value(), rule.value()) == before
    assert window.session.parameters.kernel_size == before[0]
    qtbot.mouseClick(kernel.lineEdit(), Qt.MouseButton.LeftButton)  # a person's click
    qtbot.waitUntil(kernel.hasFocus)
    wheel(kernel, QPointF(kernel.width() / 2, kernel.height() / 2), 1)
    assert kernel.value() == before[0] + 2
    wait_for_result(qtbot, window)


def test_a_failure_is_said_in_one_dialog_and_on_the_panels_until_it_is_mended(
        qtbot, window, dialogs, monkeypatch):
    compute = window.session._cache.compute
    monkeypatch.setattr(window.session._cache, "compute", lambda snapshot, **_: 1 / 0)
    kernel = window.findChild(QSpinBox, "kernel_size")
    titles = lambda: [panel.title.full_text for panel in window.grid.panels.values()]  # noqa: E731
    for _ in range(3):  # each change retries, and fails the same way
        kernel.setValue(kernel.value() + 2)
        qtbot.waitUntil(lambda: not window.session.busy)
        qtbot.wait(20)
    assert len(dialogs.errors) == 1 and "ZeroDivisionError" in dialogs.errors[0][1]
    assert all(title.endswith("not up to date") for title in titles())
    monkeypatch.setattr(window.session._cache, "compute", compute)
    kernel.setValue(kernel.value() + 2)
    wait_for_result(qtbot, window)
    assert not any("not up to date" in title for title in titles())
