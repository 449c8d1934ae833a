"""The inspector's main window: wires the session model to the panels, menus and docks."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import (
    QAction,
    QActionGroup,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QToolBar,
    QWidget,
)

from .. import __version__
from ..io import (
    EditLists,
    InputError,
    read_session,
    write_ds9_regions,
    write_edits,
    write_flag_mask,
    write_parameter_file,
    write_session,
)
from ..session import Session, SessionResult
from .dispatch import GuiDispatcher
from .exposures_panel import ExposuresPanel
from .histogram_panel import HistogramPanel
from .image_panels import COLORMAPS, PANELS, TOOLS, ImageGrid
from .inspector_panel import PixelInspector
from .markers_panel import MarkersPanel, marker_record
from .parameters_panel import ParametersPanel
from .stats_panel import StatisticsPanel
from .throttle import Throttle

__all__ = ["MainWindow", "strun_command"]


def _cache_folder() -> Path:
    """Return the per-user folder for the autosave (``$XDG_CACHE_HOME/badpix-inspector``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "badpix-inspector"

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
        self.histogram = HistogramPanel(self.session)
        self.inspector = PixelInspector(self.session)
        self.markers = MarkersPanel()
        area = Qt.DockWidgetArea
        self.docks = {
            "exposures": self._dock("Exposures", self.exposures, area.BottomDockWidgetArea),
            # Not scrolled: the compact form must always show whole (force_single, defaults).
            "parameters": self._dock("Parameters", self.parameters, area.RightDockWidgetArea),
            "statistics": self._dock("Flags", self.statistics, area.RightDockWidgetArea,
                                     scroll=True),
            "histogram": self._dock("Histogram", self.histogram, area.BottomDockWidgetArea),
            "inspector": self._dock("Pixel inspector", self.inspector,
                                    area.BottomDockWidgetArea),
            "markers": self._dock("Markers", self.markers, area.BottomDockWidgetArea),
        }
        self.splitDockWidget(self.docks["histogram"], self.docks["inspector"],
                             Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.docks["inspector"], self.docks["exposures"])
        self.tabifyDockWidget(self.docks["exposures"], self.docks["markers"])
        self.docks["exposures"].raise_()
        self.autosave_path = _cache_folder() / "autosave-session.json"
        self._saved_revision = 0
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(1000)
        self._autosave_timer.timeout.connect(self.write_autosave)
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

        # Numbers first, pictures in the next turn of the event loop: the counts show at once,
        # and a burst of results (a slider sweep) is drawn once, with the newest.
        self._draw_later = Throttle(0, self._draw_result, self)
        self.session.result_ready.connect(self._show_result)
        self.session.busy_changed.connect(self.busy_bar.setVisible)
        self.session.failed.connect(lambda message: self._error("Computing the flags failed",
                                                                message))
        self.session.exposures_changed.connect(self._exposures_changed)
        self.session.edits_changed.connect(self._edits_changed)
        self.session.selection_changed.connect(self.grid.show_selection)
        self.grid.pixel_clicked.connect(self._pixel_clicked)
        self.grid.edit_requested.connect(self.session.edit_pixels)
        self.markers.export_button.clicked.connect(lambda: self.export_markers())
        self.exposures.open_requested.connect(self.open_dialog)
        self.statistics.overlay_visible.connect(self.grid.set_overlay_visible)
        self.statistics.overlay_opacity.connect(self.grid.set_overlay_opacity)
        self.colormap.currentTextChanged.connect(self.grid.set_colormap)
        self.grid.hovered.connect(self._hovered)
        self.grid.set_overlay_opacity(self.statistics.opacity.value() / 100)
        self._restore_settings()
        self._edits_changed()  # nothing to undo yet
        self.statusBar().showMessage(
            "Open exposures or a spec2 association (Ctrl+O), drop files on the window, or try "
            "File ▸ Open demo data.")

    # -- construction --------------------------------------------------------------------

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea,
              scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        if scroll:  # a form that may be taller than its share of a small screen
            holder = QScrollArea()
            holder.setWidgetResizable(True)
            holder.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            holder.setFrameShape(QFrame.Shape.NoFrame)
            holder.setWidget(widget)
            widget = holder
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
        self.undo_action = self._action("&Undo edit", self.session.undo, standard.Undo)
        self.redo_action = self._action("&Redo edit", self.session.redo, "Ctrl+Shift+Z")
        self.clear_edits_action = self._action("Clear all edits", self.session.clear_edits, None)
        self.open_session_action = self._action("Open &session…", self.open_session_dialog,
                                                "Ctrl+Shift+O", "Open a saved session (JSON)")
        self.save_session_action = self._action("Save s&ession…", self.save_session_dialog,
                                                "Ctrl+Shift+S", "Save files, roles, "
                                                "parameters, edits, markers and view (JSON)")
        self.marker_action = self._action("Add &marker at the cursor", self.add_marker, "M")
        self.blink_action = self._action("&Blink: next exposure", lambda: self.blink(1), "B")
        self.blink_back_action = self._action("Blink: previous exposure", lambda: self.blink(-1),
                                              "Shift+B")
        self.export_edits_action = self._action("Edits (JSON, for badpix-selfcal --edits)…",
                                                lambda: self.export_edits(), None)
        self.export_mask_action = self._action("Flag mask (FITS)…", lambda: self.export_mask(),
                                               None)
        self.export_regions_action = self._action("DS9 regions of the flags…",
                                                  lambda: self.export_regions(), None)
        self.export_markers_action = self._action("Markers (CSV or ECSV)…",
                                                  lambda: self.export_markers(), None)
        self.panel_png_actions = [
            self._action(f"PNG of the {title[0].lower()}{title[1:]} panel…",
                         lambda _=False, k=key: self.export_panel_png(k), None)
            for key, title in PANELS
        ]
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for name, key in zip(TOOLS, ("I", "Ctrl+B", "Ctrl+U", "Ctrl+R", "Ctrl+Shift+R"),
                             strict=True):
            action = self._action(name.capitalize(), lambda _=False, n=name: self.set_tool(n), key)
            action.setCheckable(True)
            self.tool_group.addAction(action)
            self.tool_actions[name] = action
        self.tool_actions["inspect"].setChecked(True)
        # Toolbar buttons show short texts; the menus keep the full names.
        short = {self.save_action: "Save", self.export_action: "Export pars",
                 self.copy_action: "Copy strun", self.reset_view_action: "Fit",
                 self.undo_action: "Undo", self.redo_action: "Redo",
                 self.tool_actions["flag brush"]: "Flag",
                 self.tool_actions["unflag brush"]: "Unflag",
                 self.tool_actions["flag rectangle"]: "Flag box",
                 self.tool_actions["unflag rectangle"]: "Unflag box"}
        for action, text in short.items():
            action.setIconText(text)
        self.brush_radius = QSpinBox(objectName="brush_radius")
        self.brush_radius.setRange(0, 20)
        self.brush_radius.setValue(self.grid.brush_radius)
        self.brush_radius.setPrefix("brush r=")
        self.brush_radius.valueChanged.connect(lambda value: setattr(self.grid, "brush_radius",
                                                                     value))
        self.shortcuts_action = self._action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.about_action = self._action("&About", self.show_about, None)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        for action in (self.open_action, self.demo_action, self.open_session_action,
                       self.close_action, None, self.save_action, self.save_session_action,
                       self.export_action, self.copy_action):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        export_menu = file_menu.addMenu("E&xport")
        for action in (self.export_edits_action, self.export_mask_action,
                       self.export_regions_action, self.export_markers_action, None,
                       *self.panel_png_actions):
            export_menu.addSeparator() if action is None else export_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        for action in (self.undo_action, self.redo_action, self.clear_edits_action, None,
                       *self.tool_actions.values(), None, self.marker_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        parameters_menu = menu.addMenu("&Parameters")
        for action in (self.kernel_down, self.kernel_up, self.defaults_action):
            parameters_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        view_menu.addAction(self.reset_view_action)
        view_menu.addAction(self.toggle_flags_action)
        view_menu.addAction(self.blink_action)
        view_menu.addAction(self.blink_back_action)
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
        tools = QToolBar("Tools", objectName="tools_toolbar")
        tools.setMovable(False)
        for action in self.tool_actions.values():
            tools.addAction(action)
        tools.addWidget(self.brush_radius)
        tools.addSeparator()
        tools.addAction(self.undo_action)
        tools.addAction(self.redo_action)
        self.addToolBar(tools)
        # Arrow keys move the selected pixel while the images or the inspector have focus.
        for key, rows, columns in ((Qt.Key.Key_Up, 1, 0), (Qt.Key.Key_Down, -1, 0),
                                   (Qt.Key.Key_Left, 0, -1), (Qt.Key.Key_Right, 0, 1)):
            for owner in (self.grid, self.inspector):
                shortcut = QShortcut(QKeySequence(key), owner)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(
                    lambda r=rows, c=columns: self.session.move_selection(r, c))

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
                edits=self._edit_lists(),
            )  # fmt: skip
        except InputError as error:
            self._error("Cannot save the products", str(error))
            return []
        written = [outcome.science_product, *outcome.background_products]
        self._mark_saved()
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

    # -- hand edits, selection, markers, blink -------------------------------------------

    def set_tool(self, name: str) -> None:
        """Choose what the left mouse button does on the images (see `TOOLS`)."""
        self.grid.tool = name
        self.tool_actions[name].setChecked(True)
        self.statusBar().showMessage(f"Tool: {name}", 3000)

    def _pixel_clicked(self, row: int, column: int) -> None:
        self.session.select_pixel(row, column)
        self.docks["inspector"].raise_()

    def _edit_lists(self) -> EditLists | None:
        lists = self.session.edit_lists()
        if lists is None or (lists[0].size == 0 and lists[1].size == 0):
            return None
        return EditLists(lists[0], lists[1], self.session.edits.shape)

    def _edits_changed(self) -> None:
        edits = self.session.edits
        self.undo_action.setEnabled(bool(edits and edits.can_undo))
        self.redo_action.setEnabled(bool(edits and edits.can_redo))
        if self.has_unsaved_edits():
            self._autosave_timer.start()

    def has_unsaved_edits(self) -> bool:
        """Return True when hand edits changed since the last save."""
        edits = self.session.edits
        return edits is not None and edits.revision != self._saved_revision and \
            bool(edits.state.any())

    def _mark_saved(self) -> None:
        edits = self.session.edits
        self._saved_revision = edits.revision if edits is not None else 0
        self.remove_autosave()

    def add_marker(self, note: str = "") -> dict | None:
        """Record the pixel under the cursor (or the selected one) in the markers table."""
        result = self.session.result
        place = None
        if self._hover is not None:
            place = (self._hover[1], self._hover[0])
        elif self.session.selected is not None:
            place = self.session.selected
        if result is None or result.science is None or place is None:
            return None
        row, column = place
        rows, columns = result.science.shape
        if not (0 <= row < rows and 0 <= column < columns):
            return None
        record = marker_record(result, row, column, note)
        self.markers.add(record)
        self.statusBar().showMessage(f"Marker {len(self.markers.records)} at x={column} "
                                     f"y={row}", 5000)
        return record

    def blink(self, step: int) -> str | None:
        """Show the next (or previous) exposure in the science panel."""
        name = self.grid.blink(step)
        if name:
            self.statusBar().showMessage(f"Blink: {name}", 3000)
        return name

    # -- sessions and autosave -----------------------------------------------------------

    def session_state(self) -> dict:
        """Return everything a session file records."""
        view = self.grid.panels["combined"].plot.getViewBox().viewRange()
        return {
            **self.session.state(),
            "markers": self.markers.records,
            "view": {
                "x_range": list(view[0]), "y_range": list(view[1]),
                "colormap": self.colormap.currentText(),
                "panels": {key: {"limits": panel.limits.currentText(),
                                 "stretch": panel.stretch.currentText()}
                           for key, panel in self.grid.panels.items()},
            },
        }  # fmt: skip

    def save_session(self, path: str | Path) -> Path | None:
        """Write the session to ``path``; report a failure in the window."""
        try:
            written = write_session(path, self.session_state())
        except InputError as error:
            self._error("Cannot save the session", str(error))
            return None
        self._mark_saved()
        self.statusBar().showMessage(f"Session saved in {written}", 10_000)
        return written

    def open_session(self, path: str | Path) -> bool:
        """Restore a session file; on a bad file the window is left as it was."""
        try:
            state = read_session(path)
            self.session.restore(
                [(item["path"], item["role"]) for item in state["exposures"]],
                state.get("parameters"), state.get("dispaxis", "auto"), state.get("edits"),
                state.get("association"),
            )  # fmt: skip
        except (InputError, ValueError, TypeError) as error:
            self._error("Cannot open the session", str(error))
            return False
        self.markers.set_records(state.get("markers") or [])
        view = state.get("view") or {}
        if view.get("colormap") in COLORMAPS:
            self.colormap.setCurrentText(view["colormap"])
        for key, choices in (view.get("panels") or {}).items():
            panel = self.grid.panels.get(key)
            if panel is not None:
                panel.limits.setCurrentText(choices.get("limits", panel.limits.currentText()))
                panel.stretch.setCurrentText(choices.get("stretch", panel.stretch.currentText()))
        self._pending_view = view if "x_range" in view else None
        self.session.result_ready.connect(self._apply_pending_view)
        self._mark_saved()
        return True

    def _apply_pending_view(self, _result=None) -> None:
        self.session.result_ready.disconnect(self._apply_pending_view)
        view, self._pending_view = self._pending_view, None
        if view:
            self.grid.panels["combined"].plot.getViewBox().setRange(
                xRange=view["x_range"], yRange=view["y_range"], padding=0)

    def open_session_dialog(self) -> None:
        """Ask for a session file to open."""
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self._last_folder(),
                                              "Sessions (*.json)")
        if path:
            self.open_session(path)

    def save_session_dialog(self) -> Path | None:
        """Ask where to save the session."""
        default = str(Path(self._last_folder()) / "badpix_inspector_session.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save session", default, "Sessions (*.json)")
        return self.save_session(path) if path else None

    def write_autosave(self) -> None:
        """Write the current state where a crash cannot lose the edits."""
        if not self.has_unsaved_edits():
            return
        try:
            self.autosave_path.parent.mkdir(parents=True, exist_ok=True)
            write_session(self.autosave_path, self.session_state())
        except (InputError, OSError) as error:
            log.warning("autosave failed: %s", error)

    def remove_autosave(self) -> None:
        """Forget the autosaved edits (they are saved, or were discarded)."""
        self._autosave_timer.stop()
        self.autosave_path.unlink(missing_ok=True)

    def autosave_available(self) -> bool:
        """Return True when a previous run left unsaved edits behind."""
        return self.autosave_path.is_file()

    def restore_autosave(self) -> bool:
        """Restore the autosaved session; the edits then count as unsaved."""
        if not self.open_session(self.autosave_path):
            return False
        self._saved_revision = -1
        return True

    def offer_autosave(self) -> bool | None:
        """Offer to bring back hand edits that a previous run left unsaved.

        Returns True when they were restored, False when declined (the autosave is then
        removed), None when there was nothing to offer or nobody to ask (offscreen).
        """
        if not self.autosave_available():
            return None
        answer = self.ask(
            "Restore unsaved edits?",
            "badpix-inspector did not close normally last time and left unsaved hand edits. "
            "Restore them?", ("restore", "discard"))
        if answer == "restore":
            return self.restore_autosave()
        if answer == "discard":
            self.remove_autosave()
            return False
        return None

    def ask(self, title: str, text: str, answers: tuple[str, ...]) -> str | None:
        """Ask a question with a dialog; return the answer, or None offscreen (nobody there).

        ``answers`` are among "restore", "discard", "save" and "cancel". Tests replace this
        method to answer for the user.
        """
        if QApplication.platformName() == "offscreen":
            return None
        buttons = {"restore": QMessageBox.StandardButton.Yes,
                   "discard": QMessageBox.StandardButton.Discard,
                   "save": QMessageBox.StandardButton.Save,
                   "cancel": QMessageBox.StandardButton.Cancel}
        flags = QMessageBox.StandardButton.NoButton
        for answer in answers:
            flags |= buttons[answer]
        chosen = QMessageBox.question(self, title, text, flags)
        return next((answer for answer in answers if buttons[answer] == chosen), None)

    # -- exports -------------------------------------------------------------------------

    def _ask_path(self, title: str, name: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(self._last_folder()) / name),
                                              filters)
        return path or None

    def _export(self, title, path, name, filters, write):
        path = path or self._ask_path(title, name, filters)
        if not path:
            return None
        try:
            written = write(Path(path))
        except InputError as error:
            self._error(f"Cannot export: {title}", str(error))
            return None
        self.statusBar().showMessage(f"Written {written}", 10_000)
        return written

    def _science_name(self) -> str:
        science = self.session.science_entry
        return science.exposure.path.name if science else None

    def export_edits(self, path: str | Path | None = None) -> Path | None:
        """Write the hand edits as a JSON file for ``badpix-selfcal --edits``."""
        if self.session.edits is None:
            self._error("Nothing to export", "Open exposures first.")
            return None
        written = self._export("edits", path, "badpix_selfcal_edits.json", "Edits (*.json)",
                               lambda p: write_edits(p, self.session.edits.to_dict(),
                                                     self._science_name()))
        if written is not None:
            self._mark_saved()
        return written

    def export_mask(self, path: str | Path | None = None) -> Path | None:
        """Write the flags as FITS: ALGORITHM, MANUAL and FINAL planes."""
        result = self.session.result
        if result is None or result.flags is None:
            self._error("Nothing to export", "There are no flags yet.")
            return None
        edits = self.session.edits
        cards = {"SCIENCE": self._science_name() or "", "KERNEL": result.parameters.kernel_size,
                 "FRACLOW": result.parameters.flagfrac_lower,
                 "FRACHIGH": result.parameters.flagfrac_upper}
        return self._export("flag mask", path, "badpix_selfcal_flags.fits", "FITS (*.fits)",
                            lambda p: write_flag_mask(p, result.flags, edits.forced_bad,
                                                      edits.forced_good, result.final, cards))

    def export_regions(self, path: str | Path | None = None) -> Path | None:
        """Write a DS9 region file with a box on every finally flagged pixel."""
        result = self.session.result
        if result is None or result.final is None:
            self._error("Nothing to export", "There are no flags yet.")
            return None
        return self._export("DS9 regions", path, "badpix_selfcal_flags.reg",
                            "DS9 regions (*.reg)", lambda p: write_ds9_regions(p, result.final))

    def export_markers(self, path: str | Path | None = None) -> Path | None:
        """Write the markers table (ECSV for .ecsv, CSV otherwise)."""
        return self._export("markers", path, "markers.ecsv", "ECSV (*.ecsv);;CSV (*.csv)",
                            self.markers.export)

    def export_panel_png(self, key: str, path: str | Path | None = None) -> Path | None:
        """Save one image panel, as shown, to a PNG file."""
        panel = self.grid.panels[key]

        def write(target: Path) -> Path:
            if not panel.graphics.grab().save(str(target), "PNG"):
                raise InputError(target, "cannot be written", "choose another path")
            return target

        return self._export(f"{key} panel", path, f"{key}.png", "PNG (*.png)", write)

    def copy_strun(self) -> str:
        """Copy the strun command line to the clipboard."""
        line = strun_command(self.session)
        QGuiApplication.clipboard().setText(line)
        self.statusBar().showMessage(f"Copied: {line}", 10_000)
        return line

    # -- showing -------------------------------------------------------------------------

    def _show_result(self, result: SessionResult) -> None:
        if result.status != "complete":
            self.statusBar().showMessage(result.message, 10_000)
        self._draw_later(result)

    def _draw_result(self, result: SessionResult) -> None:
        if result is not self.session.result:
            return  # a newer one is on its way
        self.grid.show_result(result)
        if self._hover is not None:
            self._hovered(*self._hover)

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
        # The same look-ups as a marker's; the status line only formats them.
        record = marker_record(result, row, column)
        parts = [f"x={column} y={row}"]
        for key, label in (("combined", "combined"), ("filtered", "filtered"),
                           ("difference", "diff"), ("science", "science")):
            if record[key] is not None:
                parts.append(f"{label}={record[key]:.5g}")
        if record["dq"] is not None:
            names = ", ".join(record["dq_names"].split()) or "GOOD"
            parts.append(f"DQ={record['dq']} ({names})")
        if record["algorithm_flag"]:
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
        """Ask about unsaved edits, save settings and stop the worker."""
        if self.has_unsaved_edits():
            answer = self.ask(
                "Unsaved hand edits",
                "There are hand edits that are not saved. Save the session before quitting?",
                ("save", "discard", "cancel"))
            if answer == "cancel" or (answer == "save" and self.save_session_dialog() is None):
                event.ignore()
                return
            if answer == "discard":
                self._saved_revision = self.session.edits.revision  # the user let them go
                self.remove_autosave()
            elif answer is None:
                self.write_autosave()  # nobody to ask: keep them for the next run
        if self.remember_settings:
            self.save_settings()
        if not self.has_unsaved_edits():
            self.remove_autosave()
        self._autosave_timer.stop()
        # Rate-limited signals keep timers: stop them so none fires on a deleted view.
        self.grid.disconnect_signals()
        self.histogram.disconnect_signals()
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

