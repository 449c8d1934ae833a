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
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.dqflags import decode_dq
from ..io import InputError, read_dq_pixel
from ..model.markers import pixel_label
from ..session import Session, SessionResult
from .plot_menu import MenuViewBox, save_widget_png
from .throttle import Throttle

__all__ = ["Cut", "PixelInspector", "cut_through", "exposure_labels"]

#: Table columns; the pedestal itself is in the tooltip of "− pedestal".
_COLUMNS = ("exposure", "role", "value", "− ped.", "DQ", "min")
_NAME_WIDTH = 130  # pixels: the part of the file name that differs (the tooltip has all)
_DQ_WIDTH = 50  # pixels; longer flag lists are elided (the tooltip has them all)
_LABEL_LENGTH = 24  # characters of a file name in the plot's legend
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
        The combined and smoothed images, and smoothed + low / + high thresholds.
    exposures : list of numpy.ndarray
        Each used exposure, pedestal subtracted (as combined).
    flagged : numpy.ndarray of bool
        The final flags along the cut.
    raw : list of numpy.ndarray
        Each used exposure as in its file (before the pedestal).
    centre : int
        The place of the pixel itself in ``positions``.
    """

    positions: np.ndarray
    axis: int
    combined: np.ndarray
    smoothed: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    exposures: list[np.ndarray]
    flagged: np.ndarray
    raw: list[np.ndarray]
    centre: int


def _read_cut(entry, index) -> np.ndarray:
    return entry.exposure.read_sci(index)


def cut_through(result: SessionResult, row: int, column: int, half_width: int,
                read=_read_cut) -> Cut:
    """Return the cut through (row, column) along the result's dispersion axis.

    The square window has no dispersion axis: the cut then runs along the rows.
    ``read(entry, index)`` gives an exposure's SCI values at a numpy index (by default
    `Exposure.read_sci`, which reads exposures not kept in memory from their files).

    Raises
    ------
    InputError
        When an exposure's file can no longer be read as it was.
    """
    axis = 1 if result.dispaxis == 1 else 0
    size = result.combined.shape[axis]
    centre = column if axis == 1 else row
    positions = np.arange(max(0, centre - half_width), min(size, centre + half_width + 1))
    index = (row, positions) if axis == 1 else (positions, column)
    flat = np.ravel_multi_index(index, result.combined.shape)
    limits = result.statistics.thresholds
    smoothed = result.smoothed[index]
    raw = [read(entry, index) for entry in result.used]
    exposures = [values - (pedestal if pedestal is not None else 0)
                 for values, pedestal in zip(raw, result.pedestals, strict=False)]
    return Cut(positions, axis, result.combined[index], smoothed,
               smoothed + limits.low, smoothed + limits.high, exposures,
               result.pixels.final.isin(flat), raw, int(centre - positions[0]))


def _shared_start(texts: list[str]) -> int:
    """Return how many leading characters all ``texts`` share."""
    count = 0
    for characters in zip(*texts, strict=False):
        if len(set(characters)) > 1:
            break
        count += 1
    return count


def _stem(name: str) -> str:
    for suffix in (".gz", ".fits"):
        name = name.removesuffix(suffix)
    return name


def exposure_labels(names: list[str], roles: list[str],
                    length: int = _LABEL_LENGTH) -> list[str]:
    """Return legend labels: the part of each file name that tells it apart, and its role.

    JWST file names of one association share a long prefix and suffix; the legend shows
    what differs ("…3001_03102_00001… (science)"), cut in the middle beyond ``length``.
    """
    stems = [_stem(name) for name in names]
    start = end = 0
    if len(set(stems)) > 1:
        start = _shared_start(stems)
        end = min(_shared_start([stem[::-1] for stem in stems]),
                  min(len(stem) for stem in stems) - start)
    labels = []
    for stem, role in zip(stems, roles, strict=True):
        core = stem[start:len(stem) - end]
        if len(core) > length:
            keep = length - 1
            core = f"{core[:keep // 2]}…{core[len(core) - (keep - keep // 2):]}"
        text = ("…" if start else "") + core + ("…" if end else "")
        labels.append(f"{text} ({role})")
    return labels


class _ShortNameDelegate(QStyledItemDelegate):
    """Shows the part of a file name that tells it apart; the item keeps the whole name."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        short = index.data(Qt.ItemDataRole.UserRole)
        if short:
            option.text = short


class PixelInspector(QWidget):
    """Plot of the cut through the selected pixel, and a table of its value per exposure.

    The plot sits beside a narrow table (a short dock keeps the plot tall enough). The
    table is the exposures' legend: each row has its curve's colour, the part of the file
    name that tells it apart, and its role; the plot's legend names the other curves, and
    the exposures too when asked (right-click menu). Positions are numpy's, 0-based.
    """

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel("Click a pixel (Inspect tool) to see it here.",
                            objectName="inspector_title")
        # A long message wraps: on one line it widened the dock, and the window past the
        # screen's edge.
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(80)
        self.half_width = QSpinBox(objectName="inspector_half_width")
        self.half_width.setRange(3, 300)
        self.half_width.setValue(25)
        self.half_width.setPrefix("± ")
        self.half_width.setSuffix(" px")
        self.half_width.setToolTip("Half-width of the cut along the dispersion axis")
        self.plot = pg.PlotWidget(objectName="inspector_plot",
                                  viewBox=MenuViewBox(fill_menu=self._fill_menu))
        self.plot.setMinimumSize(240, 140)
        self.legend = self.plot.addLegend(offset=(-5, 5), labelTextSize="7pt",
                                          brush=(0, 0, 0, 150), colCount=2, verSpacing=-6)
        #: Name each exposure's curve in the plot's legend too (the menu toggles it): in a
        #: short dock, the table beside the plot is their legend (swatch, file name, role).
        self.legend_exposures = False
        self.plot.setLabel("left", "data")  # the title says: pedestal subtracted
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.table = QTableWidget(0, len(_COLUMNS), objectName="inspector_table")
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.horizontalHeaderItem(0).setToolTip(
            "The part of the file name that tells the exposures apart, in the colour of its "
            "curve in the plot (the tooltip of a name gives the whole path)")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Never sideways: the file name column takes what is left and is elided.
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setItemDelegateForColumn(0, _ShortNameDelegate(self.table))
        columns = self.table.horizontalHeader()
        columns.setMinimumSectionSize(30)
        columns.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for number, width in ((0, _NAME_WIDTH), (4, _DQ_WIDTH)):
            columns.setSectionResizeMode(number, QHeaderView.ResizeMode.Interactive)
            columns.resizeSection(number, width)
        columns.setStretchLastSection(True)
        small = self.table.font()
        small.setPointSizeF(small.pointSizeF() - 1)
        self.table.setFont(small)
        columns.setFont(small)
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
        splitter.setStretchFactor(0, 1)  # the plot takes what the table does not need
        splitter.setStretchFactor(1, 0)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        self.cut: Cut | None = None
        self._reads: dict = {}  # values read from files, for the selected pixel
        self.half_width.valueChanged.connect(lambda _: self.refresh())
        session.selection_changed.connect(lambda _place: self.refresh())
        # Drawn in the next turn of the event loop, once for a burst of results.
        later = Throttle(0, self.refresh, self)
        session.result_ready.connect(lambda _result: later())

    def refresh(self) -> None:
        """Redraw for the session's selected pixel and newest result."""
        result, place = self.session.result, self.session.selected
        if len(self._reads) > 64:
            self._reads.clear()
        self.plot.clear()
        if result is None or place is None or result.status != "complete":
            self.cut = None
            self.table.setRowCount(0)
            return
        row, column = place
        try:
            cut = cut_through(result, row, column, self.half_width.value(), self._read)
        except InputError as error:
            self.cut = None
            self.table.setRowCount(0)
            self.title.setText(f"<b>{pixel_label(row, column)}</b>: {error}")
            return
        self.cut = cut
        along = "row" if cut.axis == 0 else "column"
        self.plot.setLabel("bottom", f"dispersion {along} (0-based)")
        state = "flagged" if result.is_final(row, column) else "not flagged"
        self.title.setText(f"<b>{pixel_label(row, column)}</b>: {state}; "
                           "data with pedestals subtracted")
        x = cut.positions
        labels = exposure_labels([entry.name for entry in result.used],
                                 [entry.role for entry in result.used])
        for number, (values, label) in enumerate(zip(cut.exposures, labels, strict=False)):
            colour = _EXPOSURE_COLOURS[number % len(_EXPOSURE_COLOURS)]
            self.plot.plot(x, values, pen=pg.mkPen(colour, width=1),
                           name=label if self.legend_exposures else None)
        dashed = pg.mkPen((255, 80, 80, 120), style=Qt.PenStyle.DashLine)
        low = self.plot.plot(x, cut.band_low, pen=dashed)
        high = self.plot.plot(x, cut.band_high, pen=dashed, name="threshold band")
        self.plot.addItem(pg.FillBetweenItem(low, high, brush=(255, 80, 80, 40)))
        self.plot.plot(x, cut.smoothed, pen=pg.mkPen((255, 220, 0), width=2), name="smoothed")
        self.plot.plot(x, cut.combined, pen=pg.mkPen("w", width=2), name="combined")
        flagged = cut.flagged
        if flagged.any():
            self.plot.plot(x[flagged], cut.combined[flagged], pen=None, symbol="x", symbolSize=12,
                           symbolPen=pg.mkPen((255, 60, 60), width=2), name="flagged")
        centre = column if cut.axis == 1 else row
        self.plot.addItem(pg.InfiniteLine(centre, angle=90, pen=pg.mkPen((0, 255, 120), width=1)))
        self._fill_table(result, row, column, cut)

    def _read(self, entry, index) -> np.ndarray:
        # An exposure's values do not change with the parameters: a cut read from a file
        # serves every result until the pixel or the cut's length changes.
        place = tuple(int(part) if np.ndim(part) == 0 else (int(part[0]), int(part[-1]))
                      for part in index)  # a cut is a range of rows or columns
        key = ("sci", id(entry.exposure), entry.exposure.stamp, place)
        if key not in self._reads:
            self._reads[key] = entry.exposure.read_sci(index)
        return self._reads[key]

    def _dq(self, entry, row: int, column: int) -> int | None:
        dq = entry.exposure.dq  # kept for the science exposure only
        if dq is not None:
            return int(dq[row, column])
        key = ("dq", id(entry.exposure), entry.exposure.stamp, row, column)
        if key not in self._reads:
            self._reads[key] = read_dq_pixel(entry.exposure.path, row, column)
        return self._reads[key]

    def _fill_table(self, result: SessionResult, row: int, column: int, cut: Cut) -> None:
        source = result.source_of(row, column)
        labels = exposure_labels([entry.name for entry in result.used],
                                 [entry.role for entry in result.used])
        self.table.setRowCount(len(result.used))
        for number, (entry, pedestal) in enumerate(
            zip(result.used, result.pedestals, strict=False)
        ):
            value = float(cut.raw[number][cut.centre])
            value_dq = self._dq(entry, row, column)
            dq_text = "–" if value_dq is None else (", ".join(decode_dq(value_dq)) or "GOOD")
            minimum = "◀ minimum" if number == source else ""
            cells = (entry.name, entry.role, f"{value:.5g}", f"{value - (pedestal or 0):.5g}",
                     dq_text, minimum)
            colour = QColor(*_EXPOSURE_COLOURS[number % len(_EXPOSURE_COLOURS)])
            for column_number, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column_number == 0:
                    item.setToolTip(f"{entry.exposure.path}\ncurve: {colour.name()}")
                    item.setData(Qt.ItemDataRole.DecorationRole, colour)  # its curve's colour
                    short = labels[number].rsplit(" (", 1)[0].strip("…")
                    item.setData(Qt.ItemDataRole.UserRole, short)
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
        self._fit_table()

    def _name_exposures(self, on: bool) -> None:
        self.legend_exposures = on
        self.legend.setVisible(True)
        self.refresh()

    def _fit_table(self) -> None:
        """Give the table the width its columns need, so it never scrolls sideways."""
        columns = self.table.horizontalHeader()
        columns.setStretchLastSection(False)
        self.table.resizeColumnToContents(len(_COLUMNS) - 1)
        needed = sum(columns.sectionSize(n) for n in range(len(_COLUMNS)))
        needed += 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()
        columns.setStretchLastSection(True)
        if self.table.minimumWidth() != needed:
            self.table.setMinimumWidth(needed)
            # The plot takes the rest (a splitter first shares by size hints).
            total = sum(self.splitter.sizes())
            if total > needed:
                self.splitter.setSizes([total - needed, needed])

    def _fill_menu(self, menu, _place) -> None:
        menu.addAction("Fit view", lambda: self.plot.getViewBox().autoRange())
        legend = menu.addAction("Show legend")
        legend.setCheckable(True)
        legend.setChecked(self.legend.isVisible())
        legend.toggled.connect(self.legend.setVisible)
        exposures = menu.addAction("Name the exposures in the legend")
        exposures.setCheckable(True)
        exposures.setChecked(self.legend_exposures)
        exposures.toggled.connect(self._name_exposures)
        menu.addAction("Export PNG…", lambda: save_widget_png(
            self.plot, "Save the pixel inspector's plot", "pixel_inspector.png",
            self.session.input_paths))
