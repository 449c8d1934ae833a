"""The histogram dock: the difference image's distribution with draggable thresholds."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSignalBlocker, Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..core import ParameterError, count_sorted
from ..inspection import is_provisional
from ..session import LABEL_HIGH, LABEL_LOW, Session, SessionResult
from .image_panels import FLAG_COLOURS
from .plot_menu import MenuViewBox, save_widget_png
from .throttle import Throttle

__all__ = ["HistogramPanel", "ThresholdLine", "fraction_beyond", "histogram_range"]

_BINS = 240


def histogram_range(sorted_values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """Return the range to show: both thresholds with a margin, within the data."""
    span = max(high - low, 1e-12)
    start = max(float(sorted_values[0]), low - 0.35 * span)
    stop = min(float(sorted_values[-1]), high + 0.35 * span)
    if not stop > start:
        stop = start + 1.0
    return start, stop


def fraction_beyond(sorted_values: np.ndarray, value: float, side: str) -> float:
    """Return the fraction of the values strictly below (side "low") or above ("high") value."""
    size = sorted_values.size
    if size == 0:
        return 0.0
    if side == "low":
        count = count_sorted(sorted_values, value, side="left")
    else:
        count = size - count_sorted(sorted_values, value, side="right")
    return count / size


class ThresholdLine(pg.InfiniteLine):
    """A threshold line that sits exactly under the mouse while it is dragged.

    pyqtgraph keeps the offset between the press and the line; a threshold should be
    where the mouse lets go, so the offset is dropped.
    """

    def mouseDragEvent(self, event) -> None:  # noqa: D102 (pyqtgraph's hook)
        if self.movable and event.button() == Qt.MouseButton.LeftButton and event.isStart():
            super().mouseDragEvent(event)
            self.cursorOffset = pg.Point(0, 0)
            self.setPos(self.mapToParent(event.pos()))
            return
        super().mouseDragEvent(event)


class HistogramPanel(QWidget):
    """Counts of the difference image (log scale) and the two thresholds as lines to drag.

    Dragging a line sets ``flagfrac_lower`` (``flagfrac_upper``) to the fraction of finite
    pixels beyond it, up to 0.5; the spin boxes follow through the session. The top axis
    shows the same values in robust sigma of the difference.

    While a line is dragged the plot keeps its range (and its axes their scale), so the
    line stays under the mouse; a new range is chosen only for new data, or when a
    threshold falls outside the one shown.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.values: np.ndarray | None = None
        self._range: tuple[float, float] | None = None
        self.plot = pg.PlotWidget(objectName="histogram_plot",
                                  viewBox=MenuViewBox(fill_menu=self._fill_menu))
        self.plot.setLabel("bottom", "difference (data units)")
        self.plot.setLabel("left", "log₁₀(1 + pixels)")
        self.plot.showAxis("top")
        self.plot.setLabel("top", "robust σ")
        for name in ("bottom", "top", "left"):
            # A "(x0.001)" appearing mid-drag changed the axis under the mouse.
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideButtons()  # pyqtgraph's "A" (auto range): Fit view is in the menu
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                     brush=(150, 150, 220, 110), pen=(200, 200, 255))
        self.plot.addItem(self.curve)
        self.lines = {}
        for side, label in (("low", LABEL_LOW), ("high", LABEL_HIGH)):
            colour = FLAG_COLOURS[label][0]
            line = ThresholdLine(movable=True, pen=pg.mkPen(colour, width=2),
                                 hoverPen=pg.mkPen(colour, width=4))
            line.setToolTip(f"drag to set flagfrac_{'lower' if side == 'low' else 'upper'}")
            line.sigPositionChangeFinished.connect(lambda item, s=side: self._released(s))
            line.setVisible(False)  # until there is a distribution to cut
            self.plot.addItem(line)
            self.lines[side] = line
        # A's thresholds (a pinned reference), dashed, beside the current ones.
        self.reference_lines = {}
        for side, label in (("low", LABEL_LOW), ("high", LABEL_HIGH)):
            line = pg.InfiniteLine(movable=False, pen=pg.mkPen(
                FLAG_COLOURS[label][0], width=2, style=Qt.PenStyle.DashLine))
            line.setToolTip(f"A's {side} threshold")
            line.setVisible(False)
            line.setZValue(-1)
            self.plot.addItem(line)
            self.reference_lines[side] = line
        self._throttles = {}
        for side in ("low", "high"):
            self._throttles[side] = Throttle(80, lambda s=side: self._dragged(s), self)
            self.lines[side].sigDragged.connect(lambda _line, s=side: self._dragging(s))
        self.note = QLabel(objectName="histogram_note")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        # Drawn in the next turn of the event loop, once for a burst of results.
        session.result_ready.connect(Throttle(0, self.show_result, self))

    def show_reference(self, limits) -> None:
        """Draw A's thresholds (a `Thresholds`) as dashed lines; None removes them."""
        for side, line in self.reference_lines.items():
            line.setVisible(limits is not None)
            if limits is not None:
                line.setValue(float(getattr(limits, side)))

    def disconnect_signals(self) -> None:
        """Drop pending throttled updates (the window is closing)."""
        for throttle in self._throttles.values():
            throttle.stop()

    def dragging(self) -> bool:
        """Return True while the user drags a threshold line."""
        return any(line.moving for line in self.lines.values())

    def show_result(self, result: SessionResult) -> None:
        """Draw the distribution and put the lines on the thresholds (not one being dragged)."""
        values = result.sorted_difference
        if is_provisional(result) and self._range is not None:
            # The distribution of a new kernel follows in a moment (it needs a sort): the
            # lines move now, over the previous curve. The previous kernel's values are let
            # go (16 MiB on 2048x2048): a line dragged meanwhile would measure fractions
            # on them, and they would stay in memory beside the new kernel's. The lines
            # hold still until the new values come.
            self.values = None
            for side, value in (("low", result.statistics.thresholds.low),
                                ("high", result.statistics.thresholds.high)):
                line = self.lines[side]
                if not line.moving:
                    line.setMovable(False)
                    with QSignalBlocker(line):
                        line.setValue(float(value))
            self.note.setText("The distribution of the new kernel follows in a moment…")
            return
        if result.status != "complete" or values is None or values.size == 0:
            self.values = None
            self._range = None
            self.curve.setData([], [])
            for line in self.lines.values():
                line.setVisible(False)
            self.note.setText(result.message)
            return
        limits = result.statistics.thresholds
        new_values = values is not self.values
        self.values = values
        for side, value in (("low", limits.low), ("high", limits.high)):
            line = self.lines[side]
            line.setVisible(True)
            line.setMovable(True)
            if not line.moving:  # never pull a line from under the user's mouse
                with QSignalBlocker(line):
                    line.setValue(float(value))
        sigma = result.statistics.sigma
        if sigma and np.isfinite(sigma):
            self.plot.getAxis("top").setScale(1.0 / sigma)
        if self.dragging():
            return  # the range and the bins stay while the mouse holds a line
        shown = self._range
        outside = shown is None or not (shown[0] <= limits.low and limits.high <= shown[1])
        if new_values or outside:
            self._set_range(histogram_range(values, limits.low, limits.high))
        self.note.setText(
            f"{values.size:,} finite pixels; drag a line to set its flag fraction")

    def _set_range(self, data_range: tuple[float, float]) -> None:
        start, stop = data_range
        self._range = data_range
        edges = np.linspace(start, stop, _BINS + 1)
        # Keys of the values' own dtype: float64 keys would convert the whole array.
        keys = edges.astype(self.values.dtype)
        counts = np.diff(np.searchsorted(self.values, keys, side="left"))
        self.curve.setData(edges, np.log10(1.0 + counts))
        self.plot.setXRange(start, stop, padding=0.02)

    def fit_view(self) -> None:
        """Show both thresholds with a margin again (the right-click menu's *Fit view*)."""
        if self.values is None:
            return
        low, high = (line.value() for line in (self.lines["low"], self.lines["high"]))
        self._set_range(histogram_range(self.values, low, high))
        self.plot.enableAutoRange(axis="y")

    def _fill_menu(self, menu, _place) -> None:
        menu.addAction("Fit view", self.fit_view)
        menu.addAction("Export PNG…", lambda: save_widget_png(
            self.plot, "Save the histogram", "histogram.png", self.session.input_paths))

    def _dragging(self, side: str) -> None:
        self.plot.getViewBox().disableAutoRange()  # y too: the axes hold still under the mouse
        self._throttles[side]()

    def _released(self, side: str) -> None:
        self._throttles[side].stop()
        self._dragged(side)
        self.plot.getViewBox().enableAutoRange(axis="y")

    def _dragged(self, side: str) -> None:
        if self.values is None:
            # A new kernel's distribution is on its way: the line goes back to the
            # threshold in force rather than stay where nothing was set.
            result = self.session.result
            if result is not None and result.statistics is not None:
                with QSignalBlocker(self.lines[side]):
                    self.lines[side].setValue(float(getattr(result.statistics.thresholds,
                                                            side)))
                self.note.setText("The new kernel's distribution is on its way: drag the "
                                  "line again in a moment.")
            return
        value = self.lines[side].value()
        fraction = min(fraction_beyond(self.values, value, side), 0.5)
        name = "flagfrac_lower" if side == "low" else "flagfrac_upper"
        try:
            self.session.set_parameters(**{name: fraction})
        except ParameterError as error:
            self.note.setText(str(error))
        else:
            self.note.setText(f"{name} = {fraction:.6g} ({value:.5g} in data units)")
