"""Files of the manual QA: edits, sessions and flag masks (DS9 regions: `regions.py`).

- An **edits file** (JSON) lists the pixels forced bad and forced good, zero-based
  ``[row, column]`` (numpy order), with the detector shape; the window writes it and
  ``badpix-selfcal --edits FILE`` applies it.
- A **session file** (JSON) holds the whole state of the window: files and roles,
  parameters, dispersion axis, edits, markers and view.
- A **flag mask** (FITS) has the algorithm's flags, the manual edits and the final flags as
  separate image extensions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .association import read_json
from .errors import InputError
from .guard import OutputGuard, OutputSet
from .products import write_file

__all__ = [
    "EDITS_FORMAT",
    "SESSION_FORMAT",
    "EditLists",
    "read_edits",
    "read_session",
    "write_edits",
    "write_flag_mask",
    "write_session",
]

EDITS_FORMAT = "badpix-inspector edits"


class EditLists(NamedTuple):
    """Hand edits as pixel lists: forced bad and forced good ``[row, column]`` (N x 2)."""

    forced_bad: np.ndarray
    forced_good: np.ndarray
    shape: tuple[int, int] | None = None
SESSION_FORMAT = "badpix-inspector session"


#: What the writers take to know which files they must never replace: the paths of the
#: inputs, a guard that knows them, or a set of outputs to stage the file in.
Inputs = Iterable[str | Path] | OutputGuard | OutputSet


def _write_json(path: Path, document: dict, inputs: Inputs) -> Path:
    # surrogateescape'd names (not UTF-8) are kept as \udcXX escapes, not a crash.
    return write_file(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"), inputs)


def _read_json(path: Path, expected: str) -> dict:
    document = read_json(path, expected)
    if not isinstance(document, dict) or document.get("format") != expected:
        raise InputError(path, f"not a {expected} file", f"give a file saved as {expected}")
    return document


def write_edits(path: str | Path, edits: dict, science: str | None = None,
                inputs: Inputs = ()) -> Path:
    """Write edits (as `ManualEdits.to_dict` gives them) to a JSON file, atomically.

    ``inputs`` are the files it must never replace (see `badpix_inspector.io.write_file`).
    """
    document = {"format": EDITS_FORMAT, "version": 1, "science": science, **edits}
    return _write_json(Path(path), document, inputs)


def _pixel_list(path: Path, document: dict, key: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        pixels = np.asarray(document.get(key) or [], dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError, OverflowError):
        raise InputError(path, f"{key} is not a list of [row, column] pairs of pixel indices",
                         "fix the file") from None
    outside = (pixels < 0).any(axis=1) | (pixels[:, 0] >= shape[0]) | (pixels[:, 1] >= shape[1])
    if outside.any():
        row, column = pixels[outside][0]
        raise InputError(path, f"{key} has pixel [{row}, {column}] outside {shape[0]}x{shape[1]}",
                         "use the edits made for this detector")
    return pixels


def read_edits(path: str | Path, shape: tuple[int, int] | None = None) -> EditLists:
    """Read an edits file; return the forced-bad and forced-good pixel lists (N x 2).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    shape : tuple of int, optional
        The science exposure's shape: the file's must match.

    Raises
    ------
    InputError
        When the file is missing, not an edits file, for another shape, or has pixels
        outside the detector.
    """
    path = Path(path)
    document = _read_json(path, EDITS_FORMAT)
    return _edits_from(path, document, shape)


def _edits_from(path: Path, document: dict, shape) -> EditLists:
    stated = document.get("shape") or ()
    if not (isinstance(stated, list | tuple) and len(stated) in (0, 2) and all(
            isinstance(size, int) and not isinstance(size, bool) and 0 < size < 2**31
            for size in stated)):
        raise InputError(path, f"shape is {stated!r}, not [rows, columns]",
                         "fix the file (or save the edits again from the window)")
    stated = tuple(stated)
    if shape is not None and stated and tuple(stated) != tuple(shape):
        raise InputError(path, f"the edits are for {stated[0]}x{stated[1]} pixels, the "
                         f"science exposure has {shape[0]}x{shape[1]}",
                         "use the edits made for this exposure")
    shape = tuple(shape or stated)
    if len(shape) != 2:
        raise InputError(path, "the edits give no detector shape", "fix the file")
    return EditLists(_pixel_list(path, document, "forced_bad", shape),
                     _pixel_list(path, document, "forced_good", shape), shape)


def write_session(path: str | Path, state: dict[str, Any], inputs: Inputs = ()) -> Path:
    """Write a session (the window's state as a dict) to JSON, atomically.

    File paths in ``state["exposures"]`` and ``state["association"]`` are stored relative to
    the session file's folder when they lie below it, so a folder can be moved whole. Those
    files are never replaced by the session, nor are ``inputs`` (see
    `badpix_inspector.io.write_file`).
    """
    path = Path(path)
    folder = path.resolve().parent

    def portable(value: str | None) -> str | None:
        if value is None:
            return None
        target = Path(value).resolve()
        try:
            return str(target.relative_to(folder))
        except ValueError:
            return str(target)

    document = {"format": SESSION_FORMAT, "version": 1, **state}
    document["exposures"] = [{**item, "path": portable(item["path"])}
                             for item in state.get("exposures", [])]
    document["association"] = portable(state.get("association"))
    listed = [item["path"] for item in state.get("exposures", []) if item.get("path")]
    if state.get("association"):
        listed.append(state["association"])
    if isinstance(inputs, OutputGuard | OutputSet):
        guard = inputs.guard if isinstance(inputs, OutputSet) else inputs
        guard.protect(*listed)
    else:
        inputs = OutputGuard([*inputs, *listed])
    return _write_json(path, document, inputs)


def read_session(path: str | Path) -> dict[str, Any]:
    """Read a session file; paths come back absolute. Raises `InputError` if unusable."""
    path = Path(path)
    document = _read_json(path, SESSION_FORMAT)
    folder = path.resolve().parent

    def absolute(value: str | None) -> str | None:
        return None if value is None else str((folder / value).resolve())

    exposures = document.get("exposures")
    if not isinstance(exposures, list) or not all(
        isinstance(item, dict) and "path" in item and "role" in item for item in exposures
    ):
        raise InputError(path, "the session lists no exposures with path and role",
                         "fix the file")
    document["exposures"] = [{**item, "path": absolute(item["path"])} for item in exposures]
    document["association"] = absolute(document.get("association"))
    return document


def write_flag_mask(
    path: str | Path,
    algorithm: np.ndarray,
    forced_bad: np.ndarray,
    forced_good: np.ndarray,
    final: np.ndarray,
    header_cards: dict[str, Any] | None = None,
    inputs: Inputs = (),
) -> Path:
    """Write the flags as FITS: ALGORITHM, MANUAL (+1 bad, -1 good) and FINAL extensions.

    ``inputs`` are the files it must never replace (see `badpix_inspector.io.write_file`).
    """
    from astropy.io import fits

    manual = np.zeros(algorithm.shape, dtype=np.int8)
    manual[forced_bad] = 1
    manual[forced_good] = -1
    primary = fits.PrimaryHDU()
    for key, value in (header_cards or {}).items():
        primary.header[key] = value
    primary.header["COMMENT"] = "ALGORITHM: flags of badpix_selfcal (1 = flagged)"
    primary.header["COMMENT"] = "MANUAL: hand edits (1 = forced bad, -1 = forced good)"
    primary.header["COMMENT"] = "FINAL: (ALGORITHM or forced bad) and not forced good"
    hdulist = fits.HDUList([
        primary,
        fits.ImageHDU(algorithm.astype(np.uint8), name="ALGORITHM"),
        fits.ImageHDU(manual, name="MANUAL"),
        fits.ImageHDU(final.astype(np.uint8), name="FINAL"),
    ])
    return write_file(path, hdulist.writeto, inputs)
