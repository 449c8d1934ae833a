"""Every menu item, toolbar button and shortcut, fired as a person fires them."""

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from gui_helpers import wait_for_result
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QApplication, QComboBox, QDialog, QLineEdit, QTableWidget, QToolButton

from badpix_inspector.gui.actions import ACTIONS

#: Text-editing keys a focused spin box keeps (see gui/actions.py): Qt's own meaning there.
KEPT_BY_A_SPIN_BOX = {"undo", "redo", "reset_zoom"}


def focus_targets(window):
    """A table, a spin box and an image: what may hold the focus when a key is pressed."""
    window.docks["exposures"].raise_()
    return {"table": window.exposures.table, "spin box": window.parameters.kernel_size,
            "image": window.grid.panels["difference"].graphics,
            "combo box": window.findChild(QComboBox, "dispaxis"),
            "role combo box in the table": window.exposures.table.cellWidget(2, 1)}


def press(qtbot, widget, sequence):
    """Press a key combination on ``widget``, as the keyboard would."""
    combination = sequence[0]
    qtbot.keyClick(widget, combination.key(), combination.keyboardModifiers())


def counting(action):
    fired = []
    action.triggered.connect(lambda *_: fired.append(1))
    return fired


def test_the_table_builds_every_action_once(window):
    names = [spec.name for spec in ACTIONS]
    assert len(names) == len(set(names))
    assert set(window.named_actions) == set(names)
    keys = [a.shortcut().toString() for a in window.named_actions.values()
            if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"
    in_menus = {a for menu in window.menus.values() for a in menu.actions()}
    assert {window.named_actions[s.name] for s in ACTIONS if s.menu} <= in_menus
    toolbar = [button.defaultAction().objectName()
               for button in window.toolbars["main"].findChildren(QToolButton)
               if button.defaultAction()]
    assert {"action_open", "action_save", "action_export_parameters"} <= set(toolbar)


def test_save_and_export_by_click_toolbar_and_shortcut_write_files(qtbot, window, dialogs,
                                                                   tmp_path, excepthook):
    save, export = window.named_actions["save"], window.named_actions["export_parameters"]
    for number, fire in enumerate([
            lambda action: action.trigger(),  # a menu click
            lambda action: qtbot.mouseClick(
                next(b for b in window.toolbars["main"].findChildren(QToolButton)
                     if b.defaultAction() is action), Qt.MouseButton.LeftButton),
            lambda action: press(qtbot, window.exposures.table, action.shortcut())]):
        folder = tmp_path / f"products{number}"
        folder.mkdir()
        dialogs.folders.append(folder)
        fire(save)
        assert sorted(p.name for p in folder.iterdir()) == [
            "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits"]
        dialogs.save_paths.append(tmp_path / f"pars{number}.asdf")
        fire(export)
        assert (tmp_path / f"pars{number}.asdf").is_file()
    assert not excepthook.errors and not dialogs.errors


def test_cancelled_dialogs_write_nothing(qtbot, window, dialogs, tmp_path, excepthook):
    for name in ("save", "export_parameters", "export_edits", "export_mask",
                 "export_regions", "export_markers", "save_session", "open", "open_session"):
        window.named_actions[name].trigger()
    assert not excepthook.errors and not dialogs.errors
    assert not list(tmp_path.glob("*.fits")) and not list(tmp_path.glob("*.asdf"))


@pytest.mark.parametrize("target", ["table", "spin box", "image", "combo box",
                                    "role combo box in the table"])
def test_every_shortcut_works_whatever_holds_the_focus(qtbot, window, dialogs, target,
                                                       excepthook):
    skip = {"quit", "demo", "shortcuts"}  # quitting and the demo have tests of their own
    for spec in ACTIONS:
        action = window.named_actions[spec.name]
        if action.shortcut().isEmpty() or spec.name in skip:
            continue
        widget = focus_targets(window)[target]
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=2000)
        if spec.name == "undo":  # something to undo and redo
            window.session.edit_pixels([1], [1], 1)
        fired = counting(action)
        press(qtbot, widget, action.shortcut())
        if target == "spin box" and spec.name in KEPT_BY_A_SPIN_BOX:
            assert not fired, f"{spec.name} must stay with the spin box (text editing)"
            continue
        assert fired, f"{spec.name} ({action.shortcut().toString()}) with the {target} focused"
        wait_for_result(qtbot, window)
    assert not excepthook.errors and not dialogs.errors


def test_a_spin_box_keeps_the_digits_typed_into_it(qtbot, window):
    spin = window.parameters.kernel_size
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.selectAll()
    fired = counting(window.named_actions["kernel_up"])
    qtbot.keyClicks(spin, "21")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == 21 and window.session.parameters.kernel_size == 21
    qtbot.keyClick(spin, Qt.Key.Key_BracketRight)  # not part of a number: the shortcut
    assert fired and window.session.parameters.kernel_size == 23


def test_a_note_being_edited_keeps_every_key(qtbot, window):
    window.grid.hovered.emit(3, 4)
    window.named_actions["marker"].trigger()
    table = window.markers_panel.table
    window.docks["markers"].raise_()
    column = table.columnCount() - 1
    table.setCurrentCell(0, column)
    table.editItem(table.item(0, column))
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit), timeout=2000)
    editor = QApplication.focusWidget()
    blink = counting(window.named_actions["blink"])
    qtbot.keyClicks(editor, "MBF bad")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # Tab ends the edit
    assert window.markers.records[0]["note"] == "MBF bad"
    assert not blink and len(window.markers) == 1


def test_walking_every_menu_item_raises_nothing(qtbot, window, dialogs, tmp_path, excepthook,
                                                small_nirspec, samp_receiver):
    # With a SAMP hub and a client to take what File ▸ Send via SAMP sends, a marker to
    # send, and a region file for File ▸ Import.
    window.session.edit_pixels([2, 3], [4, 5], 1)
    wait_for_result(qtbot, window)
    window.grid.hovered.emit(5, 6)
    window.named_actions["marker"].trigger()
    regions = tmp_path / "walk.reg"
    regions.write_text("# Region file format: DS9\nimage\npoint(10,12) # text={walk}\n")
    out = tmp_path / "out"
    out.mkdir()
    dialogs.save_paths.append(tmp_path / "walk_session.json")  # for Open session… below
    window.named_actions["save_session"].trigger()
    walked = []
    last = []
    for menu in window.menus.values():
        for action in menu.actions():
            if action.isSeparator() or action.menu() is not None or not action.isEnabled():
                continue
            name = action.objectName()
            if name in ("action_quit", "action_close_all", "action_demo"):
                last.append(action)
                continue
            dialogs.save_paths.append(out)
            dialogs.folders.append(out)
            dialogs.open_files.append([])  # Open…: cancelled (an open association refuses more)
            dialogs.open_file[:] = [regions if name.startswith("action_import_region")
                                    else tmp_path / "walk_session.json"]
            action.trigger()
            walked.append(action.text())
            qtbot.wait(10)
            wait_for_result(qtbot, window)
            for dialog in window.findChildren(QDialog):
                dialog.close()
    assert not dialogs.errors and not excepthook.errors
    written = {p.suffix for p in out.iterdir()}
    assert {".fits", ".asdf", ".json", ".reg", ".ecsv", ".png"} <= written
    for action in sorted(last, key=lambda a: a.objectName() == "action_quit"):
        dialogs.buttons[:] = ["discard"]
        action.trigger()
        if action.objectName() == "action_demo":
            wait_for_result(qtbot, window, timeout=120_000)
            assert window.session.result.status == "complete"
    assert not window.isVisible()  # Quit closed it
    assert len(walked) > 30
    assert not excepthook.errors and not dialogs.errors


def test_f1_shows_a_table_of_the_shortcuts(qtbot, window):
    press(qtbot, window.grid.panels["combined"].graphics, window.named_actions["shortcuts"]
          .shortcut())
    dialog = window.findChild(QDialog, "shortcuts_dialog")
    table = dialog.findChild(QTableWidget, "shortcuts_table")
    rows = {table.item(n, 1).text(): table.item(n, 0).text() for n in range(table.rowCount())}
    assert rows["Save flagged products"] == "Ctrl+S" and rows["Smaller kernel"] == "["
    dialog.close()


def test_no_slot_receives_a_checked_argument(window):
    for action in window.findChildren(QAction):
        if action.objectName().startswith("action_"):
            assert action.receivers(action.triggered) >= 1


def test_tools_by_key_and_escape_leaves_blink(qtbot, window):
    image = window.grid.panels["combined"].graphics
    image.setFocus()
    press(qtbot, image, window.named_actions["tool_flag_brush"].shortcut())
    assert window.grid.tool == "flag brush"
    press(qtbot, image, window.named_actions["tool_inspect"].shortcut())
    assert window.grid.tool == "inspect"
    science = window.grid.panels["science"]
    press(qtbot, image, window.named_actions["blink"].shortcut())
    # The next exposure is read from its file on another thread, then shown.
    qtbot.waitUntil(lambda: science.data is not window.session.result.science)
    press(qtbot, image, window.named_actions["leave_blink"].shortcut())
    assert science.data is window.session.result.science
    assert np.shares_memory(science.data, window.session.result.science)


def test_every_toolbar_button_clicked(qtbot, window, dialogs, excepthook):
    window.session.edit_pixels([1], [1], 1)  # Undo and Redo have something to do
    clicked = 0
    for toolbar in window.toolbars.values():
        for button in toolbar.findChildren(QToolButton):
            action = button.defaultAction()
            if action is None or not action.objectName().startswith("action_"):
                continue
            if not action.isEnabled():
                window.session.edit_pixels([2], [2], 1)
                window.session.undo()
            fired = counting(action)
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            assert fired, action.objectName()
            clicked += 1
            wait_for_result(qtbot, window)
    # Open, Save, Export pars, Copy strun, Pin A, A/now, Restore A, Fit; 5 tools, Undo, Redo
    assert clicked == 15
    assert window.grid.tool == "unflag rectangle"  # the last tool button clicked
    assert not excepthook.errors and not dialogs.errors


def test_the_recorder_sees_an_exception_in_a_slot(qtbot, window, excepthook):
    # The walk above is only as good as this: a slot that raises must be recorded.
    action = window.named_actions["about"]
    action.triggered.connect(lambda *_: 1 / 0)
    action.trigger()
    assert excepthook.errors == ["ZeroDivisionError: division by zero"]
    excepthook.errors.clear()
