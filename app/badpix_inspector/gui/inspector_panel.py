"""The pixel inspector: a cut along the dispersion axis through the selected pixel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.dqflags import decode_dq
from ..session import Session, SessionResult
from .plot_menu import MenuViewBox, save_widget_png
from .throttle import Throttle

__all__ = ["Cut", "PixelInspector", "cut_through", "exposure_label"]

#: Table columns; the pedestal itself is in the tooltip of "− pedestal".
_COLUMNS = ("Exposure", "Role", "Value", "− pedestal", "DQ", "Minimum")
_DQ_WIDTH = 90  # pixels; longer flag lists are elided (the tooltip has them all)
_LABEL_LENGTH = 30  # characters of a file name in the plot's legend
_EXPOSURE_COLOURS = [(120, 200, 255), (255, 160, 80), (160, 255, 140), (230, 130, 230),
                     (255, 230, 120), (140, 140, 255), (255, 120, 120), (120, 255, 230)]


@dataclass
class Cut:
    """Values along the dispersion axis through one pixel.

    Attributes
    ----------
    positions : numpy.ndarray
        Row (dispersion along rows) or column numbers of the cut.
    axis : int
        The numpy axis the cut runs along.
    combined, smoothed, band_low, band_high : numpy.ndarray
        The combined and filtered images, and filtered + low / + high thresholds.
    exposures : list of numpy.ndarray
        Each used exposure, pedestal subtracted (as combined).
    flagged : numpy.ndarray of bool
        The final flags along the cut.
    """

    positions: np.ndarray
    axis: int
    combined: np.ndarray
    smoothed: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    exposures: list[np.ndarray]
    flagged: np.ndarray


def cut_through(result: SessionResult, row: int, column: int, half_width: int) -> Cut:
    """Return the cut through (row, column) along the result's dispersion axis.

    The square window has no dispersion axis: the cut then runs along the rows.
    """
    axis = 1 if result.dispaxis == 1 else 0
    size = result.combined.shape[axis]
    centre = column if axis == 1 else row
    positions = np.arange(max(0, centre - half_width), min(size, centre + half_width + 1))
    index = (row, positions) if axis == 1 else (positions, column)
    limits = result.statistics.thresholds
    smoothed = result.smoothed[index]
    exposures = [
        entry.exposure.sci[index] - (pedestal if pedestal is not None else 0)
        for entry, pedestal in zip(result.used, result.pedestals, strict=False)
    ]
    return Cut(positions, axis, result.combined[index], smoothed,
               smoothed + limits.low, smoothed + limits.high, exposures, result.final[index])


def exposure_label(name: str, role: str, length: int = _LABEL_LENGTH) -> str:
    """Return a legend label: the file name (shortened in the middle) and its role."""
    stem = name.removesuffix(".fits").removesuffix(".gz").removesuffix(".fits")
    if len(stem) > length:
        keep = length - 1
        stem = f"{stem[:keep // 2]}…{stem[len(stem) - (keep - keep // 2):]}"
    return f"{stem} ({role})"


class PixelInspector(QWidget):
    """Plot of the cut through the selected pixel, and a table of its value per exposure.

    The plot sits beside a narrow table (a short dock keeps the plot tall enough); each
    exposure's curve has the colour of its row in the table and a legend entry with its
    file name and role. Positions are numpy's, 0-based.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel("Click a pixel (Inspect tool) to see it here.",
                            objectName="inspector_title")
        self.half_width = QSpinBox(objectName="inspector_half_width")
        self.half_width.setRange(3, 300)
        self.half_width.setValue(25)
        self.half_width.setPrefix("± ")
        self.half_width.setSuffix(" px")
        self.half_width.setToolTip("Half-width of the cut along the dispersion axis")
        self.plot = pg.PlotWidget(objectName="inspector_plot",
                                  viewBox=MenuViewBox(fill_menu=self._fill_menu))
        self.plot.setMinimumHeight(120)
        self.legend = self.plot.addLegend(offset=(-5, 5), labelTextSize="7pt",
                                          brush=(0, 0, 0, 150), colCount=2, verSpacing=-6)
        self.plot.setLabel("left", "data − pedestal")
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.table = QTableWidget(0, len(_COLUMNS), objectName="inspector_table")
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Never sideways: the file name column takes what is left and is elided.
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        columns = self.table.horizontalHeader()
        columns.setMinimumSectionSize(30)
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        columns.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        columns.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        columns.resizeSection(4, _DQ_WIDTH)
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 4)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(QLabel("cut"))
        header.addWidget(self.half_width)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 11)
        splitter.setStretchFactor(1, 9)
        splitter.setSizes([550, 450])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        self.cut: Cut | None = None
        self.half_width.valueChanged.connect(lambda _: self.refresh())
        session.selection_changed.connect(lambda _place: self.refresh())
        # Drawn in the next turn of the event loop, once for a burst of results.
        later = Throttle(0, self.refresh, self)
        session.result_ready.connect(lambda _result: later())

    def refresh(self) -> None:
        """Redraw for the session's selected pixel and newest result."""
        result, place = self.session.result, self.session.selected
        self.plot.clear()
        if result is None or place is None or result.status != "complete":
            self.cut = None
            self.table.setRowCount(0)
            return
        row, column = place
        cut = cut_through(result, row, column, self.half_width.value())
        self.cut = cut
        along = "row" if cut.axis == 0 else "column"
        self.plot.setLabel("bottom", f"{along}, 0-based (dispersion axis)")
        state = "flagged" if result.final[row, column] else "not flagged"
        self.title.setText(f"<b>x={column} y={row}</b> (0-based): {state}")
        x = cut.positions
        for number, (values, entry) in enumerate(zip(cut.exposures, result.used, strict=False)):
            colour = _EXPOSURE_COLOURS[number % len(_EXPOSURE_COLOURS)]
            self.plot.plot(x, values, pen=pg.mkPen(colour, width=1),
                           name=exposure_label(entry.name, entry.role))
        dashed = pg.mkPen((255, 80, 80, 120), style=Qt.PenStyle.DashLine)
        low = self.plot.plot(x, cut.band_low, pen=dashed)
        high = self.plot.plot(x, cut.band_high, pen=dashed, name="threshold band")
        self.plot.addItem(pg.FillBetweenItem(low, high, brush=(255, 80, 80, 40)))
        self.plot.plot(x, cut.smoothed, pen=pg.mkPen((255, 220, 0), width=2), name="filtered")
        self.plot.plot(x, cut.combined, pen=pg.mkPen("w", width=2), name="combined")
        flagged = cut.flagged
        if flagged.any():
            self.plot.plot(x[flagged], cut.combined[flagged], pen=None, symbol="x", symbolSize=12,
                           symbolPen=pg.mkPen((255, 60, 60), width=2), name="flagged")
        centre = column if cut.axis == 1 else row
        self.plot.addItem(pg.InfiniteLine(centre, angle=90, pen=pg.mkPen((0, 255, 120), width=1)))
        self._fill_table(result, row, column)

    def _fill_table(self, result: SessionResult, row: int, column: int) -> None:
        source = int(result.source_index[row, column]) if result.source_index is not None else -1
        self.table.setRowCount(len(result.used))
        for number, (entry, pedestal) in enumerate(
            zip(result.used, result.pedestals, strict=False)
        ):
            value = float(entry.exposure.sci[row, column])
            dq = entry.exposure.dq
            dq_text = "–" if dq is None else (", ".join(decode_dq(dq[row, column])) or "GOOD")
            minimum = "◀ minimum" if number == source else ""
            cells = (entry.name, entry.role, f"{value:.5g}", f"{value - (pedestal or 0):.5g}",
                     dq_text, minimum)
            colour = QColor(*_EXPOSURE_COLOURS[number % len(_EXPOSURE_COLOURS)])
            for column_number, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column_number == 0:
                    item.setToolTip(f"{entry.exposure.path}\ncurve: {colour.name()}")
                    item.setData(Qt.ItemDataRole.DecorationRole, colour)  # its curve's colour
                if column_number == 4:
                    item.setToolTip(dq_text)
                if column_number == 3:
                    item.setToolTip("pedestal: " + ("none" if pedestal is None else
                                                    f"{pedestal:.5g}") +
                                    ("; the minimum over the exposures" if minimum else ""))
                if minimum:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(number, column_number, item)

    def _fill_menu(self, menu, _place) -> None:
        menu.addAction("Fit view", lambda: self.plot.getViewBox().autoRange())
        menu.addAction("Export PNG…", lambda: save_widget_png(
            self.plot, "Save the pixel inspector's plot", "pixel_inspector.png"))
