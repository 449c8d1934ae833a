"""Text made safe for the formats the tools write: CSV cells that a spreadsheet opens."""

from __future__ import annotations

__all__ = ["csv_cell"]

#: First characters that make a spreadsheet read a cell as a formula (or split it).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Return ``value`` made safe for a CSV cell that a spreadsheet may open.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read
    as a formula (``=HYPERLINK(...)`` in a file name): it gets a leading apostrophe, which
    spreadsheets show as text. Numbers are left as they are.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
