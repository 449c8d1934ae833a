"""What the File menu does: open, save the products, export, copy the strun line.

The dialogs live here; the writing is the Qt-free model's (`badpix_inspector.model`).
Every method the menus call takes no argument a person cannot give; the folder or file
comes from a `QFileDialog`, so tests answer those dialogs (monkeypatching the static
calls) just as a person would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QApplication, QFileDialog

from .. import model
from ..io import InputError, write_file
from .plot_menu import png_bytes

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["FILE_FILTERS", "FileCommands"]

log = logging.getLogger(__name__)

FILE_FILTERS = ("JWST exposures and associations (*.fits *.fits.gz *.json);;"
                "FITS (*.fits *.fits.gz);;Associations (*.json);;All files (*)")


class FileCommands:
    """Opening and writing files for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.session = window.session

    def last_folder(self) -> str:
        """Return the folder the dialogs start in (the last one used)."""
        return str(self.window.settings.value("last_folder", str(Path.cwd())))

    def _remember_folder(self, folder: Path) -> None:
        self.window.remember("last_folder", str(folder))

    # -- opening -------------------------------------------------------------------------

    def open_paths(self, paths) -> bool:
        """Open files or associations; a bad one is reported in the window. Return success."""
        paths = [Path(path) for path in paths]
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.session.open_paths(paths)
        except InputError as error:
            self.window.error("Cannot open", str(error))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        if paths:
            self._remember_folder(paths[0].resolve().parent)
        return True

    def open_dialog(self) -> None:
        """Ask for files to open."""
        paths, _ = QFileDialog.getOpenFileNames(
            self.window, "Open exposures or an association", self.last_folder(), FILE_FILTERS)
        if paths:
            self.open_paths(paths)

    def open_demo(self) -> None:
        """Open the synthetic MIRI MRS association (written once to a cache folder)."""
        from ..simulate import demo_association

        self.window.statusBar().showMessage("Preparing the demo data…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            association = demo_association()
        except OSError as error:
            self.window.error("Cannot write the demo data", str(error))
            return
        finally:
            QApplication.restoreOverrideCursor()
        self.window.statusBar().clearMessage()
        if not self.window.recovery.may_close():  # unsaved edits of the data open now
            return
        self.session.clear()
        self.open_paths([association])

    # -- writing -------------------------------------------------------------------------

    def ask_save_path(self, title: str, name: str, filters: str) -> Path | None:
        """Ask where to write a file; None when the user cancels."""
        path, _ = QFileDialog.getSaveFileName(self.window, title,
                                              str(Path(self.last_folder()) / name), filters)
        return Path(path) if path else None

    def _write(self, title: str, write: Callable[[], object]):
        try:
            return write()
        except InputError as error:
            self.window.error(f"Cannot {title}", str(error))
            return None

    def _export(self, what: str, name: str, filters: str,
                write: Callable[[Path], Path]) -> Path | None:
        if self.session.result is None:
            self.window.error(f"Cannot export the {what}", "Open exposures first.")
            return None
        path = self.ask_save_path(f"Export the {what}", name, filters)
        if path is None:
            return None
        written = self._write(f"export the {what}", lambda: write(path))
        if written is not None:
            self._remember_folder(path.parent)
            self.window.statusBar().showMessage(f"Written {written}", 10_000)
        return written

    def save_products(self) -> list[Path]:
        """Ask for a folder and write the flagged products there, as the command does."""
        result = self.session.result
        if result is None or result.status == "empty":
            self.window.error("Nothing to save", "Open exposures and give one the science role.")
            return []
        chosen = QFileDialog.getExistingDirectory(self.window, "Save flagged products in",
                                                  self.last_folder())
        if not chosen:
            return []
        folder = Path(chosen)
        written = self._write("save the products",
                              lambda: model.save_products(self.session, folder))
        if not written:
            return []
        self.window.recovery.mark_saved()
        self._remember_folder(folder)
        self.window.statusBar().showMessage(
            f"Saved {', '.join(path.name for path in written)} in {folder}", 10_000)
        return written

    def export_parameters(self) -> Path | None:
        """Ask where, and write the parameters as a jwst parameter file (ASDF)."""
        path = self.ask_save_path("Export pipeline parameters", "badpix_selfcal_pars.asdf",
                                  "ASDF parameter files (*.asdf)")
        if path is None:
            return None
        written = self._write("export the parameters",
                              lambda: model.export_parameters(self.session, path))
        if written is not None:
            self.window.statusBar().showMessage(f"Parameters written to {written}", 10_000)
        return written

    def export_edits(self) -> Path | None:
        """Write the hand edits as JSON for ``badpix-selfcal --edits``."""
        written = self._export("edits", "badpix_selfcal_edits.json", "Edits (*.json)",
                               lambda path: model.export_edits(self.session, path))
        if written is not None:
            self.window.recovery.mark_saved()
        return written

    def export_mask(self) -> Path | None:
        """Write the flags as FITS: ALGORITHM, MANUAL and FINAL planes."""
        return self._export("flag mask", "badpix_selfcal_flags.fits", "FITS (*.fits)",
                            lambda path: model.export_mask(self.session, path))

    def export_regions(self) -> Path | None:
        """Write a DS9 region file with a box on every finally flagged pixel (1-based)."""
        return self._export("DS9 regions", "badpix_selfcal_flags.reg", "DS9 regions (*.reg)",
                            lambda path: model.export_regions(self.session, path,
                                                              self.window.markers.records))

    def export_markers(self) -> Path | None:
        """Write the markers table (ECSV for .ecsv, CSV otherwise)."""
        path = self.ask_save_path("Export the markers", "markers.ecsv",
                                  "ECSV (*.ecsv);;CSV (*.csv)")
        if path is None:
            return None
        written = self._write("export the markers", lambda: self.window.markers.export(
            path, self.session.input_paths))
        if written is not None:
            self.window.statusBar().showMessage(f"Written {written}", 10_000)
        return written

    def export_panel_png(self, key: str) -> Path | None:
        """Save one image panel, as shown, to a PNG file."""
        panel = self.window.grid.panels[key]

        def write(target: Path) -> Path:
            return write_file(target, png_bytes(panel.graphics.grab()), self.session.input_paths)

        return self._export(f"{key} panel", f"{key}.png", "PNG (*.png)", write)

    def copy_strun(self) -> str:
        """Copy the strun command line to the clipboard."""
        line = model.strun_command(self.session)
        QGuiApplication.clipboard().setText(line)
        self.window.statusBar().showMessage(f"Copied: {line}", 10_000)
        return line
