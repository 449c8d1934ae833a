"""The markers dock: pixels recorded with ``m``, with a note, exported to CSV or ECSV."""

from __future__ import annotations

import io
from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.dqflags import decode_dq
from ..session import SessionResult
from .tables import selected_rows

__all__ = ["MARKER_FIELDS", "MarkersPanel", "marker_record"]

#: Columns of a marker, in table and file order.
MARKER_FIELDS = ("x", "y", "combined", "filtered", "difference", "science", "algorithm_flag",
                 "final_flag", "dq", "dq_names", "note")


def marker_record(result: SessionResult, row: int, column: int, note: str = "") -> dict:
    """Return what a marker records of pixel (row, column) in a result."""

    def value(array):
        return None if array is None else float(array[row, column])

    dq = None if result.science_dq is None else int(result.science_dq[row, column])
    return {
        "x": int(column), "y": int(row),
        "combined": value(result.combined), "filtered": value(result.smoothed),
        "difference": value(result.difference), "science": value(result.science),
        "algorithm_flag": None if result.flags is None else bool(result.flags[row, column]),
        "final_flag": None if result.final is None else bool(result.final[row, column]),
        "dq": dq, "dq_names": "" if dq is None else " ".join(decode_dq(dq)), "note": note,
    }  # fmt: skip


class MarkersPanel(QWidget):
    """A table of recorded pixels; the note column is editable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[dict] = []
        self.table = QTableWidget(0, len(MARKER_FIELDS), objectName="markers_table")
        self.table.setHorizontalHeaderLabels(MARKER_FIELDS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.export_button = QPushButton("Export…", objectName="markers_export")
        self.remove_button = QPushButton("Remove", objectName="markers_remove")
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.table.itemChanged.connect(self._edited)
        self.remove_button.clicked.connect(self.remove_selected)

    def add(self, record: dict) -> None:
        """Append a marker."""
        self.records.append(dict(record))
        self._refresh()

    def set_records(self, records: list[dict]) -> None:
        """Replace every marker (a session being opened)."""
        self.records = [dict(record) for record in records]
        self._refresh()

    def remove_selected(self) -> None:
        """Remove the selected markers."""
        for row in selected_rows(self.table):
            del self.records[row]
        self._refresh()

    def _refresh(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            for column, field in enumerate(MARKER_FIELDS):
                value = record.get(field)
                text = "" if value is None else (f"{value:.6g}" if isinstance(value, float)
                                                  else str(value))
                item = QTableWidgetItem(text)
                if field != "note":
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)

    def _edited(self, item: QTableWidgetItem) -> None:
        if MARKER_FIELDS[item.column()] == "note":
            self.records[item.row()]["note"] = item.text()

    def export(self, path: str | Path) -> Path:
        """Write the markers to ``path``: ECSV for ``.ecsv``, CSV otherwise (atomically)."""
        from astropy.table import Table

        from ..io import write_file

        path = Path(path)
        columns = {field: [record.get(field) for record in self.records]
                   for field in MARKER_FIELDS}
        table = Table(columns, names=MARKER_FIELDS) if self.records else Table(
            names=MARKER_FIELDS, dtype=[int, int, float, float, float, float, bool, bool, int,
                                        str, str])
        file_format = "ascii.ecsv" if path.suffix.lower() == ".ecsv" else "ascii.csv"
        text = io.StringIO()
        table.write(text, format=file_format)
        return write_file(path, text.getvalue().encode("utf-8"))

