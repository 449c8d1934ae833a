"""Session files, unsaved hand edits and their autosave, for one window.

The state lives in the Qt-free models (`UnsavedEdits`, `Autosave`); this module asks the
questions (restore? save before quitting?) and keeps the autosave following the window's
dataset. See `badpix_inspector.model.autosave` for the per-dataset files and their lock.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QFileDialog

from ..io import InputError, read_session, write_session
from ..model import Autosave, UnsavedEdits, dataset_key

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["Recovery"]

log = logging.getLogger(__name__)


def _describe(autosave: Path) -> str:
    """Name the data an autosave belongs to (its science file and how many others)."""
    try:
        exposures = read_session(autosave).get("exposures") or []
    except InputError:
        return f"unreadable data ({autosave.name})"
    science = next((item for item in exposures if item.get("role") == "science"),
                   exposures[0] if exposures else None)
    if science is None:
        return "no files"
    others = len(exposures) - 1
    return f"{Path(science['path']).name}" + (f" and {others} more files" if others else "")


class Recovery:
    """Sessions and the autosave of one window."""

    def __init__(self, window: MainWindow, autosave: Autosave | None = None) -> None:
        self.window = window
        self.session = window.session
        self.unsaved = UnsavedEdits()
        self.autosave = autosave or Autosave()
        self._offered: set[str] = set()
        self._restoring = False
        #: Set when unsaved edits were autosaved because nobody could be asked: the next
        #: change of dataset leaves that autosave for a later window.
        self._keep_autosave = False
        self._pending_view: dict | None = None
        self.timer = QTimer(window)
        self.timer.setSingleShot(True)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.write_autosave)

    # -- unsaved edits -------------------------------------------------------------------

    def has_unsaved_edits(self) -> bool:
        """Return True when hand edits changed since they were last saved."""
        return self.unsaved.pending(self.session.edits)

    def mark_saved(self) -> None:
        """Record that the edits are saved (session, products, edits file); drop the autosave."""
        self.unsaved.mark_saved(self.session.edits)
        self.timer.stop()
        self.autosave.remove()

    def edits_changed(self) -> None:
        """Schedule an autosave a second after the last edit; drop it once nothing is unsaved.

        Undoing every edit (or back to what was saved) leaves nothing to recover: an
        autosave left behind would offer edits the user took back.
        """
        if self.has_unsaved_edits():
            self.timer.start()
        else:
            self.timer.stop()
            if not self._keep_autosave:  # unless left for a later window (nobody asked)
                self.autosave.remove()

    # -- the dataset's autosave ----------------------------------------------------------

    def dataset_changed(self) -> None:
        """Follow the window to its new dataset: claim that dataset's autosave."""
        # Data from memory have names, not files: no autosave could bring them back.
        key = None if self.session.in_memory else dataset_key(
            entry.exposure.path for entry in self.session.entries)
        if key == self.autosave.key:
            return
        owned = self.autosave.switch(key, keep_old=self._keep_autosave)
        self._keep_autosave = False
        if key is not None and not owned:
            self.window.statusBar().showMessage(
                "Another window is editing these files: hand edits here are not autosaved.",
                15_000)
        elif self.has_unsaved_edits():
            self.timer.start()  # the edits came along: autosave them under the new dataset
        if owned and not self._restoring and self.autosave.available():
            QTimer.singleShot(0, self.offer_autosave)

    def write_autosave(self) -> Path | None:
        """Write the unsaved edits where a crash cannot lose them (this dataset's file)."""
        if not self.has_unsaved_edits() or not self.autosave.owned:
            return None
        return self.autosave.write(self.session_state())

    def offer_autosave(self) -> bool | None:
        """Offer edits a crashed run left: this dataset's, or with no data, the newest orphan.

        Returns True when they were restored, False when discarded, None when there was
        nothing to offer or the question went unanswered.
        """
        if self.session.entries:
            if not self.autosave.available() or self.autosave.key in self._offered:
                return None
            self._offered.add(self.autosave.key)
            source = self.autosave.path
        else:
            orphans = self.autosave.orphans()
            if not orphans:
                return None
            source = orphans[0]
        answer = self.window.ask(
            "Restore unsaved edits?",
            f"badpix-inspector did not close normally and left unsaved hand edits of "
            f"{_describe(source)}. Restore them?", ("restore", "discard"))
        if answer == "restore":
            return self.restore_autosave(source)
        if answer == "discard":
            if source == self.autosave.path:
                self.autosave.remove()
            else:
                self.autosave.discard_orphan(source)
            return False
        return None

    def restore_autosave(self, source: Path | None = None) -> bool:
        """Restore an autosave; its edits then count as unsaved."""
        self._restoring = True
        try:
            opened = self.open_session(source or self.autosave.path)
        finally:
            self._restoring = False
        if opened:
            self.unsaved.mark_unsaved()
            self.write_autosave()  # now under this window's lock, for the next crash
        return opened

    # -- session files -------------------------------------------------------------------

    def session_state(self) -> dict:
        """Return everything a session file records."""
        window = self.window
        x_range, y_range = window.grid.view_ranges()
        return {
            **self.session.state(),
            "markers": window.markers.records,
            # Colour map, inversion, each panel's limits (manual ones too) and stretch.
            "view": {"x_range": x_range, "y_range": y_range, **window.grid.display_state()},
        }

    def save_session(self, path: str | Path) -> Path | None:
        """Write the session to ``path``; report a failure in the window."""
        try:
            written = write_session(path, self.session_state())
        except InputError as error:
            self.window.error("Cannot save the session", str(error))
            return None
        self.mark_saved()
        self.window.statusBar().showMessage(f"Session saved in {written}", 10_000)
        return written

    def save_session_dialog(self) -> Path | None:
        """Ask where to save the session, and save it."""
        path = self.window.files.ask_save_path("Save session", "badpix_inspector_session.json",
                                               "Sessions (*.json)")
        return None if path is None else self.save_session(path)

    def open_session_dialog(self) -> None:
        """Ask for a session file to open."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session",
                                              self.window.files.last_folder(),
                                              "Sessions (*.json)")
        if path and self.may_close():  # the session replaces the data and their edits
            self.open_session(path)

    def open_session(self, path: str | Path) -> bool:
        """Restore a session file; on a bad file the window is left as it was."""
        window = self.window
        try:
            state = read_session(path)
            self.session.restore(
                [(item["path"], item["role"]) for item in state["exposures"]],
                state.get("parameters"), state.get("dispaxis", "auto"), state.get("edits"),
                state.get("association"),
            )  # fmt: skip
        except (InputError, ValueError, TypeError, KeyError) as error:
            window.error("Cannot open the session", str(error))
            return False
        window.markers.set_records(state.get("markers") or [])
        view = state.get("view") or {}
        window.grid.set_display_state(view)
        # The zoom is applied once the new images are drawn (drawing a new shape refits).
        self._pending_view = view if "x_range" in view else None
        self.mark_saved()
        return True

    def apply_pending_view(self) -> None:
        """Apply a session's saved zoom (called after a result is drawn)."""
        view, self._pending_view = self._pending_view, None
        if view:
            self.window.grid.set_view(view["x_range"], view["y_range"])

    # -- quitting ------------------------------------------------------------------------

    def may_close(self) -> bool:
        """Ask about unsaved edits before they go (quitting, other data, Close all).

        Returns False when the user cancels.
        """
        if self.has_unsaved_edits():
            answer = self.window.ask(
                "Unsaved hand edits",
                "There are hand edits that are not saved. Save the session before quitting?",
                ("save", "discard", "cancel"))
            if answer == "cancel" or (answer == "save" and self.save_session_dialog() is None):
                return False
            if answer == "discard":
                self.unsaved.mark_saved(self.session.edits)  # the user let them go
                self.autosave.remove()
            elif answer is None:
                self.write_autosave()  # nobody to ask: keep them for the next run
                self._keep_autosave = True
        return True

    def close(self) -> None:
        """Stop the timer; give up the dataset's lock (the autosave stays if unsaved)."""
        self.timer.stop()
        if not self.has_unsaved_edits():
            self.autosave.remove()
        self.autosave.release()
