"""The parameters dock driven with the mouse: sliders dragged, the layout on a small screen."""

import pytest

pytest.importorskip("PyQt6")

from display_helpers import (  # noqa: F401 (fixtures)
    LEFT,
    exceptions,
    move,
    press,
    release,
)
from gui_helpers import wait_for_result
from PyQt6.QtCore import QPointF
from PyQt6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

from badpix_inspector.gui.parameters_panel import slider_to_fraction

pytestmark = pytest.mark.usefixtures("exceptions")


def _handle_centre(slider: QSlider) -> QPointF:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    return QPointF(handle.center())


def _drag(qtbot, slider, pixels, on_the_way):
    """Drag the slider's handle by ``pixels``, calling ``on_the_way()`` before the release."""
    start = _handle_centre(slider)
    move(slider, start)
    press(slider, start)
    assert slider.isSliderDown()
    position = QPointF(start)
    for _ in range(abs(pixels) // 4):
        position = QPointF(position.x() + (4 if pixels > 0 else -4), position.y())
        move(slider, position, LEFT)
        qtbot.wait(15)
    on_the_way()
    release(slider, position)
    assert not slider.isSliderDown()


def test_the_kernel_follows_a_dragged_slider_before_the_release(qtbot, window):
    slider = window.findChild(QSlider, "kernel_slider")
    window.docks["parameters"].raise_()
    sent = []
    window.session.parameters_changed.connect(
        lambda *_: sent.append(window.session.parameters.kernel_size))

    def during_the_drag():
        # Several sizes were passed on while the mouse still held the handle.
        qtbot.waitUntil(lambda: len(set(sent)) >= 2, timeout=3000)
        assert slider.isSliderDown()

    _drag(qtbot, slider, 80, during_the_drag)
    qtbot.wait(150)
    final = 2 * slider.value() + 1
    assert final > 15 and sent[-1] == final
    assert window.session.parameters.kernel_size == final
    assert window.parameters.kernel_size.value() == final
    assert wait_for_result(qtbot, window).parameters.kernel_size == final


def test_a_fraction_slider_sends_while_dragged_and_lands_on_its_last_position(qtbot, window):
    slider = window.findChild(QSlider, "flagfrac_upper_slider")
    sent = []
    window.session.parameters_changed.connect(
        lambda *_: sent.append(window.session.parameters.flagfrac_upper))
    _drag(qtbot, slider, -60, lambda: qtbot.waitUntil(lambda: len(sent) >= 1, timeout=3000))
    qtbot.wait(150)
    assert window.session.parameters.flagfrac_upper == slider_to_fraction(slider.value())
    assert window.parameters.flagfrac_upper.value() == pytest.approx(
        slider_to_fraction(slider.value()), abs=1e-6)


def _fully_visible(widget) -> bool:
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_every_control_shows_whole_on_a_small_screen(qtbot, window, size):
    window.resize(*size)
    qtbot.wait(200)
    panel = window.parameters
    for widget in (panel.kernel_size, panel.flagfrac_lower, panel.flagfrac_upper,
                   panel.dispaxis, panel.force_single, panel.defaults):
        assert _fully_visible(widget), widget.objectName()


def _type(qtbot, spin, text):
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin.lineEdit(), text)
    QTest.keyClick(spin.lineEdit(), Qt.Key.Key_Return)


def test_a_fraction_typed_out_of_range_is_refused_with_a_message(qtbot, window):
    panel = window.parameters
    before = window.session.parameters.flagfrac_upper
    _type(qtbot, panel.flagfrac_upper, "0.7")
    assert window.session.parameters.flagfrac_upper == before  # not 0, not 0.5
    assert panel.message.isVisible()
    assert "flagfrac_upper must be a number from 0 to 0.5, not '0.7'" in panel.message.text()
    _type(qtbot, panel.flagfrac_upper, "2e-3")  # as the pipeline's docs write them
    assert window.session.parameters.flagfrac_upper == 0.002
    assert not panel.message.isVisible()
    wait_for_result(qtbot, window)


def test_save_flagged_bkg_is_a_switch_of_the_window_too(qtbot, window, dialogs, tmp_path):
    from PyQt6.QtCore import Qt

    panel = window.parameters
    qtbot.mouseClick(panel.save_flagged_bkg, Qt.MouseButton.LeftButton)
    assert window.session.parameters.save_flagged_bkg
    wait_for_result(qtbot, window)
    (tmp_path / "out").mkdir()
    dialogs.folders.append(tmp_path / "out")
    window.named_actions["save"].trigger()
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert len(names) == 2 and names[1].endswith("_badpix_selfcal_bkg_0.fits"), names


def test_an_even_kernel_typed_is_rounded_up_with_a_word(qtbot, window):
    panel = window.parameters
    _type(qtbot, panel.kernel_size, "20")
    assert window.session.parameters.kernel_size == 21
    assert panel.message.isVisible()
    assert "kernel_size must be odd" in panel.message.text() and "20 became 21" in \
        panel.message.text()
    _type(qtbot, panel.flagfrac_upper, "0.002")  # the word goes with the next change
    assert not panel.message.isVisible()
    wait_for_result(qtbot, window)
