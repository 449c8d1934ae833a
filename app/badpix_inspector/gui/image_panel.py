"""One image panel: the image, its colour bar, limits and stretch, crosshair, markers, menu.

Coordinates follow numpy, 0-based: pixel (row, column) covers x from column to column + 1
and y from row to row + 1 in the view, so x = column and y = row after ``floor``. FITS and
DS9 count from 1; anything shown to the user says which it is.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtGui import QActionGroup, QDoubleValidator, QGuiApplication, QPainter
from PyQt6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..model.markers import pixel_label
from .plot_menu import MenuViewBox, save_widget_png
from .scaling import (
    LIMITS,
    MANUAL,
    NAN_INDEX,
    STRETCHES,
    DisplayCache,
    colorbar_ticks,
    display_indices,
    image_limits,
    stretch_positions,
)
from .throttle import Throttle

__all__ = [
    "COLORMAPS", "LUT_SIZE", "NAN_COLOUR", "TOOLS", "EditViewBox", "ElidedLabel", "ImagePanel",
    "colormap_lut", "colour_table", "next_gesture",
]

#: Colour-map names offered, and pyqtgraph's names for them.
COLORMAPS = {
    "greys": "CET-L1", "viridis": "viridis", "inferno": "inferno", "magma": "magma",
    "plasma": "plasma", "cividis": "cividis", "heat": "CET-L3", "blues": "CET-L6",
    "turbo": "turbo", "rainbow": "CET-R4",
}
#: Tools for the left mouse button: name -> (edit value or None, shape).
TOOLS = {
    "inspect": (None, None),
    "flag brush": (1, "brush"),
    "unflag brush": (-1, "brush"),
    "flag rectangle": (1, "rectangle"),
    "unflag rectangle": (-1, "rectangle"),
}
#: Drawn under the image where pixels are NaN (they are transparent): a slate blue, which
#: a grey image does not hold and which the dark gaps between slices do not hide.
NAN_COLOUR = (70, 95, 170)
#: Entries of an image's lookup table.
LUT_SIZE = 1024
_MARKER_COLOUR = (0, 255, 255)
_MARKER_LABELS = 200  # text items beyond this many would slow every redraw
_gestures = itertools.count(1)


def next_gesture() -> int:
    """Return a new gesture number (edits of one gesture are undone together)."""
    return next(_gestures)


@functools.lru_cache(maxsize=64)
def colormap_lut(name: str, stretch: str = "linear", inverted: bool = False,
                 size: int = LUT_SIZE) -> np.ndarray:
    """Return the RGBA lookup table of colour map ``name`` with the stretch built in.

    ``size`` entries: 1024 by default, because a log or asinh stretch spends a quarter of
    the colours on the faintest percent of the range, where 256 entries would band.
    Cached (a table costs a few ms to make); callers must not change the array.
    """
    positions = stretch_positions(stretch, size)
    if inverted:
        positions = 1.0 - positions
    lut = np.ascontiguousarray(pg.colormap.get(COLORMAPS[name]).map(positions,
                                                                     mode=pg.ColorMap.BYTE))
    lut.setflags(write=False)
    return lut


@functools.lru_cache(maxsize=32)
def colour_table(name: str, inverted: bool = False) -> np.ndarray:
    """Return the 256-entry RGBA table a panel draws its colour indices with.

    Entries 0 to ``NAN_INDEX - 1`` run evenly through colour map ``name`` (the stretch
    is in the indices, see `display_indices`); entry ``NAN_INDEX`` is transparent, so
    that NaN pixels show the grey backdrop. Cached; callers must not change the array.
    """
    positions = np.linspace(0.0, 1.0, NAN_INDEX)
    if inverted:
        positions = 1.0 - positions
    table = np.zeros((NAN_INDEX + 1, 4), dtype=np.uint8)
    colours = pg.colormap.get(COLORMAPS[name]).map(positions, mode=pg.ColorMap.BYTE)
    table[:NAN_INDEX, : colours.shape[1]] = colours
    table[:NAN_INDEX, 3] = 255
    table.setflags(write=False)
    return table


class ElidedLabel(QLabel):
    """A bold one-line label whose width never follows its text: long text loses its middle.

    The ends are what tell titles apart (the frame number, a file name's exposure number).

    A title that grew with its text widened its grid column, which re-zoomed every
    linked view (blinking through long file names did that at each step).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, **properties) -> None:
        super().__init__(parent, **properties)
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.full_text = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        """Show ``text``, elided to the label's width; the tooltip has all of it."""
        self.full_text = text
        self.setToolTip(text)
        super().setText(text)
        self.update()

    def minimumSizeHint(self):
        """Small, whatever the text: the layout decides the width."""
        hint = super().minimumSizeHint()
        hint.setWidth(20)
        return hint

    def paintEvent(self, event) -> None:
        """Draw the text elided to the width available."""
        painter = QPainter(self)
        metrics = self.fontMetrics()
        shown = metrics.elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, self.width())
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft |
                                          Qt.AlignmentFlag.AlignVCenter), shown)
        painter.end()


class EditViewBox(MenuViewBox):
    """A view whose left button selects, paints or draws a rectangle, by the grid's tool.

    With the inspect tool it pans and zooms as usual; with an edit tool a left drag
    edits instead (the right button and the wheel still zoom). A right click opens the
    panel's menu.
    """

    def __init__(self, panel: ImagePanel) -> None:
        super().__init__(fill_menu=panel.fill_menu)
        self.panel = panel
        self._rectangle: QGraphicsRectItem | None = None
        self._gesture: int | None = None

    def _place(self, event) -> tuple[float, float]:
        point = self.mapSceneToView(event.scenePos())
        return point.x(), point.y()

    def mouseClickEvent(self, event) -> None:  # noqa: D102 (pyqtgraph's hook)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseClickEvent(event)
        event.accept()
        self.panel.tool_click(*self._place(event), next_gesture())

    def mouseDragEvent(self, event, axis=None) -> None:  # noqa: D102 (pyqtgraph's hook)
        value, shape = TOOLS[self.panel.tool()]
        if value is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(event, axis)
        event.accept()
        if shape == "brush":
            if event.isStart():  # the stroke begins where the button went down
                self._gesture = next_gesture()
                down = self.mapSceneToView(event.buttonDownScenePos())
                self.panel.tool_click(down.x(), down.y(), self._gesture)
            self.panel.tool_click(*self._place(event), self._gesture)
            return
        start = self.mapSceneToView(event.buttonDownScenePos())
        end = self.mapSceneToView(event.scenePos())
        if self._rectangle is None:
            self._rectangle = QGraphicsRectItem()
            self._rectangle.setPen(pg.mkPen((255, 255, 255), width=1, cosmetic=True))
            self._rectangle.setZValue(30)
            self.addItem(self._rectangle, ignoreBounds=True)
        self._rectangle.setRect(QRectF(start, end).normalized())
        if event.isFinish():
            self.removeItem(self._rectangle)
            self._rectangle = None
            self.panel.tool_rectangle(start.x(), start.y(), end.x(), end.y())


class ImagePanel(QWidget):
    """One image with its colour bar, flag overlay, crosshair, markers, limits and stretch.

    Limits are computed once per image (and per limit choice), never per frame. The image
    is drawn as colour indices (limits and stretch applied, see `display_indices`)
    through a 256-entry colour table: a colour-map change swaps the table only, and the
    indices of a new result are made by the session's worker (`DisplayCache.prepare`),
    so the GUI thread only hands them to Qt.

    Signals
    -------
    cursor_moved(float, float)
        The mouse moved over the image, at these data coordinates (x, y).
    clicked(float, float, int)
        A left click (or one brush step) at data coordinates (x, y), with its gesture.
    rectangle(float, float, float, float)
        A rectangle drawn with a rectangle tool, corners (x0, y0, x1, y1).
    fit_requested()
        *Fit view* was chosen in the panel's menu.
    colormap_chosen(str), inverted_chosen(bool)
        A colour map, or its inversion, was chosen in the panel's menu (for every panel).
    """

    cursor_moved = pyqtSignal(float, float)
    clicked = pyqtSignal(float, float, int)
    rectangle = pyqtSignal(float, float, float, float)
    fit_requested = pyqtSignal()
    colormap_chosen = pyqtSignal(str)
    inverted_chosen = pyqtSignal(bool)

    def __init__(self, key: str, title: str, parent: QWidget | None = None,
                 tool=lambda: "inspect", display: DisplayCache | None = None,
                 inputs=lambda: ()) -> None:
        super().__init__(parent)
        #: Limits and colour indices of the images, shared with the session's worker.
        self.display = display or DisplayCache()
        self.key = key
        #: The files open, which a PNG saved from the panel's menu must never replace.
        self.inputs = inputs
        self.tool = tool
        self.default_title = title
        self.setObjectName(f"panel_{key}")
        self.data: np.ndarray | None = None
        # Grey, as DS9 starts: the flags' colours stand out on it (red and yellow flags
        # vanished into inferno).
        self.colormap = "greys"
        self.inverted = False
        self.manual_limits: tuple[float, float] | None = None
        self._levels: tuple[float, float] = (0.0, 1.0)
        #: The image the limits belong to (blink shows others on the same limits).
        self._scaled: np.ndarray | None = None
        self._bar: tuple[str, bool] | None = None  # the colour bar's map and inversion

        self._title: str | None = None  # the title set, None for the default one
        self._stale = False  # the settings in force failed to compute (see `set_stale`)
        self.title = ElidedLabel(title, objectName=f"{key}_title")
        self.limits = QComboBox(objectName=f"{key}_limits")
        self.limits.addItems(LIMITS)
        self.limits.setToolTip("Display limits (manual: type the minimum and maximum)")
        self.minimum = self._limit_edit("minimum")
        self.maximum = self._limit_edit("maximum")
        self.stretch = QComboBox(objectName=f"{key}_stretch")
        self.stretch.addItems(STRETCHES)
        self.stretch.setToolTip("Display stretch")
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.setSpacing(3)
        header.addWidget(self.title, 1)
        for widget in (self.limits, self.minimum, self.maximum, self.stretch):
            header.addWidget(widget)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(viewBox=EditViewBox(self))
        self.plot.setAspectLocked(True)
        self.plot.hideButtons()
        # NaN pixels are drawn transparent: this grey backdrop under the image shows there.
        # Levels 0-255: left to pyqtgraph, they stretch the colour's channels apart.
        self.backdrop = pg.ImageItem(np.array([[NAN_COLOUR]], dtype=np.uint8),
                                     levels=(0, 255))
        self.backdrop.setZValue(-10)
        self.backdrop.setVisible(False)  # until there is an image to sit under
        self.plot.addItem(self.backdrop, ignoreBounds=True)
        self.image = pg.ImageItem()
        self.overlay = pg.ImageItem()
        self.overlay.setZValue(10)
        self.plot.addItem(self.image)
        # The overlay may be pooled onto a slightly larger grid: it must not move the bounds.
        self.plot.addItem(self.overlay, ignoreBounds=True)
        # The bar shows the colour map evenly from 0 to 1 and is not tied to the image's
        # levels: its ticks (data units) are placed where the stretch puts each colour.
        self.colorbar = pg.ColorBarItem(values=(0, 1), interactive=False, width=12,
                                        colorMapMenu=False)
        self.graphics.addItem(self.colorbar, row=0, col=1)
        # Dashed white: no flag has that colour (a green crosshair passed for a row of
        # gained or forced-good flags).
        pen = pg.mkPen((255, 255, 255, 170), width=1, style=Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (self.vline, self.hline):
            line.setZValue(20)
            line.setVisible(False)  # until the mouse is over an image
            self.plot.addItem(line, ignoreBounds=True)
        self.selection = pg.ScatterPlotItem(size=14, symbol="s", brush=None,
                                            pen=pg.mkPen((0, 255, 255), width=2))
        self.selection.setZValue(25)
        self.plot.addItem(self.selection, ignoreBounds=True)
        self.markers = pg.ScatterPlotItem(size=16, symbol="o", brush=None,
                                          pen=pg.mkPen(_MARKER_COLOUR, width=2))
        self.markers.setZValue(26)
        self.plot.addItem(self.markers, ignoreBounds=True)
        self.marker_labels: list[pg.TextItem] = []
        self._mouse = Throttle(16, self._mouse_moved, self)
        self.plot.scene().sigMouseMoved.connect(self._mouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)
        self.limits.currentTextChanged.connect(self._limits_chosen)
        self.stretch.currentTextChanged.connect(lambda _: self.apply_scaling())
        self.apply_scaling()

    def _limit_edit(self, name: str) -> QLineEdit:
        edit = QLineEdit(objectName=f"{self.key}_{name}")
        edit.setValidator(QDoubleValidator())
        edit.setFixedWidth(62)
        edit.setToolTip(f"Display {name} in data units: type a value for manual limits")
        edit.editingFinished.connect(self._limits_typed)
        return edit

    # -- data and scaling ----------------------------------------------------------------

    def set_data(self, data: np.ndarray | None, rescale: bool = True) -> None:
        """Show ``data`` (the same array again costs nothing).

        ``rescale=False`` keeps the current limits: blinking between exposures must not
        change the scale under the eye.
        """
        if data is self.data:
            return
        self.data = data
        if data is None:
            self._scaled = None
            self.image.clear()
            self.backdrop.setVisible(False)
            return
        self.backdrop.setRect(0, 0, data.shape[1], data.shape[0])
        self.backdrop.setVisible(True)
        if rescale:
            self._scaled = data
            self.apply_scaling()  # new limits, then drawn
        else:
            self._draw()

    def _draw(self) -> None:
        """Hand the image's colour indices (usually made by the worker) to Qt."""
        if self.data is None:
            return
        indices = self.display.indices(self.data, self._levels, self.stretch.currentText())
        self.image.setImage(indices, autoLevels=False, levels=None,
                            lut=colour_table(self.colormap, self.inverted))

    def colours_of(self, values) -> np.ndarray:
        """Return the RGBA colours the image gives these data values (as drawn)."""
        values = np.atleast_1d(np.asarray(values, dtype=np.float64))
        indices = display_indices(values, self._levels, self.stretch.currentText())
        return colour_table(self.colormap, self.inverted)[indices]

    def levels(self) -> tuple[float, float]:
        """Return the display limits (data units) of the image shown."""
        return self._levels

    def _limits_for(self, data: np.ndarray) -> tuple[float, float]:
        choice = self.limits.currentText()
        if choice == MANUAL:
            if self.manual_limits is None:  # chosen before any value was typed
                self.manual_limits = self._levels
            return image_limits(None, MANUAL, self.manual_limits)
        return self.display.limits(data, choice)

    def apply_scaling(self) -> None:
        """Apply the current limits, stretch and colour map (limits come from a cache)."""
        stretch = self.stretch.currentText()
        # Making a pyqtgraph ColorMap converts its 256 colours one by one (several ms):
        # only when the colour map changes, not with every new image.
        bar = (self.colormap, self.inverted)
        if bar != self._bar:
            self._bar = bar
            self.colorbar.setColorMap(pg.ColorMap(
                pos=np.linspace(0.0, 1.0, 256),
                color=colormap_lut(self.colormap, "linear", self.inverted, 256)))
        if self._scaled is not None:
            self._levels = self._limits_for(self._scaled)
        # The worker prepares the next results' indices with these choices.
        self.display.choices[self.key] = (self.limits.currentText(), self.manual_limits,
                                          stretch)
        self._draw()
        low, high = self._levels
        ticks = colorbar_ticks(low, high, stretch)
        self.colorbar.axis.setTicks([[(position, label) for position, _, label in ticks], []])
        with QSignalBlocker(self.minimum), QSignalBlocker(self.maximum):
            self.minimum.setText(f"{low:.4g}")
            self.maximum.setText(f"{high:.4g}")

    def colorbar_ticks(self) -> list[tuple[float, float, str]]:
        """Return the colour bar's ticks: (position 0 to 1, value in data units, label)."""
        return colorbar_ticks(*self._levels, self.stretch.currentText())

    def _limits_chosen(self, choice: str) -> None:
        if choice == MANUAL and self.manual_limits is None:
            self.manual_limits = self._levels  # start from what is shown
        self.apply_scaling()

    def _limits_typed(self) -> None:
        try:
            low, high = float(self.minimum.text()), float(self.maximum.text())
        except ValueError:
            self.apply_scaling()  # put the shown limits back
            return
        if not high > low:
            self.minimum.setStyleSheet("color: red")
            self.maximum.setStyleSheet("color: red")
            return
        self.minimum.setStyleSheet("")
        self.maximum.setStyleSheet("")
        self.manual_limits = (low, high)
        if self.limits.currentText() == MANUAL:
            self.apply_scaling()
        else:
            self.limits.setCurrentText(MANUAL)  # applies through _limits_chosen

    def display_state(self) -> dict:
        """Return the limits choice, stretch and manual limits (for sessions and settings)."""
        manual = None if self.manual_limits is None else [float(v) for v in self.manual_limits]
        return {"limits": self.limits.currentText(), "stretch": self.stretch.currentText(),
                "manual": manual}

    def set_display_state(self, state: dict) -> None:
        """Restore what `display_state` returned; unknown choices are left as they are."""
        manual = state.get("manual")
        try:  # a session file is the user's: a damaged value is ignored, not fatal
            low, high = (float(value) for value in manual)
        except (TypeError, ValueError):
            low = high = math.nan
        if low < high:  # also False for NaN
            self.manual_limits = (low, high)
        for combo, key in ((self.limits, "limits"), (self.stretch, "stretch")):
            index = combo.findText(str(state.get(key)))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.apply_scaling()

    def set_colormap(self, name: str, inverted: bool | None = None) -> None:
        """Use one of `COLORMAPS`, inverted or not (None keeps the inversion)."""
        self.colormap = name
        if inverted is not None:
            self.inverted = inverted
        self.apply_scaling()

    # -- overlays ------------------------------------------------------------------------

    def set_title(self, text: str | None = None) -> None:
        """Show a title (the default one when None); a long one is elided, never widened."""
        self._title = text
        suffix = " — not up to date" if self._stale else ""
        self.title.setText((text or self.default_title) + suffix)

    def set_stale(self, stale: bool) -> None:
        """Say in the title whether the image belongs to settings that failed to compute."""
        if stale != self._stale:
            self._stale = stale
            self.set_title(self._title)

    def show_selection(self, place: tuple[int, int] | None) -> None:
        """Mark the selected pixel (row, column), or nothing."""
        if place is None:
            self.selection.setData([], [])
        else:
            self.selection.setData([place[1] + 0.5], [place[0] + 0.5])

    def set_markers(self, points) -> None:
        """Draw markers at ``points``: (row, column, label) each, 0-based."""
        points = list(points)
        rows = np.array([point[0] for point in points], dtype=float)
        columns = np.array([point[1] for point in points], dtype=float)
        self.markers.setData(columns + 0.5, rows + 0.5)
        for item in self.marker_labels:
            self.plot.removeItem(item)
        self.marker_labels = []
        for row, column, label in points[:_MARKER_LABELS]:
            item = pg.TextItem(str(label), color=_MARKER_COLOUR, anchor=(0, 1))
            item.setPos(column + 1.2, row + 1.2)
            item.setZValue(26)
            self.plot.addItem(item, ignoreBounds=True)
            self.marker_labels.append(item)

    def set_labels(self, labels: np.ndarray | None, lut: np.ndarray,
                   shape: tuple[int, int] | None = None) -> None:
        """Show a flag label image over the data, stretched over ``shape`` (rows, columns)."""
        if labels is None:
            self.overlay.clear()
            return
        self.overlay.setImage(labels, lut=lut, levels=(0, 255), autoLevels=False)
        rows, columns = shape or labels.shape
        self.overlay.setRect(0, 0, columns, rows)

    def move_crosshair(self, x: float, y: float) -> None:
        """Put the crosshair on the centre of pixel (x, y) = (column, row)."""
        self.vline.setPos(x + 0.5)
        self.hline.setPos(y + 0.5)
        self.vline.setVisible(True)
        self.hline.setVisible(True)

    # -- mouse ---------------------------------------------------------------------------

    def tool_click(self, x: float, y: float, gesture: int) -> None:
        """Pass on a left click (or one brush step) at data coordinates (x, y)."""
        self.clicked.emit(x, y, gesture)

    def tool_rectangle(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Pass on a rectangle drawn with the rectangle tool."""
        self.rectangle.emit(x0, y0, x1, y1)

    def disconnect_signals(self) -> None:
        """Drop a pending mouse update (the window is closing)."""
        self._mouse.stop()

    def pixel_text(self, row: int, column: int) -> str:
        """Return a one-line description of pixel (row, column) to copy: both conventions."""
        text = pixel_label(row, column)  # the readout's words: FITS 1-based, numpy 0-based
        data = self.data
        if data is not None and 0 <= row < data.shape[0] and 0 <= column < data.shape[1]:
            text += f"; {self.key}={float(data[row, column]):.6g}"
        return text

    def fill_menu(self, menu: QMenu, place: QPointF) -> None:
        """Fill the right-click menu for a click at ``place`` (data coordinates)."""
        row, column = int(np.floor(place.y())), int(np.floor(place.x()))
        menu.addAction("Fit view (Home)", self.fit_requested.emit)
        menu.addAction(f"Copy pixel {pixel_label(row, column)} and value",
                       lambda: QGuiApplication.clipboard().setText(self.pixel_text(row, column)))
        menu.addAction("Export PNG of this panel…", lambda: save_widget_png(
            self.graphics, f"Save the {self.key} panel", f"{self.key}.png", self.inputs()))
        menu.addSeparator()
        colours = menu.addMenu("Colour map")
        group = QActionGroup(colours)
        for name in COLORMAPS:
            action = colours.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == self.colormap)
            group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self.colormap_chosen.emit(n))
        invert = menu.addAction("Invert colour map")
        invert.setCheckable(True)
        invert.setChecked(self.inverted)
        invert.toggled.connect(self.inverted_chosen)

    def _scene_to_data(self, position) -> tuple[float, float] | None:
        if not self.plot.sceneBoundingRect().contains(position):
            return None
        point = self.plot.getViewBox().mapSceneToView(position)
        return point.x(), point.y()

    def _mouse_moved(self, position) -> None:
        place = self._scene_to_data(position)
        if place is not None:
            self.cursor_moved.emit(*place)
