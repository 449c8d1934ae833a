"""The inspector's main window: wires the session model to the panels, menus and docks."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QWidget,
)

from .. import __version__
from ..core.dqflags import decode_dq
from ..io import InputError, write_parameter_file
from ..session import Session, SessionResult
from .dispatch import GuiDispatcher
from .exposures_panel import ExposuresPanel
from .image_panels import COLORMAPS, ImageGrid
from .parameters_panel import ParametersPanel
from .stats_panel import StatisticsPanel

__all__ = ["MainWindow", "strun_command"]

log = logging.getLogger(__name__)

_FILE_FILTERS = "JWST exposures and associations (*.fits *.fits.gz *.json);;FITS (*.fits *.fits.gz);;Associations (*.json);;All files (*)"  # noqa: E501


def strun_command(session: Session) -> str:
    """Return a ``strun calwebb_spec2`` line that runs the step with the session's values."""
    parameters = session.parameters
    target = session.association or (session.science_entry.exposure.path
                                      if session.science_entry else Path("INPUT_rate.fits"))
    prefix = "--steps.badpix_selfcal."
    words = ["strun", "calwebb_spec2", str(target), f"{prefix}skip=False",
             f"{prefix}kernel_size={parameters.kernel_size}",
             f"{prefix}flagfrac_lower={parameters.flagfrac_lower:g}",
             f"{prefix}flagfrac_upper={parameters.flagfrac_upper:g}"]
    if parameters.force_single:
        words.append(f"{prefix}force_single=True")
    if parameters.save_flagged_bkg:
        words.append(f"{prefix}save_flagged_bkg=True")
    return shlex.join(words)


class MainWindow(QMainWindow):
    """The inspector: four linked images, exposures, parameters and statistics docks."""

    def __init__(self, settings: QSettings | None = None, remember_settings: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(f"badpix-inspector {__version__}")
        self.setObjectName("main_window")
        self.settings = settings or QSettings("badpix-inspector", "badpix-inspector")
        #: Save the last folder, geometry, docks and display choices (scripted runs do not).
        self.remember_settings = remember_settings
        self.dispatcher = GuiDispatcher(self)
        self.session = Session(dispatch=self.dispatcher)
        self.grid = ImageGrid()
        self.setCentralWidget(self.grid)
        self.exposures = ExposuresPanel(self.session)
        self.parameters = ParametersPanel(self.session)
        self.statistics = StatisticsPanel(self.session)
        area = Qt.DockWidgetArea
        self.docks = {
            "exposures": self._dock("Exposures", self.exposures, area.BottomDockWidgetArea),
            "parameters": self._dock("Parameters", self.parameters, area.RightDockWidgetArea),
            "statistics": self._dock("Flags", self.statistics, area.RightDockWidgetArea),
        }
        self.cursor_label = QLabel("", objectName="cursor_readout")
        self.cursor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy_bar = QProgressBar(objectName="busy")
        self.busy_bar.setRange(0, 0)  # an indeterminate "working" bar
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setVisible(False)
        self.statusBar().addWidget(self.cursor_label, 1)
        self.statusBar().addPermanentWidget(self.busy_bar)
        self.colormap = QComboBox(objectName="colormap")
        self.colormap.addItems(COLORMAPS)
        self.colormap.setToolTip("Colour map of every panel")
        self._build_actions()
        self.setAcceptDrops(True)
        self._hover: tuple[int, int] | None = None

        self.session.result_ready.connect(self._show_result)
        self.session.busy_changed.connect(self.busy_bar.setVisible)
        self.session.failed.connect(lambda message: self._error("Computing the flags failed",
                                                                message))
        self.session.exposures_changed.connect(self._exposures_changed)
        self.exposures.open_requested.connect(self.open_dialog)
        self.statistics.overlay_visible.connect(self.grid.set_overlay_visible)
        self.statistics.overlay_opacity.connect(self.grid.set_overlay_opacity)
        self.colormap.currentTextChanged.connect(self.grid.set_colormap)
        self.grid.hovered.connect(self._hovered)
        self.grid.set_overlay_opacity(self.statistics.opacity.value() / 100)
        self._restore_settings()

    # -- construction --------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(f"{text} ({QKeySequence(shortcut).toString()})" if shortcut else text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        standard = QKeySequence.StandardKey
        self.open_action = self._action("&Open…", self.open_dialog, standard.Open,
                                        "Open FITS exposures or a spec2 association")
        self.demo_action = self._action("Open &demo data", self.open_demo, None,
                                        "A synthetic MIRI MRS association")
        self.close_action = self._action("&Close all", self.session.clear, None)
        self.save_action = self._action("&Save flagged products…", self.save_products,
                                        standard.Save, "Write the flagged science (and "
                                        "background) products, as badpix-selfcal does")
        self.export_action = self._action("&Export pipeline parameters…", self.export_parameters,
                                          "Ctrl+E", "Write a jwst parameter file (ASDF)")
        self.copy_action = self._action("Copy &strun command", self.copy_strun, "Ctrl+Shift+C",
                                        "Copy a strun calwebb_spec2 line with these values")
        self.quit_action = self._action("&Quit", self.close, standard.Quit)
        self.reset_view_action = self._action("&Reset zoom", self.grid.reset_view, "Home")
        self.toggle_flags_action = self._action(
            "Show &flags", self.statistics.show_flags.toggle, "F")
        self.kernel_down = self._action("Smaller kernel", lambda: self.parameters.step_kernel(-1),
                                        "[")
        self.kernel_up = self._action("Larger kernel", lambda: self.parameters.step_kernel(1), "]")
        self.defaults_action = self._action("Pipeline &defaults", self.session.reset_parameters,
                                            "Ctrl+0")
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.about_action = self._action("&About", self.show_about, None)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.open_action, self.demo_action, self.close_action, None,
                       self.save_action, self.export_action, self.copy_action, None,
                       self.quit_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        parameters_menu = menu.addMenu("&Parameters")
        for action in (self.kernel_down, self.kernel_up, self.defaults_action):
            parameters_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.reset_view_action)
        view_menu.addAction(self.toggle_flags_action)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main", objectName="toolbar")
        toolbar.setMovable(False)
        for action in (self.open_action, self.save_action, self.export_action, self.copy_action,
                       self.reset_view_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" colour map "))
        toolbar.addWidget(self.colormap)
        self.addToolBar(toolbar)

    # -- opening -------------------------------------------------------------------------

    def open_paths(self, paths) -> bool:
        """Open files or associations; a bad one is reported in a dialog. Return success."""
        paths = [Path(path) for path in paths]
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.session.open_paths(paths)
        except InputError as error:
            QApplication.restoreOverrideCursor()
            self._error("Cannot open", str(error))
            return False
        QApplication.restoreOverrideCursor()
        if paths:
            self._remember("last_folder", str(paths[0].resolve().parent))
        return True

    def open_dialog(self) -> None:
        """Ask for files to open."""
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open exposures or an association", self._last_folder(), _FILE_FILTERS)
        if paths:
            self.open_paths(paths)

    def open_demo(self) -> None:
        """Open the synthetic MIRI MRS association (written once to a cache folder)."""
        from ..simulate import demo_association

        self.statusBar().showMessage("Preparing the demo data…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            association = demo_association()
        except OSError as error:
            QApplication.restoreOverrideCursor()
            self._error("Cannot write the demo data", str(error))
            return
        QApplication.restoreOverrideCursor()
        self.statusBar().clearMessage()
        self.session.clear()
        self.open_paths([association])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept local files dragged over the window."""
        if event.mimeData().hasUrls() and all(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped files."""
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # -- saving --------------------------------------------------------------------------

    def save_products(self, output_dir: str | Path | None = None) -> list[Path]:
        """Write the flagged products with the command's writer; return the paths written."""
        from ..process import run_product

        result = self.session.result
        if result is None or result.status == "empty":
            self._error("Nothing to save", "Open exposures and give one the science role.")
            return []
        if output_dir is None:
            chosen = QFileDialog.getExistingDirectory(self, "Save flagged products in",
                                                      self._last_folder())
            if not chosen:
                return []
            output_dir = chosen
        output_dir = Path(output_dir)
        try:
            members = self.session.members()
            outcome = run_product(
                members, self.session.parameters, output_dir,
                extra_mask=result.flags, dispaxis=self.session.dispaxis,
            )  # fmt: skip
        except InputError as error:
            self._error("Cannot save the products", str(error))
            return []
        written = [outcome.science_product, *outcome.background_products]
        self._remember("last_folder", str(output_dir))
        self.statusBar().showMessage(
            f"Saved {', '.join(path.name for path in written)} in {output_dir}", 10_000)
        return written

    def export_parameters(self, path: str | Path | None = None) -> Path | None:
        """Write the parameters as a jwst parameter file (ASDF)."""
        if path is None:
            default = str(Path(self._last_folder()) / "badpix_selfcal_pars.asdf")
            path, _ = QFileDialog.getSaveFileName(self, "Export pipeline parameters", default,
                                                  "ASDF parameter files (*.asdf)")
            if not path:
                return None
        try:
            written = write_parameter_file(path, self.session.parameters)
        except InputError as error:
            self._error("Cannot export the parameters", str(error))
            return None
        self.statusBar().showMessage(f"Parameters written to {written}", 10_000)
        return written

    def copy_strun(self) -> str:
        """Copy the strun command line to the clipboard."""
        line = strun_command(self.session)
        QGuiApplication.clipboard().setText(line)
        self.statusBar().showMessage(f"Copied: {line}", 10_000)
        return line

    # -- showing -------------------------------------------------------------------------

    def _show_result(self, result: SessionResult) -> None:
        self.grid.show_result(result)
        if self._hover is not None:
            self._hovered(*self._hover)
        if result.status != "complete":
            self.statusBar().showMessage(result.message, 10_000)

    def _exposures_changed(self) -> None:
        science = self.session.science_entry
        name = f" — {science.name}" if science else ""
        self.setWindowTitle(f"badpix-inspector {__version__}{name}")

    def _hovered(self, column: int, row: int) -> None:
        self._hover = (column, row)
        self.cursor_label.setText(self.describe_pixel(column, row))

    def describe_pixel(self, column: int, row: int) -> str:
        """Return the status-bar text for pixel (column, row): values, DQ, minimum's source."""
        result = self.session.result
        if result is None or result.science is None:
            return ""
        rows, columns = result.science.shape
        if not (0 <= row < rows and 0 <= column < columns):
            return f"x={column} y={row} (outside the detector)"
        parts = [f"x={column} y={row}"]
        for key, label in (("combined", "combined"), ("smoothed", "filtered"),
                           ("difference", "diff"), ("science", "science")):
            data = getattr(result, key)
            if data is not None:
                parts.append(f"{label}={data[row, column]:.5g}")
        if result.science_dq is not None:
            value = int(result.science_dq[row, column])
            names = ", ".join(decode_dq(value)) or "GOOD"
            parts.append(f"DQ={value} ({names})")
        if result.flags is not None and result.flags[row, column]:
            parts.append("FLAGGED")
        if result.source_index is not None:
            source = int(result.source_index[row, column])
            if source >= 0:
                entry = result.used[source]
                parts.append(f"min from {entry.name} ({entry.role})")
        return "   ".join(parts)

    # -- messages and settings -----------------------------------------------------------

    def _error(self, title: str, message: str) -> None:
        log.error("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15_000)
        if QApplication.platformName() == "offscreen":
            return  # nobody could close a dialog; the status bar says it
        QMessageBox.critical(self, title, message)

    def show_shortcuts(self) -> None:
        """List the keyboard shortcuts."""
        lines = [f"{action.shortcut().toString():>14}   {action.text().replace('&', '')}"
                 for action in self.actions() if not action.shortcut().isEmpty()]
        QMessageBox.information(self, "Keyboard shortcuts", "\n".join(lines))

    def show_about(self) -> None:
        """Say what the tool is."""
        QMessageBox.about(self, "About badpix-inspector", (
            f"<b>badpix-inspector {__version__}</b><br>Tune and check JWST's badpix_selfcal "
            "step; the flags are jwst 3.0.0's, bit for bit."))

    def _remember(self, key: str, value) -> None:
        if self.remember_settings:
            self.settings.setValue(key, value)

    def _last_folder(self) -> str:
        return str(self.settings.value("last_folder", str(Path.cwd())))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 950)
            self.resizeDocks([self.docks["exposures"]], [190], Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["parameters"], self.docks["statistics"]], [370, 370],
                             Qt.Orientation.Horizontal)
        state = self.settings.value("window_state")
        if state is not None:
            self.restoreState(state)
        colormap = self.settings.value("colormap", "inferno")
        if colormap in COLORMAPS:
            self.colormap.setCurrentText(colormap)
            self.grid.set_colormap(colormap)
        for key, panel in self.grid.panels.items():
            for name, combo in (("limits", panel.limits), ("stretch", panel.stretch)):
                value = self.settings.value(f"{key}/{name}")
                if value is not None and combo.findText(value) >= 0:
                    combo.setCurrentText(value)

    def save_settings(self) -> None:
        """Remember geometry, docks, colour map, limits and stretches."""
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("colormap", self.colormap.currentText())
        for key, panel in self.grid.panels.items():
            self.settings.setValue(f"{key}/limits", panel.limits.currentText())
            self.settings.setValue(f"{key}/stretch", panel.stretch.currentText())
        self.settings.sync()

    def closeEvent(self, event) -> None:
        """Save settings and stop the worker."""
        if self.remember_settings:
            self.save_settings()
        # Wait for a computation under way, so it cannot reach the dispatcher once Qt
        # has destroyed it (that crashed the interpreter at exit).
        self.session.close(wait=True)
        super().closeEvent(event)

    def grab_after_first_result(self, path: str | Path, callback) -> None:
        """Save a screenshot to ``path`` once the first result is drawn, then call back."""

        def shoot(_result=None) -> None:
            self.session.result_ready.disconnect(shoot)
            # Let the panels paint the new images before grabbing.
            QTimer.singleShot(300, lambda: callback(self.grab().save(str(path))))

        nothing_coming = not self.session.entries and not self.session.busy
        if nothing_coming or (self.session.result is not None and not self.session.busy):
            QTimer.singleShot(300, lambda: callback(self.grab().save(str(path))))
        else:
            self.session.result_ready.connect(shoot)

