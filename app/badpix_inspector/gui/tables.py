"""Small helpers for the docks' tables."""

from __future__ import annotations

from PyQt6.QtWidgets import QTableWidget

__all__ = ["selected_rows"]


def selected_rows(table: QTableWidget) -> list[int]:
    """Return the rows with a selected cell, last first (so they can be deleted in turn)."""
    return sorted({index.row() for index in table.selectedIndexes()}, reverse=True)
