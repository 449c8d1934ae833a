"""What the window writes, Qt-free: products, parameter file, edits, mask, regions, strun.

Each function takes the `Session` and a destination chosen by the user, writes through the
file layer's output guard (atomically, and never over a file the session read) and returns
the path written; a state that has nothing to write, an unwritable destination and a
destination that is an input all raise `InputError`, which the window shows.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import numpy as np

from ..core import PARAMETER_SPECS
from ..io import (
    EditLists,
    InputError,
    write_edits,
    write_flag_mask,
    write_flag_regions,
    write_parameter_file,
)
from ..session import Session, SessionResult

__all__ = [
    "edit_lists",
    "export_edits",
    "export_mask",
    "export_parameters",
    "export_regions",
    "save_products",
    "strun_command",
]

log = logging.getLogger(__name__)


def _flags_of(session: Session) -> SessionResult:
    result = session.result
    if result is None or result.pixels is None:
        raise InputError(None, "there are no flags yet",
                         "open exposures and give one the science role")
    return result


def _science_name(session: Session) -> str | None:
    science = session.science_entry
    return science.exposure.path.name if science else None


def edit_lists(session: Session) -> EditLists | None:
    """Return the session's hand edits as pixel lists, or None when there are none."""
    edits = session.edits
    if edits is None or not edits.state.any():
        return None
    return EditLists(np.argwhere(edits.forced_bad), np.argwhere(edits.forced_good), edits.shape)


def save_products(session: Session, output_dir: str | Path) -> list[Path]:
    """Write the flagged science (and background) products as ``badpix-selfcal`` does.

    The command's own writer runs on the session's files, roles, parameters, axis and
    hand edits, so the products equal the command's with the same ``--edits``.

    Returns
    -------
    list of pathlib.Path
        The science product, then the background products written.
    """
    from ..process import run_product

    result = session.result
    if result is None or result.status == "empty":
        raise InputError(None, "there is nothing to save",
                         "open exposures and give one the science role")
    session.check_files()  # the flags shown are those of the files as they were read
    # The flags shown are written as they are when they answer the settings in force;
    # otherwise (a newer request under way, or failed) the writer computes them anew.
    outcome = run_product(
        session.members(), session.parameters, Path(output_dir),
        extra_mask=result.flags if session.is_up_to_date(result) else None,
        dispaxis=session.dispaxis, edits=edit_lists(session), inputs=session.input_paths,
    )  # fmt: skip
    return [outcome.science_product, *outcome.background_products]


def export_parameters(session: Session, path: str | Path) -> Path:
    """Write the session's parameters as a jwst parameter file (ASDF)."""
    return write_parameter_file(path, session.parameters, session.input_paths)


def export_edits(session: Session, path: str | Path) -> Path:
    """Write the hand edits as JSON, for ``badpix-selfcal --edits``."""
    if session.edits is None:
        raise InputError(None, "there are no edits to export", "open exposures first")
    return write_edits(path, session.edits.to_dict(), _science_name(session),
                       session.input_paths)


def export_mask(session: Session, path: str | Path) -> Path:
    """Write the flags as FITS: ALGORITHM, MANUAL and FINAL planes."""
    result = _flags_of(session)
    shape = result.final.shape
    no_edits = np.zeros(shape, dtype=bool)
    cards = {"SCIENCE": _science_name(session) or "",
             "KERNEL": result.parameters.kernel_size,
             "FRACLOW": result.parameters.flagfrac_lower,
             "FRACHIGH": result.parameters.flagfrac_upper}
    forced_bad = no_edits if result.forced_bad is None else result.forced_bad
    forced_good = no_edits if result.forced_good is None else result.forced_good
    return write_flag_mask(path, result.flags, forced_bad, forced_good, result.final, cards,
                           session.input_paths)


def export_regions(session: Session, path: str | Path, markers=()) -> Path:
    """Write a DS9 region file of the final flags, one colour per kind (1-based image).

    Kinds: the algorithm's low and high flags where no hand edit decides the pixel, and
    the pixels forced bad and forced good by hand (see `badpix_inspector.io.regions`);
    ``markers`` (the markers model's records) become points with their notes.
    """
    result = _flags_of(session)
    algorithm = result.flags
    for edited in (result.forced_bad, result.forced_good):
        if edited is not None:  # a hand edit decides the pixel: one region, of its kind
            algorithm = algorithm & ~edited
    low = algorithm & (result.difference < result.statistics.thresholds.low)
    masks = {"low": low, "high": algorithm & ~low, "forced_bad": result.forced_bad,
             "forced_good": result.forced_good}
    points = [{"x": record["column"], "y": record["row"], "note": record.get("note") or ""}
              for record in markers]
    return write_flag_regions(path, masks, points, inputs=session.input_paths)


def strun_command(session: Session) -> str:
    """Return a ``strun calwebb_spec2`` line that runs the step with the session's values.

    Every parameter of `PARAMETER_SPECS` is given, except switches left at their default.
    """
    parameters = session.parameters
    target = session.association or (session.science_entry.exposure.path
                                     if session.science_entry else Path("INPUT_rate.fits"))
    prefix = "--steps.badpix_selfcal."
    words = ["strun", "calwebb_spec2", str(target), f"{prefix}skip=False"]
    for name, spec in PARAMETER_SPECS.items():
        value = getattr(parameters, name)
        if spec.kind is bool:
            if value != spec.default:
                words.append(f"{prefix}{name}={value}")
        elif spec.kind is float:
            words.append(f"{prefix}{name}={value:g}")
        else:
            words.append(f"{prefix}{name}={value}")
    return shlex.join(words)
