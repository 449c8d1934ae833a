"""The exposures dock: loaded files with their role, detector, shape and pedestal."""

from __future__ import annotations

from PyQt6.QtCore import QSignalBlocker, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..io import ROLES
from ..session import Session
from .tables import selected_rows

__all__ = ["ExposuresPanel"]

_COLUMNS = ("File", "Role", "Detector", "Shape", "Pedestal")


class ExposuresPanel(QWidget):
    """A table of the session's exposures; the role column is editable.

    Signals
    -------
    open_requested()
        The user asked to open files (the main window shows the dialog).
    """

    open_requested = pyqtSignal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.table = QTableWidget(0, len(_COLUMNS), objectName="exposures_table")
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # keep the exposure number
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(40)
        self.open_button = QPushButton("Open…", objectName="open_button")
        self.remove_button = QPushButton("Remove", objectName="remove_button")
        self.remove_button.setToolTip("Forget the selected exposures (Delete)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.open_button.clicked.connect(self.open_requested)
        self.remove_button.clicked.connect(self.remove_selected)
        session.exposures_changed.connect(self.refresh)
        session.result_ready.connect(lambda _result: self.refresh_pedestals())
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the table from the session."""
        entries = self.session.entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            exposure = entry.exposure
            name = QTableWidgetItem(exposure.name)
            name.setToolTip(str(exposure.path))
            self.table.setItem(row, 0, name)
            role = QComboBox(objectName=f"role_{row}")
            role.addItems(ROLES)
            with QSignalBlocker(role):
                role.setCurrentText(entry.role)
            role.currentTextChanged.connect(
                lambda text, index=row: self.session.set_role(index, text))
            self.table.setCellWidget(row, 1, role)
            self.table.setItem(row, 2, QTableWidgetItem(exposure.detector or "?"))
            self.table.setItem(row, 3, QTableWidgetItem("×".join(map(str, exposure.shape))))
        self.refresh_pedestals()

    def refresh_pedestals(self) -> None:
        """Show the pedestal subtracted from each exposure (– where none was)."""
        for row, entry in enumerate(self.session.entries):
            used = entry.role in ("science", "background", "selfcal")
            text = f"{entry.pedestal:.4g}" if used and entry.pedestal is not None else "–"
            self.table.setItem(row, 4, QTableWidgetItem(text))

    def remove_selected(self) -> None:
        """Remove the selected rows from the session."""
        for row in selected_rows(self.table):
            self.session.remove(row)
