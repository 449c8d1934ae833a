"""Sessions, unsaved edits and the per-dataset autosave, answered as a person would."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from gui_helpers import wait_for_result

from badpix_inspector.gui import create_main_window


def open_window(qtbot, paths=None):
    window = create_main_window(paths)
    window.interactive = True
    qtbot.addWidget(window)
    if paths:
        wait_for_result(qtbot, window)
    return window


def crash(window):
    """Kill the window as a crash would: its autosave and lock stay, its process is gone."""
    window.recovery.timer.stop()
    window.session.close()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = window.recovery.autosave.lock.path
    info = json.loads(lock.read_text())
    lock.write_text(json.dumps({**info, "pid": dead.pid}))
    window.recovery.autosave.lock.held = False  # this object is a corpse from now on
    window.recovery.autosave.lock = None


def edited(qtbot, window, rows, columns):
    window.session.edit_pixels(rows, columns, 1)
    qtbot.waitUntil(window.recovery.autosave.available, timeout=5000)  # within a second
    return window.session.edits.state.copy()


def test_a_window_on_other_data_never_restores_replaces_or_deletes_another_datasets_edits(
        qtbot, settings_dir, cache, small_nirspec, dialogs):
    first = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, first, [3, 3], [9, 10])
    autosave = first.recovery.autosave.path
    saved = autosave.read_bytes()
    other = open_window(qtbot, [small_nirspec.selfcals[0]])
    assert other.recovery.autosave.key != first.recovery.autosave.key
    assert other.recovery.offer_autosave() is None and not dialogs.asked
    empty = open_window(qtbot)
    assert empty.recovery.offer_autosave() is None and not dialogs.asked  # first is alive
    other.session.edit_pixels([1], [1], -1)
    qtbot.waitUntil(other.recovery.autosave.available, timeout=5000)
    dialogs.buttons[:] = ["discard"]
    other.close()
    empty.close()
    assert autosave.read_bytes() == saved  # untouched by the others
    dialogs.buttons[:] = ["discard"]
    first.close()
    assert not autosave.exists()


def test_a_second_window_on_the_same_data_does_not_take_the_lock(qtbot, settings_dir, cache,
                                                                  small_nirspec, dialogs):
    first = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, first, [4], [4])
    second = open_window(qtbot, [small_nirspec.association])
    assert first.recovery.autosave.owned and not second.recovery.autosave.owned
    assert "Another window" in second.statusBar().currentMessage()
    before = first.recovery.autosave.path.read_bytes()
    second.session.edit_pixels([7], [7], 1)
    qtbot.wait(1500)
    assert second.recovery.write_autosave() is None
    assert first.recovery.autosave.path.read_bytes() == before
    qtbot.wait(10)
    assert not dialogs.asked  # nothing offered to the second window
    dialogs.buttons[:] = ["discard", "discard"]
    second.close()
    assert first.recovery.autosave.available()  # the second window deleted nothing
    first.close()


def test_after_a_crash_the_same_data_offers_the_edits_back(qtbot, settings_dir, cache,
                                                            small_nirspec, dialogs, tmp_path):
    first = open_window(qtbot, [small_nirspec.association])
    state = edited(qtbot, first, [3, 3, 4], [9, 10, 11])
    crash(first)
    dialogs.buttons[:] = ["restore"]
    second = open_window(qtbot, [small_nirspec.association])
    qtbot.waitUntil(lambda: dialogs.asked == ["Restore unsaved edits?"], timeout=5000)
    assert f"{small_nirspec.science.name} and 3 more files" in dialogs.texts[0]
    wait_for_result(qtbot, second)
    np.testing.assert_array_equal(second.session.edits.state, state)
    assert second.recovery.has_unsaved_edits()  # restored edits still need saving
    dialogs.save_paths.append(tmp_path / "saved.json")
    second.named_actions["save_session"].trigger()
    assert (tmp_path / "saved.json").is_file() and not second.recovery.autosave.available()
    second.close()


def test_an_empty_window_offers_the_newest_orphan_discard_deletes_only_it(
        qtbot, settings_dir, cache, small_nirspec, dialogs):
    first = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, first, [6], [7])
    orphan = first.recovery.autosave.path
    crash(first)
    alive = open_window(qtbot, [small_nirspec.selfcals[1]])
    edited(qtbot, alive, [2], [2])
    dialogs.buttons[:] = ["discard"]
    empty = open_window(qtbot)
    assert empty.recovery.offer_autosave() is False
    assert not orphan.exists() and alive.recovery.autosave.available()
    edited_again = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, edited_again, [8], [9])
    crash(edited_again)
    dialogs.buttons[:] = ["restore"]
    assert empty.recovery.offer_autosave() is True
    wait_for_result(qtbot, empty)
    assert empty.session.edits.state[8, 9] == 1 and len(empty.session.entries) == 4
    for window in (alive, empty):
        dialogs.buttons[:] = ["discard"]
        window.close()


def test_quitting_with_unsaved_edits_asks(qtbot, settings_dir, cache, small_nirspec, dialogs,
                                          tmp_path):
    window = open_window(qtbot, [small_nirspec.association])
    window.show()
    edited(qtbot, window, [2], [3])
    dialogs.buttons[:] = ["cancel"]
    window.named_actions["quit"].trigger()
    assert window.isVisible() and dialogs.asked == ["Unsaved hand edits"]
    dialogs.buttons[:] = ["save"]
    dialogs.save_paths.append(tmp_path / "kept.json")
    window.named_actions["quit"].trigger()
    assert not window.isVisible() and (tmp_path / "kept.json").is_file()
    assert not window.recovery.autosave.path.exists()

    again = open_window(qtbot, [small_nirspec.association])
    again.show()
    edited(qtbot, again, [5], [5])
    dialogs.buttons[:] = ["discard"]
    again.named_actions["quit"].trigger()
    assert not again.isVisible() and not again.recovery.autosave.path.exists()
    assert not again.recovery.autosave.lock  # released


def test_session_round_trip_resets_the_selection_and_applies_the_zoom(
        qtbot, window, tmp_path, settings_dir, cache, dialogs, small_nirspec):
    window.session.set_parameters(kernel_size=9, flagfrac_upper=0.004)
    window.session.set_role(2, "ignored")
    window.session.edit_pixels([1, 2], [3, 4], 1)
    window.grid.panels["difference"].stretch.setCurrentText("asinh")
    window.grid.hovered.emit(1, 2)
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
    other.session.select_pixel(90, 120)
    other.grid.hovered.emit(120, 90)
    other.grid.panels["combined"].move_crosshair(120, 90)
    dialogs.open_file.append(tmp_path / "s.json")
    other.named_actions["open_session"].trigger()
    assert other.session.selected is None  # the previous data's pixel is gone
    assert not other.grid.panels["combined"].vline.isVisible()
    assert other.cursor_label.text() == ""
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


def test_close_all_asks_before_unsaved_edits_go(qtbot, settings_dir, cache, small_nirspec,
                                                dialogs):
    window = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, window, [2], [2])
    autosave = window.recovery.autosave.path
    dialogs.buttons[:] = ["cancel"]
    window.named_actions["close_all"].trigger()
    assert window.session.entries and autosave.is_file()
    dialogs.buttons[:] = ["discard"]
    window.named_actions["close_all"].trigger()
    assert not window.session.entries and not autosave.exists()
    assert dialogs.asked == ["Unsaved hand edits"] * 2
    window.close()


def test_nobody_to_ask_keeps_the_autosave_for_a_later_window(qtbot, settings_dir, cache,
                                                              small_nirspec):
    window = create_main_window([small_nirspec.association])  # offscreen: not interactive
    qtbot.addWidget(window)
    wait_for_result(qtbot, window)
    edited(qtbot, window, [3], [3])
    autosave = window.recovery.autosave.path
    window.named_actions["close_all"].trigger()
    assert not window.session.entries and autosave.is_file()
    assert [p.name for p in window.recovery.autosave.orphans()] == [autosave.name]
    window.close()


def test_undoing_every_edit_drops_the_autosave(qtbot, settings_dir, cache, small_nirspec,
                                              dialogs):
    window = open_window(qtbot, [small_nirspec.association])
    edited(qtbot, window, [2, 3], [2, 3])
    window.named_actions["undo"].trigger()
    assert not window.recovery.autosave.path.exists()  # nothing left to recover
    window.named_actions["redo"].trigger()
    qtbot.waitUntil(window.recovery.autosave.available, timeout=5000)
    dialogs.buttons[:] = ["discard"]
    window.close()

