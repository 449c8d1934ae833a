"""The histogram dock: the difference image's distribution with draggable thresholds."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSignalBlocker
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..core import ParameterError
from ..session import LABEL_HIGH, LABEL_LOW, Session, SessionResult
from .image_panels import FLAG_COLOURS
from .throttle import Throttle

__all__ = ["HistogramPanel", "fraction_beyond", "histogram_range"]

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
        count = int(np.searchsorted(sorted_values, value, side="left"))
    else:
        count = size - int(np.searchsorted(sorted_values, value, side="right"))
    return count / size


class HistogramPanel(QWidget):
    """Counts of the difference image (log scale) and the two thresholds as lines to drag.

    Dragging a line sets ``flagfrac_lower`` (``flagfrac_upper``) to the fraction of finite
    pixels beyond it, up to 0.5; the spin boxes follow through the session. The top axis
    shows the same values in robust sigma of the difference.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.values: np.ndarray | None = None
        self.plot = pg.PlotWidget(objectName="histogram_plot")
        self.plot.setLabel("bottom", "difference (data units)")
        self.plot.setLabel("left", "log₁₀(1 + pixels)")
        self.plot.showAxis("top")
        self.plot.setLabel("top", "robust σ")
        self.plot.setMouseEnabled(x=True, y=False)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0,
                                     brush=(150, 150, 220, 110), pen=(200, 200, 255))
        self.plot.addItem(self.curve)
        self.lines = {}
        for side, label in (("low", LABEL_LOW), ("high", LABEL_HIGH)):
            colour = FLAG_COLOURS[label][0]
            line = pg.InfiniteLine(movable=True, pen=pg.mkPen(colour, width=2),
                                   hoverPen=pg.mkPen(colour, width=4))
            line.setToolTip(f"drag to set flagfrac_{'lower' if side == 'low' else 'upper'}")
            line.sigPositionChangeFinished.connect(lambda item, s=side: self._dragged(s))
            line.setVisible(False)  # until there is a distribution to cut
            self.plot.addItem(line)
            self.lines[side] = line
        self._throttles = {}
        for side in ("low", "high"):
            self._throttles[side] = Throttle(80, lambda s=side: self._dragged(s), self)
            self.lines[side].sigPositionChanged.connect(
                lambda _line, s=side: self._throttles[s]())
        self.note = QLabel(objectName="histogram_note")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        # Drawn in the next turn of the event loop, once for a burst of results.
        session.result_ready.connect(Throttle(0, self.show_result, self))

    def disconnect_signals(self) -> None:
        """Drop pending throttled updates (the window is closing)."""
        for throttle in self._throttles.values():
            throttle.stop()

    def show_result(self, result: SessionResult) -> None:
        """Draw the distribution and put the lines on the thresholds."""
        values = result.sorted_difference
        if result.status != "complete" or values is None or values.size == 0:
            self.values = None
            self.curve.setData([], [])
            for line in self.lines.values():
                line.setVisible(False)
            self.note.setText(result.message)
            return
        self.values = values
        limits = result.statistics.thresholds
        start, stop = histogram_range(values, limits.low, limits.high)
        edges = np.linspace(start, stop, _BINS + 1)
        counts = np.diff(np.searchsorted(values, edges, side="left"))
        self.curve.setData(edges, np.log10(1.0 + counts))
        for side, value in (("low", limits.low), ("high", limits.high)):
            line = self.lines[side]
            line.setVisible(True)
            if not line.moving:  # never pull a line from under the user's mouse
                with QSignalBlocker(line):
                    line.setValue(float(value))
        sigma = result.statistics.sigma
        if sigma and np.isfinite(sigma):
            self.plot.getAxis("top").setScale(1.0 / sigma)
        self.plot.setXRange(start, stop, padding=0.02)
        self.note.setText(
            f"{values.size:,} finite pixels; drag a line to set its flag fraction")

    def _dragged(self, side: str) -> None:
        if self.values is None:
            return
        fraction = min(fraction_beyond(self.values, self.lines[side].value(), side), 0.5)
        name = "flagfrac_lower" if side == "low" else "flagfrac_upper"
        try:
            self.session.set_parameters(**{name: fraction})
        except ParameterError as error:
            self.note.setText(str(error))
