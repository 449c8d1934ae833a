"""The markers dock: a view of the `MarkersModel` (pixels recorded with M), notes editable."""

from __future__ import annotations

from PyQt6.QtCore import QSignalBlocker, Qt
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

from ..model import MARKER_FIELDS, MarkersModel
from .tables import selected_rows

__all__ = ["MarkersPanel"]

#: Column headers: the coordinates say their convention.
_HEADERS = {"x_fits": "x (FITS)", "y_fits": "y (FITS)", "row": "row (numpy)",
            "column": "column (numpy)"}


class MarkersPanel(QWidget):
    """A table of the markers; the note column is editable, the rest follows the model.

    Parameters
    ----------
    model : MarkersModel
        The markers shown; the panel observes its ``changed`` event.
    """

    def __init__(self, model: MarkersModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = QTableWidget(0, len(MARKER_FIELDS), objectName="markers_table")
        self.table.setHorizontalHeaderLabels([_HEADERS.get(f, f) for f in MARKER_FIELDS])
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
        model.changed.connect(self.refresh)
        self.refresh()

    def disconnect_model(self) -> None:
        """Stop observing the model (the window is closing)."""
        self.model.changed.disconnect(self.refresh)

    def remove_selected(self) -> None:
        """Remove the selected markers from the model."""
        self.model.remove(selected_rows(self.table))

    def refresh(self) -> None:
        """Show the model's markers (the table's own signals blocked meanwhile)."""
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(self.model.records))
            for row, record in enumerate(self.model.records):
                for column, name in enumerate(MARKER_FIELDS):
                    value = record.get(name)
                    text = "" if value is None else (f"{value:.6g}" if isinstance(value, float)
                                                      else str(value))
                    item = self.table.item(row, column)
                    if item is None:
                        item = QTableWidgetItem()
                        self.table.setItem(row, column, item)
                    item.setText(text)
                    editable = name == "note"
                    flags = item.flags() | Qt.ItemFlag.ItemIsEditable if editable else \
                        item.flags() & ~Qt.ItemFlag.ItemIsEditable
                    item.setFlags(flags)

    def _edited(self, item: QTableWidgetItem) -> None:
        if MARKER_FIELDS[item.column()] == "note":
            self.model.set_note(item.row(), item.text())
