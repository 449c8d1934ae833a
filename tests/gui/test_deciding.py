"""Deciding the parameters in the window: compare with A, robust σ, suspect flags.

Everything is fired as a person fires it: keys (P, X, Ctrl+2 …), toolbar and dock buttons,
numbers typed into spin boxes; exceptions in slots are recorded.
"""

import json

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from gui_helpers import wait_for_result
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QPushButton, QToolButton

from badpix_inspector.core.decide import DECIDE_LABELS
from badpix_inspector.simulate import make_association
from oracles import pool_labels


def key(qtbot, widget, key, modifiers=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(widget, key, modifiers)


def type_number(qtbot, spin, text):
    """Select a spin box's text and type a number with Enter, as a person does."""
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def toolbar_button(window, name):
    return next(button for button in window.toolbars["main"].findChildren(QToolButton)
                if button.defaultAction() is window.named_actions[name])


def overlay_image(window, panel="difference"):
    """The label image the overlay draws (the view is zoomed in: one label per pixel)."""
    return window.grid.panels[panel].overlay.image


def test_pin_compare_swap_and_restore(qtbot, window, excepthook, dialogs):
    image = window.grid.panels["difference"].graphics
    start = wait_for_result(qtbot, window)
    # A hand edit of each kind: A's final flags include them.
    flagged = np.argwhere(start.flags)
    window.session.edit_pixels([flagged[0][0]], [flagged[0][1]], -1)
    window.session.edit_pixels([0], [0], 1)
    pinned_result = wait_for_result(qtbot, window)
    key(qtbot, image, Qt.Key.Key_P)  # Pin as reference A
    reference = window.decide.reference.reference
    assert reference is not None and reference.parameters == pinned_result.parameters
    np.testing.assert_array_equal(reference.final, pinned_result.final)
    assert not reference.final[flagged[0][0], flagged[0][1]] and reference.final[0, 0]
    assert "kernel_size 15" in window.decide_panel.reference_text.text()
    histogram = window.histogram
    assert all(line.isVisible() and line.pen.style() == Qt.PenStyle.DashLine
               for line in histogram.reference_lines.values())
    assert histogram.reference_lines["high"].value() == pytest.approx(
        pinned_result.statistics.thresholds.high)

    # Compare mode from the View menu's shortcut; then the parameters move (typed).
    key(qtbot, image, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.decide_panel.overlay_mode.currentData() == "compare"
    assert window.named_actions["overlay_compare"].isChecked()
    type_number(qtbot, window.parameters.flagfrac_upper, "0.004")
    type_number(qtbot, window.parameters.flagfrac_lower, "0.0004")
    result = wait_for_result(qtbot, window)
    assert result.parameters.flagfrac_upper == 0.004
    a, b = np.flatnonzero(reference.final), np.flatnonzero(result.final)
    gained, lost, kept = np.setdiff1d(b, a), np.setdiff1d(a, b), np.intersect1d(a, b)
    assert gained.size > 0 and lost.size > 0 and kept.size > 0
    counts = window.decide_panel.counts
    assert counts["gained"].text() == f"{gained.size:,}"
    assert counts["lost"].text() == f"{lost.size:,}"
    assert counts["kept"].text() == f"{kept.size:,}"
    # The overlay shows the gains and losses in their own colours.
    shown = overlay_image(window)
    assert shown.shape == result.final.shape
    np.testing.assert_array_equal(np.flatnonzero(shown == DECIDE_LABELS["gained"]), gained)
    np.testing.assert_array_equal(np.flatnonzero(shown == DECIDE_LABELS["lost"]), lost)
    np.testing.assert_array_equal(np.flatnonzero(shown == DECIDE_LABELS["kept"]), kept)
    # A's thresholds stay beside the current ones.
    assert histogram.reference_lines["high"].value() == pytest.approx(
        reference.thresholds.high)
    assert histogram.lines["high"].value() != pytest.approx(reference.thresholds.high)

    # X swaps the picture to A (its flags) and back.
    key(qtbot, image, Qt.Key.Key_X)
    assert window.decide.showing_reference
    np.testing.assert_array_equal(overlay_image(window), reference.result.labels)
    assert "Showing A" in window.statusBar().currentMessage()
    key(qtbot, image, Qt.Key.Key_X)
    assert not window.decide.showing_reference
    np.testing.assert_array_equal(np.flatnonzero(overlay_image(window) == DECIDE_LABELS[
        "gained"]), gained)

    # Restore A's parameters from the toolbar: nothing gained or lost any more.
    qtbot.mouseClick(toolbar_button(window, "restore_reference"), Qt.MouseButton.LeftButton)
    assert "Restored A's parameters" in window.statusBar().currentMessage()
    result = wait_for_result(qtbot, window)
    assert result.parameters == reference.parameters
    assert window.parameters.flagfrac_upper.value() == pytest.approx(0.001)
    assert counts["gained"].text() == "0" and counts["lost"].text() == "0"
    assert counts["kept"].text() == f"{reference.n_flagged:,}"
    assert not excepthook.errors and not dialogs.errors


def test_pin_from_the_toolbar_and_overlay_modes_from_the_dock(qtbot, window, excepthook):
    qtbot.mouseClick(toolbar_button(window, "pin_reference"), Qt.MouseButton.LeftButton)
    assert window.decide.reference.reference is not None
    combo = window.decide_panel.overlay_mode
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    key(qtbot, combo, Qt.Key.Key_Down)  # flags -> compare
    assert window.grid.overlay_mode == "compare"
    assert window.named_actions["overlay_compare"].isChecked()
    key(qtbot, combo, Qt.Key.Key_Down)  # compare -> suspect
    assert window.grid.overlay_mode == "suspect"
    result = window.session.result
    np.testing.assert_array_equal(overlay_image(window), result.decisions.suspect_labels)
    window.named_actions["overlay_flags"].trigger()  # View ▸ Overlay: Flags
    assert combo.currentData() == "flags"
    np.testing.assert_array_equal(overlay_image(window), result.labels)
    assert not excepthook.errors


def test_other_data_forget_a(qtbot, window, small_nirspec, dialogs, excepthook):
    window.named_actions["pin_reference"].trigger()
    assert window.decide.reference.reference is not None
    window.named_actions["close_all"].trigger()
    assert window.decide.reference.reference is None
    assert not any(line.isVisible() for line in window.histogram.reference_lines.values())
    window.open_paths([small_nirspec.association])
    result = wait_for_result(qtbot, window)
    assert result.decisions.comparison is None
    assert window.decide_panel.counts["gained"].text() == "–"
    assert not excepthook.errors and not dialogs.errors


@pytest.mark.parametrize("n_sigma", ["5", "3.5"])
def test_suggest_fractions_puts_the_thresholds_at_n_sigma(qtbot, window, excepthook, n_sigma):
    type_number(qtbot, window.parameters.n_sigma, n_sigma)
    assert window.parameters.n_sigma.value() == float(n_sigma)
    if n_sigma == "5":
        window.named_actions["suggest_fractions"].trigger()
    else:
        key(qtbot, window.grid.panels["difference"].graphics, Qt.Key.Key_G,
            Qt.KeyboardModifier.ControlModifier)
    result = wait_for_result(qtbot, window)
    values = result.sorted_difference
    sigma = result.statistics.sigma
    centre = float(np.median(values))
    limits = result.statistics.thresholds
    for got, target in ((limits.low, centre - float(n_sigma) * sigma),
                        (limits.high, centre + float(n_sigma) * sigma)):
        assert abs(int(np.searchsorted(values, got)) - int(np.searchsorted(values, target))) <= 1
    # Fractions are what is set (and saved), unrounded by the spin boxes' decimals.
    parameters = window.session.parameters
    assert parameters.flagfrac_lower > 0 and parameters.flagfrac_upper > 0
    assert window.parameters.flagfrac_upper.value() == pytest.approx(
        parameters.flagfrac_upper, abs=1e-6)
    # Each fraction shows where its threshold sits in σ.
    low_text = window.parameters.sigma_labels["flagfrac_lower"].text()
    high_text = window.parameters.sigma_labels["flagfrac_upper"].text()
    low_sigma, high_sigma = result.decisions.thresholds_sigma
    assert low_sigma == pytest.approx(-float(n_sigma), abs=0.05)
    assert high_sigma == pytest.approx(float(n_sigma), abs=0.05)
    assert low_text == f"−{abs(low_sigma):.2f} σ" and high_text == f"+{high_sigma:.2f} σ"
    assert not excepthook.errors


def test_the_suggest_button_and_the_defaults_in_sigma(qtbot, window, excepthook):
    result = wait_for_result(qtbot, window)
    text = window.parameters.sigma_labels["flagfrac_upper"].text()
    assert text.endswith(" σ") and text.startswith("+")
    assert float(text[1:-2]) == pytest.approx(result.decisions.thresholds_sigma[1], abs=0.006)
    before = window.session.parameters
    qtbot.mouseClick(window.parameters.suggest, Qt.MouseButton.LeftButton)
    assert window.session.parameters != before
    assert "±5 σ" in window.parameters.message.text()
    assert not excepthook.errors


# ------------------------------------------------------------------------ suspect flags


@pytest.fixture(scope="module")
def selfcal_only(tmp_path_factory):
    """The notebooks' set-up: no background, three selfcal dithers with the source's lines."""
    return make_association(tmp_path_factory.mktemp("selfcal_only"), "MIRIFULONG",
                            n_background=0, n_selfcal=3, seed=0, shape=(512, 516))


@pytest.fixture
def line_window(qtbot, settings_dir, cache, selfcal_only, dialogs):
    from badpix_inspector.gui import create_main_window

    made = create_main_window([selfcal_only.association])
    made.interactive = True
    qtbot.addWidget(made)
    made.resize(1400, 900)
    made.show()
    qtbot.waitExposed(made)
    wait_for_result(qtbot, made)
    yield made
    dialogs.buttons[:] = ["discard"] * 3
    made.close()


def test_unflag_suspect_removes_line_flags_and_keeps_hot_pixels(
        qtbot, line_window, selfcal_only, dialogs, tmp_path, excepthook):
    window = line_window
    result = wait_for_result(qtbot, window)
    lines, hot = selfcal_only.lines, selfcal_only.defects.hot
    on_lines, on_hot = int((result.final & lines).sum()), int((result.final & hot).sum())
    decisions = result.decisions
    from badpix_inspector.core.statistics import count_edge_flags

    edge = count_edge_flags(decisions.suspect, result.parameters.kernel_size // 2,
                            result.dispaxis)
    assert window.decide_panel.suspect_count.text() == (
        f"{decisions.n_suspect:,} of {result.statistics.n_final:,} flags"
        + (f", {edge:,} at the edge" if edge else ""))
    print(f"{int((decisions.suspect & lines).sum())} of {on_lines} line flags suspect, "
          f"{int((decisions.suspect & hot).sum())} of {on_hot} hot-pixel flags")
    assert on_lines > 100 and on_hot > 50

    # The suspect overlay (Ctrl+3), then Unflag suspect (Ctrl+Shift+U): one undoable edit.
    image = window.grid.panels["difference"].graphics
    key(qtbot, image, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    shown = overlay_image(window)  # zoomed out: pooled, the suspect label wins its block
    factor = -(-decisions.suspect.shape[0] // shown.shape[0])
    np.testing.assert_array_equal(shown, pool_labels(decisions.suspect_labels, factor))
    assert (shown == DECIDE_LABELS["suspect"]).sum() >= decisions.n_suspect / factor**2
    key(qtbot, image, Qt.Key.Key_U,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    after = wait_for_result(qtbot, window)
    left_on_lines, left_on_hot = int((after.final & lines).sum()), int((after.final & hot).sum())
    print(f"after Unflag suspect: {left_on_lines} line flags, {left_on_hot} hot-pixel flags")
    assert left_on_lines <= 0.1 * on_lines  # most line flags gone
    assert left_on_hot >= 0.95 * on_hot  # few hot-pixel flags lost
    assert after.statistics.n_forced_good == decisions.n_suspect
    assert after.decisions.n_suspect == 0

    # Saved like any edit: the edits file has them as forced good.
    dialogs.save_paths.append(tmp_path / "edits.json")
    window.named_actions["export_edits"].trigger()
    saved = json.loads((tmp_path / "edits.json").read_text())
    assert len(saved["forced_good"]) == decisions.n_suspect

    # Ctrl+Z undoes the whole step.
    key(qtbot, image, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    undone = wait_for_result(qtbot, window)
    np.testing.assert_array_equal(undone.final, result.final)

    # With the dock's button, as a person clicks it: the button greys out, and Ctrl+Z pressed
    # next (wherever the focus went) still undoes it (seen: the rule's spin box took it).
    button = window.findChild(QPushButton, "unflag_suspect")
    qtbot.waitUntil(button.isEnabled)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert wait_for_result(qtbot, window).statistics.n_forced_good == decisions.n_suspect
    focus = QApplication.focusWidget()
    assert focus is not None
    key(qtbot, focus, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(wait_for_result(qtbot, window).final, result.final)
    assert not excepthook.errors and not dialogs.errors


def test_the_suspect_rule_numbers_are_adjustable(qtbot, line_window, excepthook):
    window = line_window
    first = wait_for_result(qtbot, window).decisions
    assert (first.rule.half_width, first.rule.min_fraction) == (3, 0.6)
    type_number(qtbot, window.decide_panel.min_fraction, "1")
    strict = wait_for_result(qtbot, window).decisions
    assert strict.rule.min_fraction == 1.0
    assert strict.n_suspect < first.n_suspect
    assert not (strict.suspect & ~first.suspect).any()  # a stricter rule calls fewer
    type_number(qtbot, window.decide_panel.half_width, "1")
    narrow = wait_for_result(qtbot, window).decisions
    assert narrow.rule == type(narrow.rule)(1, 1.0)
    assert window.decide_panel.suspect_count.text().startswith(f"{narrow.n_suspect:,} of")
    assert not excepthook.errors


def test_a_square_window_has_no_suspect_flags(qtbot, line_window, excepthook):
    window = line_window
    assert wait_for_result(qtbot, window).decisions.n_suspect > 0
    combo = window.parameters.dispaxis
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    key(qtbot, combo, Qt.Key.Key_End)  # the last choice: a 2-D square window
    result = wait_for_result(qtbot, window)
    assert result.dispaxis is None and result.decisions.n_suspect == 0
    assert "square window" in window.decide_panel.suspect_count.text()
    assert not window.decide_panel.unflag_button.isEnabled()
    assert not excepthook.errors
