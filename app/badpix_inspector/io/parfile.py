"""jwst step parameter files (ASDF) for ``BadpixSelfcalStep``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..core.parameters import ParameterError, SelfcalParameters
from .errors import InputError
from .guard import OutputGuard, OutputSet
from .products import write_file

__all__ = ["STEP_CLASS", "read_parameter_file", "write_parameter_file"]

#: The step class a parameter file names, so that strun and stpipe accept it.
STEP_CLASS = "jwst.badpix_selfcal.badpix_selfcal_step.BadpixSelfcalStep"
STEP_NAME = "badpix_selfcal"


def write_parameter_file(
    path: str | Path,
    parameters: SelfcalParameters,
    inputs: Iterable[str | Path] | OutputGuard | OutputSet = (),
) -> Path:
    """Write a parameter file that ``strun FILE.asdf INPUT`` and stpipe accept.

    Parameters
    ----------
    path : str or pathlib.Path
        Where to write it (atomically); ``.asdf`` is the usual ending.
    parameters : SelfcalParameters
        The values to record; ``skip`` is written as false so the step runs.
    inputs : iterable of path, OutputGuard or OutputSet
        The run's input files, which the parameter file must never replace (or a guard
        that knows them, or a set of outputs to stage it in); see `write_file`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import asdf  # here, not at the top: it costs the command a tenth of a second to start

    tree = {
        "class": STEP_CLASS,
        "name": STEP_NAME,
        "parameters": {**parameters.as_dict(), "skip": False},
    }
    return write_file(path, asdf.AsdfFile(tree).write_to, inputs)


def read_parameter_file(path: str | Path) -> SelfcalParameters:
    """Read the step's parameters from a jwst parameter file (ASDF).

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by `write_parameter_file`, by ``Step.export_config`` or from CRDS.

    Returns
    -------
    SelfcalParameters
        The file's values over jwst's defaults; other parameters are ignored.
    """
    import asdf

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such parameter file", "check the path")
    try:
        with asdf.open(path, lazy_load=False, memmap=False) as handle:
            values = dict(handle.tree.get("parameters") or {})
    except Exception as error:  # asdf raises many types for a damaged file
        raise InputError(
            path, f"not an ASDF parameter file ({error})", "give a .asdf file"
        ) from None
    known = set(SelfcalParameters.__dataclass_fields__)
    try:
        return SelfcalParameters(**{key: value for key, value in values.items() if key in known})
    except ParameterError as error:
        raise InputError(path, str(error), "fix the value in the file") from None
