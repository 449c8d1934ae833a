"""Markers: pixels a user recorded (``M``), with the values there and a note.

Coordinates are stored in both conventions, named so that nobody has to guess: ``x_fits``
and ``y_fits`` are FITS/DS9's 1-based column and row (what DS9 shows and what the region
files hold), ``row`` and ``column`` numpy's 0-based indices into the arrays.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.dqflags import decode_dq
from ..session import Event, SessionResult

__all__ = ["MARKER_FIELDS", "MarkersModel", "describe_pixel", "marker_record", "pixel_label"]

log = logging.getLogger(__name__)

#: Columns of a marker, in table and file order.
MARKER_FIELDS = ("x_fits", "y_fits", "row", "column", "combined", "smoothed", "difference",
                 "science", "algorithm_flag", "final_flag", "dq", "dq_names", "note")

_DTYPES = (int, int, int, int, float, float, float, float, bool, bool, int, str, str)


def pixel_label(row: int, column: int) -> str:
    """Return a pixel's place in both conventions, e.g. ``x=614 y=1 (FITS) [0, 613]``."""
    return f"x={column + 1} y={row + 1} (FITS, 1-based) · [{row}, {column}] (numpy)"


def marker_record(result: SessionResult, row: int, column: int, note: str = "") -> dict:
    """Return what a marker records of pixel (row, column) (0-based) in a result."""

    def value(array):
        return None if array is None else float(array[row, column])

    dq = None if result.science_dq is None else int(result.science_dq[row, column])
    return {
        "x_fits": int(column) + 1, "y_fits": int(row) + 1, "row": int(row), "column": int(column),
        "combined": value(result.combined), "smoothed": value(result.smoothed),
        "difference": value(result.difference), "science": value(result.science),
        "algorithm_flag": None if result.pixels is None else result.is_flagged(row, column),
        "final_flag": None if result.pixels is None else result.is_final(row, column),
        "dq": dq, "dq_names": "" if dq is None else " ".join(decode_dq(dq)), "note": str(note),
    }  # fmt: skip


def describe_pixel(result: SessionResult | None, row: int, column: int) -> str:
    """Return the cursor readout of pixel (row, column) (0-based): place, values, DQ, source.

    The same look-ups as a marker's; the readout only formats them.
    """
    if result is None or result.science is None:
        return ""
    rows, columns = result.science.shape
    if not (0 <= row < rows and 0 <= column < columns):
        return f"{pixel_label(row, column)} (outside the detector)"
    record = marker_record(result, row, column)
    parts = [pixel_label(row, column)]
    for key, label in (("combined", "combined"), ("smoothed", "smoothed"),
                       ("difference", "diff"), ("science", "science")):
        if record[key] is not None:
            parts.append(f"{label}={record[key]:.5g}")
    if record["dq"] is not None:
        names = ", ".join(record["dq_names"].split()) or "GOOD"
        parts.append(f"DQ={record['dq']} ({names})")
    if record["algorithm_flag"]:
        parts.append("FLAGGED")
    source = result.source_of(row, column)
    if source >= 0:
        entry = result.used[source]
        parts.append(f"min from {entry.name} ({entry.role})")
    return "   ".join(parts)


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """Read a marker from a session file, including those written before both conventions.

    Earlier sessions stored 0-based ``x``/``y`` and ``filtered``; a note of ``False`` came
    from a bug (Qt's ``checked`` argument) and means no note.
    """
    record = dict(record)
    if "row" not in record and "y" in record:
        record["row"], record["column"] = int(record.pop("y")), int(record.pop("x"))
    if "row" in record:
        record.setdefault("x_fits", int(record["column"]) + 1)
        record.setdefault("y_fits", int(record["row"]) + 1)
    if "filtered" in record:
        record.setdefault("smoothed", record.pop("filtered"))
    note = record.get("note")
    record["note"] = "" if note is None or note is False else str(note)
    return {field: record.get(field) for field in MARKER_FIELDS}


class MarkersModel:
    """The recorded markers, observed by the markers dock.

    Attributes
    ----------
    records : list of dict
        One dict per marker, keyed by `MARKER_FIELDS`.
    changed : Event
        Emitted after markers are added, removed, replaced or a note is edited.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.changed = Event()

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append a marker; return the stored copy."""
        stored = _upgrade(record)
        self.records.append(stored)
        self.changed.emit()
        return stored

    def add_pixel(self, result: SessionResult, row: int, column: int,
                  note: str = "") -> dict[str, Any] | None:
        """Record pixel (row, column) of ``result``; None when it is off the detector."""
        if result is None or result.science is None:
            return None
        rows, columns = result.science.shape
        if not (0 <= row < rows and 0 <= column < columns):
            return None
        return self.add(marker_record(result, row, column, note))

    def set_records(self, records: Iterable[dict[str, Any]]) -> None:
        """Replace every marker (a session being opened)."""
        self.records = [_upgrade(record) for record in records]
        self.changed.emit()

    def remove(self, indices: Iterable[int]) -> None:
        """Remove the markers at ``indices``."""
        doomed = set(indices)
        if doomed:
            self.records = [r for n, r in enumerate(self.records) if n not in doomed]
            self.changed.emit()

    def set_note(self, index: int, note: str) -> None:
        """Change the note of marker ``index``."""
        if self.records[index]["note"] != note:
            self.records[index]["note"] = str(note)
            self.changed.emit()

    def export(self, path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
        """Write the markers to ``path``: ECSV for ``.ecsv``, CSV otherwise (atomically).

        ``inputs`` are the files it must never replace (see `badpix_inspector.io.write_file`).
        """
        from astropy.table import Table

        from ..io import csv_cell, write_file

        path = Path(path)
        ecsv = path.suffix.lower() == ".ecsv"
        # A CSV may be opened by a spreadsheet: a note like "=HYPERLINK(...)" stays text.
        # ECSV is read by astropy, which takes text as it is.
        cell = (lambda value: value) if ecsv else csv_cell
        if self.records:
            columns = {field: [cell(record.get(field)) for record in self.records]
                       for field in MARKER_FIELDS}
            table = Table(columns, names=MARKER_FIELDS)
        else:
            table = Table(names=MARKER_FIELDS, dtype=_DTYPES)
        if ecsv:  # the header says the convention; a CSV's column names must do
            table.meta["comments"] = ["x_fits, y_fits: FITS/DS9, 1-based; "
                                      "row, column: numpy, 0-based"]
        text = io.StringIO()
        table.write(text, format="ascii.ecsv" if ecsv else "ascii.csv")
        return write_file(path, text.getvalue().encode("utf-8"), inputs)
