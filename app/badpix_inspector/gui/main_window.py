"""The inspector's main window: wires the models to the panels, menus, docks and status bar.

What the menus do is declared in `actions.ACTIONS`; opening and writing files is in
`file_commands`, sessions and the autosave in `recovery`; the state they act on lives in
the Qt-free models (`Session`, `badpix_inspector.model`).
"""

from __future__ import annotations

import logging

from PyQt6.QtCore import QEvent, QSettings, QSignalBlocker, Qt, QTimer
from PyQt6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
)

from .. import __version__
from ..io import InputError, write_file
from ..model import MarkersModel, dataset_key, describe_pixel, pixel_label
from ..session import Session, SessionResult
from .actions import (
    FocusedWheel,
    SingleKeyShortcuts,
    build_actions,
    build_menus,
    build_toolbars,
    show_shortcuts_dialog,
)
from .compare_panel import DecideCommands, DecidePanel
from .dispatch import GuiDispatcher
from .exposures_panel import ExposuresPanel
from .file_commands import FileCommands
from .histogram_panel import HistogramPanel
from .image_panels import COLORMAPS, ImageGrid
from .inspector_panel import PixelInspector
from .interop import Interop
from .layout import build_docks, default_dock_sizes, restore_settings, save_settings
from .markers_panel import MarkersPanel
from .parameters_panel import ParametersPanel
from .plot_menu import png_bytes
from .recovery import Recovery
from .stats_panel import StatisticsPanel
from .throttle import Throttle

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

_HINT = ("Open exposures or a spec2 association (Ctrl+O), drop files on the window, or try "
         "File ▸ Open demo data.")

#: Milliseconds of work before the status bar's "working" bar shows.
BUSY_DELAY_MS = 300


class MainWindow(QMainWindow):
    """The inspector: four linked images, exposures, parameters and statistics docks.

    ``interactive`` is False offscreen, where nobody could answer a dialog: questions then
    go unanswered and errors go to the status bar only.
    """

    def __init__(self, settings: QSettings | None = None, remember_settings: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(f"badpix-inspector {__version__}")
        self.setObjectName("main_window")
        self.settings = settings or QSettings("badpix-inspector", "badpix-inspector")
        #: Save the last folder, geometry, docks and display choices (scripted runs do not).
        self.remember_settings = remember_settings
        self.interactive = QApplication.platformName() not in ("offscreen", "minimal")
        self.dispatcher = GuiDispatcher(self)
        self.session = Session(dispatch=self.dispatcher)
        self.markers = MarkersModel()
        self.files = FileCommands(self)
        self.recovery = Recovery(self)
        self.grid = ImageGrid()
        # Colour indices and pooled labels are made on the worker, not the GUI thread.
        self.session.prepare = self.grid.prepare
        self.session.awaits_display = True
        self.setCentralWidget(self.grid)
        self.exposures = ExposuresPanel(self.session)
        self.parameters = ParametersPanel(self.session)
        self.statistics = StatisticsPanel(self.session)
        self.decide = DecideCommands(self)
        self.decide_panel = DecidePanel(self.session, self.decide.reference)
        # In the Flags dock, between the counts and the flags' legend.
        self.statistics.layout().insertWidget(2, self.decide_panel)
        self.interop = Interop(self)
        self.histogram = HistogramPanel(self.session)
        self.inspector = PixelInspector(self.session)
        self.markers_panel = MarkersPanel(self.markers)
        self.docks = build_docks(self)
        self._build_status_bar()
        self.colormap = QComboBox(objectName="colormap")
        self.colormap.addItems(COLORMAPS)
        self.colormap.setToolTip("Colour map of every panel")
        self.brush_radius = QSpinBox(objectName="brush_radius")
        self.brush_radius.setRange(0, 20)
        self.brush_radius.setValue(self.grid.brush_radius)
        self.brush_radius.setPrefix("brush r=")
        self.named_actions = build_actions(self)
        self.menus = build_menus(self, self.named_actions)
        self.toolbars = build_toolbars(self, self.named_actions)
        self.toolbars["main"].addSeparator()
        self.toolbars["main"].addWidget(QLabel(" colour map "))
        self.toolbars["main"].addWidget(self.colormap)
        self.toolbars["tools"].addWidget(self.brush_radius)
        for dock in self.docks.values():
            self.menus["&View"].addAction(dock.toggleViewAction())
        self.named_actions["tool_inspect"].setChecked(True)
        self.named_actions["overlay_flags"].setChecked(True)
        self.single_keys = SingleKeyShortcuts(self, self.named_actions)
        QApplication.instance().installEventFilter(self.single_keys)
        self.focused_wheel = FocusedWheel(self)
        QApplication.instance().installEventFilter(self.focused_wheel)
        self._arrow_keys()
        self.setAcceptDrops(True)
        self._hover: tuple[int, int] | None = None
        self._last_failure: str | None = None  # the failure last said in a dialog
        self._status_message = ""  # the last message about the result's status
        self._dataset: str | None = None
        self._connect()
        self._default_state = self.saveState()
        restore_settings(self)
        self._colormap_changed(*self.grid.colormap())  # the toolbar shows what is drawn
        self._edits_changed()  # nothing to undo yet
        self.cursor_label.setText(_HINT)

    # -- construction --------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        # The readout is a permanent widget: passing messages ("Saved …") take the space to
        # its left and never paint over it (a normal widget is hidden by every message).
        self.cursor_label = QLabel("", objectName="cursor_readout")
        self.cursor_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cursor_label.setMinimumWidth(200)
        self.busy_bar = QProgressBar(objectName="busy")
        self.busy_bar.setRange(0, 0)  # an indeterminate "working" bar
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setVisible(False)
        self.statusBar().addPermanentWidget(self.cursor_label)
        self.statusBar().addPermanentWidget(self.busy_bar)
        # A passing message ("Saved … in FOLDER") gets the whole bar for its few seconds;
        # beside the readout it was cut short, and where a file went is what it says.
        self.statusBar().messageChanged.connect(
            lambda text: self.cursor_label.setVisible(not text))

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            self._busy_later.start()
        else:
            self._busy_later.stop()
            self.busy_bar.setVisible(False)

    def _arrow_keys(self) -> None:
        # Arrow keys move the selected pixel while the images or the inspector have focus.
        for key, rows, columns in ((Qt.Key.Key_Up, 1, 0), (Qt.Key.Key_Down, -1, 0),
                                   (Qt.Key.Key_Left, 0, -1), (Qt.Key.Key_Right, 0, 1)):
            for owner in (self.grid, self.inspector):
                shortcut = QShortcut(QKeySequence(key), owner)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(
                    lambda r=rows, c=columns: self.session.move_selection(r, c))

    def _connect(self) -> None:
        # Numbers first, pictures in the next turn of the event loop: the counts show at once,
        # and a burst of results (a slider sweep) is drawn once, with the newest.
        self._draw_later = Throttle(0, self._draw_result, self)
        session = self.session
        session.result_ready.connect(self._show_result)
        session.display_ready.connect(self._draw_later)  # once the worker made the pictures
        # The "working" bar shows only for work that lasts: flashing it for each of a
        # slider's results (50 ms each) drew the eye, and redrew the status bar each time.
        self._busy_later = QTimer(self, singleShot=True, interval=BUSY_DELAY_MS)
        self._busy_later.timeout.connect(lambda: self.busy_bar.setVisible(self.session.busy))
        session.busy_changed.connect(self._busy_changed)
        session.failed.connect(self._computation_failed)
        session.exposures_changed.connect(self._exposures_changed)
        session.edits_changed.connect(self._edits_changed)
        session.selection_changed.connect(self.grid.show_selection)
        self.grid.pixel_clicked.connect(self._pixel_clicked)
        self.grid.blink_failed.connect(
            lambda message: self.statusBar().showMessage(f"Blink: {message}", 10_000))
        self.grid.edit_requested.connect(session.edit_pixels)
        self.grid.hovered.connect(self._hovered)
        self.grid.installEventFilter(self)
        self.grid.inputs = lambda: self.session.input_paths
        self.markers_panel.export_button.clicked.connect(self.named_actions["export_markers"].trigger)
        self.exposures.open_requested.connect(self.named_actions["open"].trigger)
        self.statistics.overlay_visible.connect(self.grid.set_overlay_visible)
        panel, actions = self.decide_panel, self.named_actions
        panel.overlay_mode.currentIndexChanged.connect(
            lambda index: self.decide.set_overlay_mode(panel.overlay_mode.itemData(index)))
        panel.pin_button.clicked.connect(actions["pin_reference"].trigger)
        panel.restore_button.clicked.connect(actions["restore_reference"].trigger)
        panel.unflag_button.clicked.connect(actions["unflag_suspect"].trigger)
        self.parameters.suggest.clicked.connect(actions["suggest_fractions"].trigger)
        self.statistics.overlay_opacity.connect(self.grid.set_overlay_opacity)
        self.colormap.currentTextChanged.connect(self.grid.set_colormap)
        # A panel's own menu can change the colour map too: the toolbar follows.
        self.grid.colormap_changed.connect(self._colormap_changed)
        # The window's Escape action leaves blink whatever has the focus; two Escape
        # shortcuts would be ambiguous to Qt, which then fires neither.
        self.grid.escape_shortcut.setEnabled(False)
        self.markers.changed.connect(self._markers_changed)
        self.brush_radius.valueChanged.connect(lambda value: setattr(self.grid, "brush_radius",
                                                                     value))
        self.grid.set_overlay_opacity(self.statistics.opacity.value() / 100)

    # -- slots of the actions (no argument a person cannot give) -------------------------

    def open_paths(self, paths) -> bool:
        """Open files or associations (the command line, drops); return success."""
        return self.files.open_paths(paths)

    def close_all(self) -> None:
        """Forget every exposure, the edits with them (asked first), and the selection."""
        if not self.recovery.may_close():
            return
        self.session.clear()
        self._hover = None

    def set_tool(self, name: str) -> None:
        """Choose what the left mouse button does on the images (see `TOOLS`)."""
        self.grid.tool = name
        self.named_actions[f"tool_{name.replace(' ', '_')}"].setChecked(True)
        self.statusBar().showMessage(f"Tool: {name}", 3000)

    def add_marker(self) -> dict | None:
        """Record the pixel under the cursor (or the selected one) in the markers table."""
        # The pixel under the pointer while it is over the images (`_hover` is forgotten
        # when the pointer leaves them); else the selected one.
        place = (self._hover[1], self._hover[0]) if self._hover else self.session.selected
        if place is None:
            return None
        record = self.markers.add_pixel(self.session.result, *place)
        if record is not None:
            self.docks["markers"].raise_()
            self.statusBar().showMessage(
                f"Marker {len(self.markers)} at {pixel_label(*place)}", 5000)
        return record

    def invert_colormap(self) -> None:
        """Invert the colour map of every panel (again to undo)."""
        _name, inverted = self.grid.colormap()
        self.grid.set_colormap_inverted(not inverted)

    def _colormap_changed(self, name: str, inverted: bool) -> None:
        blocker = QSignalBlocker(self.colormap)
        self.colormap.setCurrentText(name)
        del blocker
        self.named_actions["invert_colormap"].setChecked(inverted)

    def _markers_changed(self) -> None:
        self.grid.set_markers((record["row"], record["column"], str(number))
                              for number, record in enumerate(self.markers.records, start=1))

    def blink(self, step: int) -> str | None:
        """Show the next (or previous) exposure in the science panel."""
        name = self.grid.blink(step)
        if name:
            self.statusBar().showMessage(f"Blink: {name}", 3000)
        return name

    def leave_blink(self) -> None:
        """Show the science exposure again in the science panel."""
        self.grid.stop_blink()

    def reset_layout(self) -> None:
        """Put the docks back where and as large as they are at the first start."""
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.docks["exposures"].raise_()
        default_dock_sizes(self)

    def show_shortcuts(self) -> None:
        """Show the keyboard shortcuts as a table."""
        show_shortcuts_dialog(self, self.named_actions)

    def show_about(self) -> None:
        """Say what the tool is."""
        if self.interactive:
            QMessageBox.about(self, "About badpix-inspector", (
                f"<b>badpix-inspector {__version__}</b><br>Tune and check JWST's badpix_selfcal "
                "step; the flags are jwst 3.0.0's, bit for bit."))

    # -- showing -------------------------------------------------------------------------

    def _computation_failed(self, message: str) -> None:
        # Said in a dialog once: the same failure again (each change of a setting retries)
        # goes to the status bar; the Flags dock and the panels' titles keep saying it.
        self.grid.set_stale(True)
        if message == self._last_failure:
            self.statusBar().showMessage(f"Computing the flags failed: {message}", 15_000)
            return
        self._last_failure = message
        self.error("Computing the flags failed", message)

    def _show_result(self, result: SessionResult) -> None:
        self._last_failure = None
        self.grid.set_stale(False)
        status_bar = self.statusBar()
        if result.status != "complete":
            status_bar.showMessage(result.message, 10_000)
            self._status_message = result.message
        elif self._status_message and status_bar.currentMessage() == self._status_message:
            status_bar.clearMessage()  # "the pipeline would skip…" no longer holds

    def _draw_result(self, result: SessionResult) -> None:
        if result is not self.session.result:
            return  # a newer one is on its way
        self.grid.show_result(result)
        self.session.displayed(result)  # the previous images are let go: it may go on
        self.recovery.apply_pending_view()
        if self._hover is not None:  # new values under a pointer that did not move
            self.cursor_label.setText(self.describe_pixel(*self._hover))

    def _exposures_changed(self) -> None:
        science = self.session.science_entry
        name = f" — {science.name}" if science else ""
        self.setWindowTitle(f"badpix-inspector {__version__}{name}")
        key = dataset_key(entry.exposure.path for entry in self.session.entries)
        if key != self._dataset:  # other data: nothing of the old pointer applies
            self._dataset = key
            self._hover = None
            self.decide.forget_reference()  # A was pinned on the old data
            for panel in self.grid.panels.values():
                panel.vline.setVisible(False)
                panel.hline.setVisible(False)
            self.cursor_label.setText("" if self.session.entries else _HINT)
        self.recovery.dataset_changed()

    def _pixel_clicked(self, row: int, column: int) -> None:
        shape = self.session.edits.shape if self.session.edits is not None else None
        if shape is None or not (0 <= row < shape[0] and 0 <= column < shape[1]):
            self.statusBar().showMessage(f"{pixel_label(row, column)} is outside the detector",
                                         5000)
            return
        self.session.select_pixel(row, column)
        self.docks["inspector"].raise_()

    def _edits_changed(self) -> None:
        edits = self.session.edits
        self.named_actions["undo"].setEnabled(bool(edits and edits.can_undo))
        self.named_actions["redo"].setEnabled(bool(edits and edits.can_redo))
        self.recovery.edits_changed()

    def eventFilter(self, watched, event) -> bool:
        """Forget the hovered pixel when the pointer leaves the images.

        ``M`` then takes the selected pixel, not the last one hovered.
        """
        if watched is self.grid and event.type() == QEvent.Type.Leave:
            self._hover = None
        return super().eventFilter(watched, event)

    def _hovered(self, column: int, row: int) -> None:
        if self.statusBar().currentMessage():
            self.statusBar().clearMessage()  # the pointer is back on the images: the readout
        self._hover = (column, row)
        self.cursor_label.setText(self.describe_pixel(column, row))

    def describe_pixel(self, column: int, row: int) -> str:
        """Return the status-bar text for pixel (row, column) (0-based): both conventions."""
        return describe_pixel(self.session.result, row, column)

    # -- messages, settings, closing -----------------------------------------------------

    def error(self, title: str, message: str) -> None:
        """Report an error: the log, the status bar and (with a person there) a dialog."""
        log.error("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15_000)
        if self.interactive:
            QMessageBox.critical(self, title, message)

    def ask(self, title: str, text: str, answers: tuple[str, ...]) -> str | None:
        """Ask a question; return the answer, or None when nobody is there (offscreen).

        ``answers`` are among "restore", "discard", "save" and "cancel".
        """
        if not self.interactive:
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

    def remember(self, key: str, value) -> None:
        """Store a setting, unless this is a scripted run."""
        if self.remember_settings:
            self.settings.setValue(key, value)

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

    def closeEvent(self, event) -> None:
        """Ask about unsaved edits, save settings and stop the worker."""
        if not self.recovery.may_close():
            event.ignore()
            return
        if self.remember_settings:
            save_settings(self)
        self.recovery.close()
        QApplication.instance().removeEventFilter(self.single_keys)
        QApplication.instance().removeEventFilter(self.focused_wheel)
        # Rate-limited signals keep timers: stop them so none fires on a deleted view.
        self.grid.disconnect_signals()
        self.histogram.disconnect_signals()
        self.markers_panel.disconnect_model()
        self.decide_panel.disconnect_model()
        # Wait for a computation under way, so it cannot reach the dispatcher once Qt
        # has destroyed it (that crashed the interpreter at exit).
        self.session.close(wait=True)
        super().closeEvent(event)

    def grab_after_first_result(self, path, callback) -> None:
        """Save a screenshot to ``path`` once the first result is drawn, then call back.

        The picture goes through the output guard like every file the tools write (never
        over an input, atomically); ``callback`` gets None, or the error's one line.
        """

        def save() -> None:
            try:
                write_file(path, png_bytes(self.grab()), self.session.input_paths)
            except InputError as error:
                callback(str(error))
            else:
                callback(None)

        def shoot(_result=None) -> None:
            self.session.result_ready.disconnect(shoot)
            # Let the panels paint the new images before grabbing.
            QTimer.singleShot(300, save)

        nothing_coming = not self.session.entries and not self.session.busy
        if nothing_coming or (self.session.result is not None and not self.session.busy):
            QTimer.singleShot(300, save)
        else:
            self.session.result_ready.connect(shoot)
