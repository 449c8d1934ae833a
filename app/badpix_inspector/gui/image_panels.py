"""The four linked image panels: combined, median-filtered, difference and science."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..session import (
    LABEL_ALREADY_BAD,
    LABEL_FORCED_BAD,
    LABEL_FORCED_GOOD,
    LABEL_HIGH,
    LABEL_LOW,
    SessionResult,
)
from .scaling import LIMITS, STRETCHES, image_limits, stretch_positions
from .throttle import Throttle

__all__ = [
    "COLORMAPS", "FLAG_COLOURS", "PANELS", "TOOLS", "EditViewBox", "ImageGrid", "ImagePanel",
    "overlay_lut", "pool_labels",
]

#: Panel key, title, and the attribute of `SessionResult` it shows.
PANELS = (
    ("combined", "Combined background (minimum)"),
    ("smoothed", "Median-filtered"),
    ("difference", "Difference (combined − filtered)"),
    ("science", "Science exposure"),
)
#: Colour-map names offered, and pyqtgraph's names for them.
COLORMAPS = {"inferno": "inferno", "viridis": "viridis", "grey": "CET-L1", "magma": "magma"}
#: Overlay colours (RGB) and legend text, by label value.
FLAG_COLOURS = {
    LABEL_LOW: ((40, 150, 255), "flagged low"),
    LABEL_HIGH: ((255, 50, 40), "flagged high"),
    LABEL_ALREADY_BAD: ((255, 215, 0), "DO_NOT_USE before the step"),
    LABEL_FORCED_BAD: ((230, 0, 230), "forced bad by hand"),
    LABEL_FORCED_GOOD: ((0, 230, 120), "forced good by hand"),
}
#: Tools for the left mouse button: name -> (edit value or None, shape).
TOOLS = {
    "inspect": (None, None),
    "flag brush": (1, "brush"),
    "unflag brush": (-1, "brush"),
    "flag rectangle": (1, "rectangle"),
    "unflag rectangle": (-1, "rectangle"),
}
_gestures = itertools.count(1)


class EditViewBox(pg.ViewBox):
    """A view whose left button selects, paints or draws a rectangle, by the grid's tool.

    With the inspect tool it pans and zooms as usual; with an edit tool a left drag
    edits instead (the right button and the wheel still zoom).
    """

    def __init__(self, panel: ImagePanel) -> None:
        super().__init__()
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
        self.panel.tool_click(*self._place(event), next(_gestures))

    def mouseDragEvent(self, event, axis=None) -> None:  # noqa: D102 (pyqtgraph's hook)
        value, shape = TOOLS[self.panel.tool()]
        if value is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(event, axis)
        event.accept()
        if shape == "brush":
            if event.isStart():
                self._gesture = next(_gestures)
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
NAN_COLOUR = (110, 110, 110)


def overlay_lut() -> np.ndarray:
    """Return the 256-entry RGBA lookup table that colours the overlay's label image."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    for label, (rgb, _) in FLAG_COLOURS.items():
        lut[label] = (*rgb, 255)
    return lut


def pool_labels(labels: np.ndarray, factor: int) -> np.ndarray:
    """Return ``labels`` reduced by ``factor`` in each direction, keeping each block's maximum.

    Drawn at full resolution on a zoomed-out view, a one-pixel flag falls between screen
    pixels and vanishes; pooled to the screen's scale, every flag stays visible.
    """
    if factor <= 1:
        return labels
    rows, columns = labels.shape
    padded_rows, padded_columns = -(-rows // factor) * factor, -(-columns // factor) * factor
    padded = np.zeros((padded_rows, padded_columns), dtype=labels.dtype)
    padded[:rows, :columns] = labels
    blocks = padded.reshape(padded_rows // factor, factor, padded_columns // factor, factor)
    return blocks.max(axis=(1, 3))


@functools.lru_cache(maxsize=32)
def _stretched_colormap(name: str, stretch: str) -> pg.ColorMap:
    """Return the colour map with the stretch built in (cached: it costs ~10 ms to make)."""
    base = pg.colormap.get(COLORMAPS[name])
    colours = base.map(stretch_positions(stretch), mode=pg.ColorMap.BYTE)
    return pg.ColorMap(pos=np.linspace(0.0, 1.0, len(colours)), color=colours)


class ImagePanel(QWidget):
    """One image with its colour bar, flag overlay, crosshair, limits and stretch choice.

    Signals
    -------
    cursor_moved(float, float)
        The mouse moved over the image, at these data coordinates (x, y).
    clicked(float, float)
        The image was clicked at these data coordinates.
    """

    cursor_moved = pyqtSignal(float, float)
    clicked = pyqtSignal(float, float, int)
    rectangle = pyqtSignal(float, float, float, float)

    def __init__(self, key: str, title: str, parent: QWidget | None = None,
                 tool=lambda: "inspect") -> None:
        super().__init__(parent)
        self.key = key
        self.tool = tool
        self.default_title = title
        self.setObjectName(f"panel_{key}")
        self.data: np.ndarray | None = None
        self._colormap = "inferno"

        self.title = QLabel(f"<b>{title}</b>")
        self.limits = QComboBox(objectName=f"{key}_limits")
        self.limits.addItems(LIMITS)
        self.limits.setToolTip("Display limits")
        self.stretch = QComboBox(objectName=f"{key}_stretch")
        self.stretch.addItems(STRETCHES)
        self.stretch.setToolTip("Display stretch")
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.limits)
        header.addWidget(self.stretch)

        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(viewBox=EditViewBox(self))
        self.plot.setAspectLocked(True)
        self.plot.hideButtons()
        # NaN pixels are drawn transparent: this grey backdrop under the image shows there.
        self.backdrop = pg.ImageItem(np.array([[NAN_COLOUR]], dtype=np.uint8))
        self.backdrop.setZValue(-10)
        self.backdrop.setVisible(False)  # until there is an image to sit under
        self.plot.addItem(self.backdrop, ignoreBounds=True)
        self.image = pg.ImageItem()
        self.overlay = pg.ImageItem()
        self.overlay.setZValue(10)
        self.plot.addItem(self.image)
        # The overlay may be pooled onto a slightly larger grid: it must not move the bounds.
        self.plot.addItem(self.overlay, ignoreBounds=True)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=_stretched_colormap(self._colormap, "linear"),
            interactive=False, width=12, colorMapMenu=False,
        )  # fmt: skip
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        pen = pg.mkPen((0, 255, 120, 160), width=1)
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
        self._mouse = Throttle(16, self._mouse_moved, self)
        self.plot.scene().sigMouseMoved.connect(self._mouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.graphics, 1)
        self.limits.currentTextChanged.connect(lambda _: self.apply_scaling())
        self.stretch.currentTextChanged.connect(lambda _: self.apply_scaling())

    def set_data(self, data: np.ndarray | None, rescale: bool = True) -> None:
        """Show ``data`` (the same array again costs nothing).

        ``rescale=False`` keeps the current limits: blinking between exposures must not
        change the scale under the eye.
        """
        if data is self.data:
            return
        self.data = data
        if data is None:
            self.image.clear()
            self.backdrop.setVisible(False)
            return
        self.image.setImage(data, autoLevels=False)
        self.backdrop.setRect(0, 0, data.shape[1], data.shape[0])
        self.backdrop.setVisible(True)
        if rescale:
            self.apply_scaling()
        else:
            self.image.setLevels(self.colorbar.levels())

    def disconnect_signals(self) -> None:
        """Drop a pending mouse update (the window is closing)."""
        self._mouse.stop()

    def set_title(self, text: str | None = None) -> None:
        """Show a title (the default one when None)."""
        self.title.setText(f"<b>{text or self.default_title}</b>")

    def show_selection(self, place: tuple[int, int] | None) -> None:
        """Mark the selected pixel (row, column), or nothing."""
        if place is None:
            self.selection.setData([], [])
        else:
            self.selection.setData([place[1] + 0.5], [place[0] + 0.5])

    def tool_click(self, x: float, y: float, gesture: int) -> None:
        """Pass on a left click (or one brush step) at data coordinates (x, y)."""
        self.clicked.emit(x, y, gesture)

    def tool_rectangle(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Pass on a rectangle drawn with the rectangle tool."""
        self.rectangle.emit(x0, y0, x1, y1)

    def apply_scaling(self) -> None:
        """Recompute the limits and the stretched colour table from the current choices."""
        colormap = _stretched_colormap(self._colormap, self.stretch.currentText())
        self.colorbar.setColorMap(colormap)
        if self.data is not None:
            self.colorbar.setLevels(image_limits(self.data, self.limits.currentText()))

    def set_colormap(self, name: str) -> None:
        """Use one of `COLORMAPS`."""
        self._colormap = name
        self.apply_scaling()

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
        """Put the crosshair on the centre of pixel (x, y)."""
        self.vline.setPos(x + 0.5)
        self.hline.setPos(y + 0.5)
        self.vline.setVisible(True)
        self.hline.setVisible(True)

    def _scene_to_data(self, position) -> tuple[float, float] | None:
        if not self.plot.sceneBoundingRect().contains(position):
            return None
        point = self.plot.getViewBox().mapSceneToView(position)
        return point.x(), point.y()

    def _mouse_moved(self, position) -> None:
        place = self._scene_to_data(position)
        if place is not None:
            self.cursor_moved.emit(*place)


class ImageGrid(QWidget):
    """The four panels in a 2x2 grid, with one pan/zoom and one crosshair.

    Signals
    -------
    hovered(int, int)
        The pixel (column, row) under the cursor, in any panel.
    """

    hovered = pyqtSignal(int, int)
    #: (row, column): a pixel clicked with the inspect tool.
    pixel_clicked = pyqtSignal(int, int)
    #: (rows, columns, value, gesture): pixels to edit (1 bad, -1 good).
    edit_requested = pyqtSignal(object, object, int, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = "inspect"
        self.brush_radius = 1
        self.panels = {key: ImagePanel(key, title, tool=lambda: self.tool)
                       for key, title in PANELS}
        layout = QGridLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(4)
        for number, panel in enumerate(self.panels.values()):
            layout.addWidget(panel, number // 2, number % 2)
            panel.cursor_moved.connect(self._cursor_moved)
            panel.clicked.connect(self._clicked)
            panel.rectangle.connect(self._rectangle)
        self.blink_frames: list[tuple[str, np.ndarray]] = []
        self.blink_index = 0
        first = self.panels["combined"].plot.getViewBox()
        for panel in list(self.panels.values())[1:]:
            panel.plot.getViewBox().setXLink(first)
            panel.plot.getViewBox().setYLink(first)
        self._lut = overlay_lut()
        self._shape: tuple[int, ...] | None = None
        self._labels: np.ndarray | None = None
        self._pooling = 0
        #: The result last drawn (results are drawn a turn of the event loop late).
        self.shown: SessionResult | None = None
        self._zoom = Throttle(50, self._update_overlay, self)
        first.sigRangeChanged.connect(lambda *_: self._zoom())

    def show_result(self, result: SessionResult) -> None:
        """Show a session result: the images that changed, and the flags."""
        images = {
            "combined": result.combined, "smoothed": result.smoothed,
            "difference": result.difference, "science": result.science,
        }  # fmt: skip
        for key, data in images.items():
            self.panels[key].set_data(data)
        shape = None if result.science is None else result.science.shape
        if shape != self._shape:
            self._shape = shape
            self.reset_view()
        self._labels = result.labels
        self._update_overlay(force=True)
        self.blink_frames = []
        if result.science is not None:
            self.blink_frames = [(f"{entry.role}: {entry.name}", entry.exposure.sci)
                                 for entry in result.used]
            if result.combined is not None:
                self.blink_frames.append(("combined (minimum)", result.combined))
        self.blink_index = 0
        self.panels["science"].set_title()
        self.shown = result

    def disconnect_signals(self) -> None:
        """Drop pending throttled updates (the window is closing)."""
        self._zoom.stop()
        for panel in self.panels.values():
            panel.disconnect_signals()

    def blink(self, step: int) -> str | None:
        """Step the science panel through the exposures and the combined image.

        Returns the name of the frame shown (None when there is nothing to blink).
        """
        if not self.blink_frames:
            return None
        self.blink_index = (self.blink_index + step) % len(self.blink_frames)
        name, data = self.blink_frames[self.blink_index]
        panel = self.panels["science"]
        panel.set_data(data, rescale=False)
        panel.set_title(f"Blink {self.blink_index + 1}/{len(self.blink_frames)} — {name}")
        return name

    def show_selection(self, place: tuple[int, int] | None) -> None:
        """Mark the selected pixel on every panel."""
        for panel in self.panels.values():
            panel.show_selection(place)

    def brush_footprint(self, row: int, column: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the pixels a brush of `brush_radius` covers around (row, column)."""
        radius = self.brush_radius
        offsets = np.arange(-radius, radius + 1)
        rows, columns = np.meshgrid(offsets, offsets, indexing="ij")
        inside = rows**2 + columns**2 <= radius**2 + radius  # a disc, not a diamond
        return rows[inside] + row, columns[inside] + column

    def _clicked(self, x: float, y: float, gesture: int) -> None:
        row, column = int(np.floor(y)), int(np.floor(x))
        value, shape = TOOLS[self.tool]
        if value is None:
            self.pixel_clicked.emit(row, column)
        elif shape == "brush":
            rows, columns = self.brush_footprint(row, column)
            self.edit_requested.emit(rows, columns, value, gesture)
        else:
            self.edit_requested.emit(np.array([row]), np.array([column]), value, gesture)

    def _rectangle(self, x0: float, y0: float, x1: float, y1: float) -> None:
        value, _ = TOOLS[self.tool]
        first_row, last_row = sorted((int(np.floor(y0)), int(np.floor(y1))))
        first_column, last_column = sorted((int(np.floor(x0)), int(np.floor(x1))))
        rows, columns = np.mgrid[first_row:last_row + 1, first_column:last_column + 1]
        self.edit_requested.emit(rows.ravel(), columns.ravel(), value, next(_gestures))

    def _pooling_factor(self) -> int:
        """Return the data pixels per screen pixel (at least 1) in the linked view."""
        size = self.panels["combined"].plot.getViewBox().viewPixelSize()
        return max(1, int(np.floor(max(size))))

    def _update_overlay(self, force: bool = False) -> None:
        factor = self._pooling_factor()
        if not force and factor == self._pooling:
            return
        self._pooling = factor
        labels = None if self._labels is None else pool_labels(self._labels, factor)
        shape = None
        if labels is not None:
            shape = (labels.shape[0] * factor, labels.shape[1] * factor)
        for panel in self.panels.values():
            panel.set_labels(labels, self._lut, shape)

    def reset_view(self) -> None:
        """Zoom to the whole detector."""
        if self._shape is None:
            return
        rows, columns = self._shape
        self.panels["combined"].plot.getViewBox().setRange(
            xRange=(0, columns), yRange=(0, rows), padding=0.01)

    def set_colormap(self, name: str) -> None:
        """Use one colour map on every panel."""
        for panel in self.panels.values():
            panel.set_colormap(name)

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide the flags on every panel."""
        for panel in self.panels.values():
            panel.overlay.setVisible(visible)

    def set_overlay_opacity(self, opacity: float) -> None:
        """Set the flags' opacity (0 to 1) on every panel."""
        for panel in self.panels.values():
            panel.overlay.setOpacity(opacity)

    def _cursor_moved(self, x: float, y: float) -> None:
        column, row = int(np.floor(x)), int(np.floor(y))
        for panel in self.panels.values():
            panel.move_crosshair(column, row)
        self.hovered.emit(column, row)
