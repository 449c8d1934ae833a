"""The image panels as a person uses them: keys, clicks, the wheel and menus (offscreen)."""

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)
from display_helpers import (  # noqa: F401 (fixtures)
    RIGHT,
    click,
    exceptions,
    view_to_widget,
    wheel,
)
from gui_helpers import wait_for_result
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication

import badpix_inspector.gui.scaling as scaling_module
from badpix_inspector.gui.image_panel import COLORMAPS, colormap_lut, colour_table
from badpix_inspector.gui.scaling import LIMITS, NAN_INDEX, STRETCHES, display_indices
from badpix_inspector.io import read_exposure

# Any exception that reaches sys.excepthook (a slot that raised) fails the test.
pytestmark = pytest.mark.usefixtures("exceptions")

STRETCH_OBJECTS = {"linear": LinearStretch(), "log": LogStretch(), "sqrt": SqrtStretch(),
                   "asinh": AsinhStretch()}


def _pixel(panel, row, column):
    """The viewport point at the centre of pixel (row, column) of ``panel``."""
    return view_to_widget(panel.graphics, panel.plot.getViewBox(), column + 0.5, row + 0.5)


def _choose(combo, text):
    """Pick an entry of a combo box, as a click on the entry does."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)


def _key(qtbot, widget, key, modifier=Qt.KeyboardModifier.NoModifier):
    widget.setFocus()
    qtbot.keyClick(widget, key, modifier)


def test_blink_keeps_layout_and_zoom_and_escape_leaves_it(qtbot, window):
    grid = window.grid
    result = window.session.result
    science = grid.panels["science"]
    geometry = {key: panel.geometry() for key, panel in grid.panels.items()}
    ranges = grid.view_ranges()
    levels = science.levels()
    seen = []
    for _ in range(len(result.used) + 1):
        _key(qtbot, science.graphics, Qt.Key.Key_B)
        qtbot.wait(20)
        seen.append(science.title.full_text)
        assert {key: panel.geometry() for key, panel in grid.panels.items()} == geometry
        assert grid.view_ranges() == ranges
        assert science.levels() == levels  # the scale stays under the eye
    assert grid.blinking and all("— blink" in text for text in seen)
    # Each exposure is named by what tells it apart from the others.
    assert len({text.split(" — ")[0] for text in seen}) == len(seen)
    assert science.title.width() == geometry["science"].width() - \
        sum(widget.width() for widget in (science.limits, science.minimum, science.maximum,
                                          science.stretch)) - 8 - 4 * 3
    assert science.data is result.used[0].exposure.sci  # full circle: the science again
    _key(qtbot, science.graphics, Qt.Key.Key_B)
    # The next exposure is not kept in memory: read again from its file (on another
    # thread, the title says so meanwhile), the same values.
    assert result.used[1].exposure.sci is None
    qtbot.waitUntil(lambda: science.data is not result.used[0].exposure.sci)
    assert "reading" not in science.title.full_text
    np.testing.assert_array_equal(science.data,
                                  read_exposure(result.used[1].exposure.path).sci)
    with qtbot.waitSignal(grid.blink_changed) as blink_signal:
        _key(qtbot, science.graphics, Qt.Key.Key_Escape)
    assert blink_signal.args == [""]
    assert not grid.blinking and science.data is result.science
    assert science.title.full_text == science.default_title
    assert grid.stop_blink() is False  # nothing left to stop


def test_colour_bar_ticks_sit_where_their_colour_is(qtbot, window):
    panel = window.grid.panels["difference"]
    for stretch in STRETCHES:
        _choose(panel.stretch, stretch)
        low, high = panel.levels()
        ticks = panel.colorbar.axis._tickLevels[0]  # what the axis draws
        assert len(ticks) >= 3
        values = [value for _, value, _ in panel.colorbar_ticks()]
        positions = [position for position, _ in ticks]
        expected = STRETCH_OBJECTS[stretch](np.clip((np.array(values) - low) / (high - low),
                                                    0, 1))
        np.testing.assert_allclose(positions, expected, atol=1e-9)
        # The bar shows the colour map evenly: the colour at a tick's place is the colour
        # the image gives that tick's value.
        bar = panel.colorbar.colorMap().map(np.array(positions), mode="byte")[:, :3]
        np.testing.assert_allclose(bar, panel.colours_of(values)[:, :3], atol=12)
        # What is drawn is those colours: the image's indices through its colour table.
        data = panel.data
        row, column = np.argwhere(np.isfinite(data))[len(values)]
        drawn = panel.image.lut[panel.image.image[row, column]]
        np.testing.assert_array_equal(drawn, panel.colours_of(data[row, column])[0])
        gaps = np.diff(values)
        if stretch == "linear":
            assert gaps.max() / gaps.min() < 1.6
        else:  # faint values get more of the bar: ticks crowd at the low end
            assert gaps[-1] > 1.5 * gaps[0]


@pytest.mark.parametrize("choice", [text for text in LIMITS if text != "manual"])
def test_limit_choices_match_astropy(window, choice):
    panel = window.grid.panels["combined"]
    _choose(panel.limits, choice)
    data = window.session.result.combined
    finite = data[np.isfinite(data)]
    if choice == "zscale":
        expected = ZScaleInterval().get_limits(finite)
    elif choice == "min–max":
        expected = (finite.min(), finite.max())
    else:
        expected = PercentileInterval(float(choice.split()[0])).get_limits(finite)
    assert panel.levels() == pytest.approx(tuple(float(v) for v in expected), rel=1e-6)
    _assert_drawn_with_limits(panel)
    assert panel.minimum.text() == f"{panel.levels()[0]:.4g}"


def test_limits_are_computed_once_per_image_not_per_frame(qtbot, window, monkeypatch):
    calls = []
    # Limits are computed where the panels' display cache asks for them (on the GUI
    # thread for a change of view, on the session's worker for a new result).
    original = scaling_module.image_limits
    monkeypatch.setattr(scaling_module, "image_limits",
                        lambda *args: calls.append(args[1]) or original(*args))
    grid = window.grid
    science = grid.panels["science"]
    for _ in range(6):
        _key(qtbot, science.graphics, Qt.Key.Key_B)
    for stretch in STRETCHES:
        _choose(science.stretch, stretch)
    grid.set_colormap("viridis", inverted=True)
    assert calls == []
    _choose(science.limits, "99 %")
    _choose(science.limits, "zscale")
    _choose(science.limits, "99 %")
    assert calls == ["99 %"]  # zscale was known; 99 % is kept once computed
    window.session.set_parameters(kernel_size=5)
    wait_for_result(qtbot, window)
    # New filtered and difference images: limits once each; combined and science kept.
    assert sorted(calls[1:]) == ["zscale", "zscale"]


def test_manual_limits_are_typed(qtbot, window):
    panel = window.grid.panels["science"]
    for edit, text in ((panel.minimum, "-0.5"), (panel.maximum, "2.5")):
        edit.setFocus()
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert panel.limits.currentText() == "manual"
    assert panel.levels() == (-0.5, 2.5)
    _assert_drawn_with_limits(panel)
    ticks = panel.colorbar_ticks()
    assert [value for _, value, _ in ticks] == [0, 1, 2]  # round values within the limits
    panel.maximum.setFocus()
    panel.maximum.selectAll()
    qtbot.keyClicks(panel.maximum, "-3")
    qtbot.keyClick(panel.maximum, Qt.Key.Key_Return)
    assert panel.levels() == (-0.5, 2.5)  # a maximum below the minimum is refused
    assert "red" in panel.maximum.styleSheet()
    window.session.set_parameters(kernel_size=7)
    wait_for_result(qtbot, window)
    assert panel.levels() == (-0.5, 2.5)  # manual limits hold for new images too


def _assert_drawn_with_limits(panel):
    """The panel draws its data with its limits: the indices Qt gets are those values'."""
    low, high = panel.levels()
    expected = display_indices(panel.data, (low, high), panel.stretch.currentText())
    np.testing.assert_array_equal(panel.image.image, expected)
    assert panel.image.levels is None  # the indices are drawn as they are


def _open_menu(qtbot, panel, row, column):
    click(panel.graphics.viewport(), _pixel(panel, row, column), RIGHT)
    menu = panel.plot.getViewBox().menu
    assert menu is not None and menu.isVisible()
    return menu, {action.text(): action for action in menu.actions()}


def test_right_click_menu_colour_map_invert_copy_and_fit(qtbot, window):
    grid = window.grid
    panel = grid.panels["difference"]
    selected = window.session.selected
    _, actions = _open_menu(qtbot, panel, 20, 30)
    assert "View All" not in actions and "Export..." not in actions  # not pyqtgraph's menu
    assert window.session.selected == selected  # a right click selects nothing
    colours = {action.text(): action for action in actions["Colour map"].menu().actions()}
    assert list(colours) == list(COLORMAPS)
    with qtbot.waitSignal(grid.colormap_changed) as changed:
        colours["magma"].trigger()
    assert changed.args == ["magma", False]
    for key, shown in grid.panels.items():
        stretch = shown.stretch.currentText()
        np.testing.assert_array_equal(shown.image.lut, colour_table("magma"), key)
        np.testing.assert_array_equal(shown.image.image, display_indices(
            shown.data, shown.levels(), stretch), key)
    _, actions = _open_menu(qtbot, panel, 20, 30)
    actions["Invert colour map"].trigger()
    assert grid.colormap() == ("magma", True)
    lut = grid.panels["science"].image.lut
    np.testing.assert_array_equal(lut[0], colormap_lut("magma")[-1])
    np.testing.assert_array_equal(lut[0], colour_table("magma")[NAN_INDEX - 1])
    assert lut[NAN_INDEX][3] == 0  # NaN stays transparent
    _, actions = _open_menu(qtbot, panel, 20, 30)
    copy = next(action for text, action in actions.items() if text.startswith("Copy pixel"))
    assert "x=31 y=21 (FITS, 1-based) · [20, 30] (numpy)" in copy.text()  # the readout's words
    copy.trigger()
    text = QGuiApplication.clipboard().text()
    value = float(window.session.result.difference[20, 30])
    assert "x=31 y=21 (FITS, 1-based) · [20, 30] (numpy)" in text
    assert f"difference={value:.6g}" in text
    panel.plot.getViewBox().setRange(xRange=(10, 20), yRange=(10, 20), padding=0)
    assert not grid.shows_whole_detector()
    _, actions = _open_menu(qtbot, panel, 15, 15)
    actions["Fit view (Home)"].trigger()
    assert grid.shows_whole_detector()


def test_export_png_from_the_panel_menu(qtbot, window, tmp_path, monkeypatch):
    from PyQt6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *args, **kwargs: (str(tmp_path / "science.png"), "PNG (*.png)")))
    _, actions = _open_menu(qtbot, window.grid.panels["science"], 5, 5)
    actions["Export PNG of this panel…"].trigger()
    assert (tmp_path / "science.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markers_are_drawn_on_every_panel(window):
    grid = window.grid
    grid.set_markers([(5, 7, "1"), (20, 30, "hot pixel")])
    for panel in grid.panels.values():
        x, y = panel.markers.getData()
        np.testing.assert_array_equal(x, [7.5, 30.5])
        np.testing.assert_array_equal(y, [5.5, 20.5])
        assert [item.textItem.toPlainText() for item in panel.marker_labels] == ["1",
                                                                                  "hot pixel"]
        assert all(item.scene() is panel.plot.scene() for item in panel.marker_labels)
    grid.set_markers([])
    assert all(len(panel.markers.getData()[0]) == 0 and not panel.marker_labels
               for panel in grid.panels.values())


def test_enlarging_the_window_refits_unless_zoomed_in(qtbot, window):
    grid = window.grid
    rows, columns = window.session.result.science.shape
    window.resize(1000, 700)
    qtbot.wait(100)
    grid.reset_view()
    before = grid.panels["combined"].graphics.width()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: grid.panels["combined"].graphics.width() > before)
    qtbot.wait(50)

    def fitted():
        (x0, x1), (y0, y1) = grid.view_ranges()
        # Whole and tight: one direction is filled (padding 1 % each side).
        return grid.shows_whole_detector() and ((x1 - x0) < columns * 1.03 or
                                                (y1 - y0) < rows * 1.03)

    qtbot.waitUntil(fitted, timeout=3000)
    panel = grid.panels["combined"]
    for _ in range(3):  # the wheel, over the middle of the image
        wheel(panel.graphics.viewport(), _pixel(panel, rows // 2, columns // 2), 1)
    zoomed = grid.view_ranges()
    assert not grid.shows_whole_detector()
    window.resize(1700, 1050)
    qtbot.waitUntil(lambda: grid.panels["combined"].graphics.width() > 0)
    qtbot.wait(100)
    (x0, x1), _ = grid.view_ranges()
    assert not grid.shows_whole_detector()
    assert (x0 + x1) / 2 == pytest.approx(sum(zoomed[0]) / 2, abs=2)  # still where it was


def test_display_state_round_trip(qtbot, window):
    from badpix_inspector.gui.image_panels import ImageGrid

    grid = window.grid
    grid.set_colormap("cividis", inverted=True)
    _choose(grid.panels["difference"].stretch, "asinh")
    _choose(grid.panels["science"].limits, "95 %")
    combined = grid.panels["combined"]
    for edit, text in ((combined.minimum, "1"), (combined.maximum, "4")):
        edit.setFocus()
        edit.selectAll()
        qtbot.keyClicks(edit, text)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    state = grid.display_state()
    assert state["panels"]["combined"] == {"limits": "manual", "stretch": "linear",
                                           "manual": [1.0, 4.0]}
    other = ImageGrid()
    qtbot.addWidget(other)
    other.set_display_state(state)
    assert other.display_state() == state
    other.set_display_state({"colormap": "nonsense", "panels": {"nope": {}}})  # ignored
    assert other.display_state() == state


def test_limits_and_ticks_without_a_window():
    from badpix_inspector.gui.scaling import colorbar_ticks, image_limits

    data = np.arange(1000, dtype=float).reshape(20, 50)
    data[0, :5] = np.nan
    assert image_limits(data, "min–max") == (5.0, 999.0)
    assert image_limits(data, "manual", (-1.0, 2.0)) == (-1.0, 2.0)
    low, high = image_limits(data, "90 %")
    assert (low, high) == pytest.approx(tuple(np.percentile(data[np.isfinite(data)], [5, 95])))
    assert image_limits(np.full((4, 4), 3.0), "zscale")[1] > 3.0  # a flat image still has a span
    assert image_limits(np.full((4, 4), np.nan), "zscale") == (0.0, 1.0)
    with pytest.raises(ValueError, match="limits must be one of"):
        image_limits(data, "98 %")
    with pytest.raises(ValueError, match="manual limits need"):
        image_limits(data, "manual")
    linear = colorbar_ticks(-0.8, 20.2, "linear")
    assert [value for _, value, _ in linear] == [0, 5, 10, 15, 20]
    log = colorbar_ticks(0.0, 1e6, "log")
    positions = [position for position, _, _ in log]
    assert positions == sorted(positions) and min(np.diff(positions)) > 0.1
    np.testing.assert_allclose(positions, LogStretch()(np.array([v for _, v, _ in log]) / 1e6))
    assert colorbar_ticks(1.0, 1.0, "log") == []


def test_nan_pixels_show_their_colour_and_the_default_map_is_grey(qtbot, window):
    from badpix_inspector.gui.image_panel import NAN_COLOUR

    panel = window.grid.panels["science"]
    assert panel.colormap == "greys"  # flags stand out on it (a fresh window)
    science = window.session.result.science
    rows, columns = np.nonzero(np.isnan(science))
    assert rows.size
    window.grid.set_view((columns[0] - 2, columns[0] + 3), (rows[0] - 2, rows[0] + 3))
    window.grid.set_overlay_visible(False)
    qtbot.wait(50)
    shot = panel.graphics.grab().toImage()
    point = view_to_widget(panel.graphics, panel.plot.getViewBox(), columns[0] + 0.5,
                           rows[0] + 0.5)
    colour = shot.pixelColor(int(point.x() * shot.devicePixelRatio()),
                             int(point.y() * shot.devicePixelRatio()))
    assert (colour.red(), colour.green(), colour.blue()) == NAN_COLOUR
