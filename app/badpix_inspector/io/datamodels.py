"""jwst datamodels in memory as the project's exposures, and parameters for the pipeline.

For ``tune()`` in a notebook, where the data are already jwst datamodels (a
``ModelContainer`` or a list of ``IFUImageModel``, each with ``meta.asn.exptype``): they
become `Exposure` objects without writing a file. jwst is imported only when such objects
are passed (they are recognised by the module their class comes from), so the rest of the
project runs without jwst installed.

`pipeline_parameters` gives the dict that ``Spec2Pipeline.call(asn, steps={"badpix_selfcal":
pars})`` and ``BadpixSelfcalStep.call(input, **pars)`` take as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core.parameters import ParameterError, SelfcalParameters, validate_dispaxis
from .errors import InputError
from .exposures import ROLES, Exposure

__all__ = ["exposures_from_datamodels", "is_datamodel_input", "pipeline_parameters"]

log = logging.getLogger(__name__)

# Packages whose objects are jwst datamodels (stdatamodels defines them, jwst re-exports).
_MODEL_PACKAGES = ("jwst", "stdatamodels")


def _is_model(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in _MODEL_PACKAGES


def is_datamodel_input(inputs: Any) -> bool:
    """Return whether ``inputs`` is a jwst datamodel, a ``ModelContainer`` or a list of them.

    Decided from the classes' modules, without importing jwst.
    """
    if _is_model(inputs):
        return True
    if isinstance(inputs, (list, tuple)) and inputs:
        return all(_is_model(item) for item in inputs)
    return False


def _models(inputs: Any) -> list:
    from jwst import datamodels  # only reached with jwst objects in hand

    if isinstance(inputs, datamodels.ModelContainer):
        return list(inputs)
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    return [inputs]


def _meta(model: Any, *names: str) -> Any:
    value = model.meta
    for name in names:
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def exposures_from_datamodels(inputs: Any) -> list[Exposure]:
    """Turn jwst datamodels in memory into exposures, without writing files.

    Parameters
    ----------
    inputs : ModelContainer, IFUImageModel or list of IFUImageModel
        The data. Each model's role is its ``meta.asn.exptype`` (``science``,
        ``background``, ``selfcal``; any other is ``ignored``), as in an association; a
        single model, or a list of one, without it is the science exposure.

    Returns
    -------
    list of Exposure
        In the given order. ``path`` is the model's ``meta.filename`` (or
        ``datamodel-<i>``) as a name only: nothing is read from it. ``sci`` is a float32
        copy of ``model.data`` and ``dq`` a uint32 copy of ``model.dq`` (the window must
        not change the caller's models); ``dispaxis`` comes from
        ``meta.wcsinfo.dispersion_direction``.

    Raises
    ------
    InputError
        When a model has no 2-D data, has no ``meta.asn.exptype`` among several, or a
        dispersion direction other than 1 or 2.
    """
    if not is_datamodel_input(inputs):
        raise TypeError("inputs must be a jwst ModelContainer, a datamodel or a list of them")
    models = _models(inputs)
    exposures = []
    for index, model in enumerate(models):
        name = _text(_meta(model, "filename")) or f"datamodel-{index}"
        path = Path(name)
        exptype = _text(_meta(model, "asn", "exptype"))
        if exptype is None:
            if len(models) > 1:
                raise InputError(path, "has no meta.asn.exptype",
                                 "set model.meta.asn.exptype to 'science', 'background' or "
                                 "'selfcal' on every model")
            exptype = "science"
        role = exptype.lower() if exptype.lower() in ROLES[:3] else "ignored"
        data = getattr(model, "data", None)
        if data is None or np.ndim(data) != 2:
            shape = None if data is None else np.shape(data)
            raise InputError(path, f"the model's data are {shape}, not a 2-D image",
                             "give rate-like IFUImageModels (per-integration data are not "
                             "supported)")
        dispaxis = _meta(model, "wcsinfo", "dispersion_direction")
        try:
            dispaxis = validate_dispaxis(dispaxis)
        except ParameterError:
            raise InputError(path, f"meta.wcsinfo.dispersion_direction is {dispaxis!r}, not "
                             "1 or 2", "fix it, or set it to None for a square window") from None
        dq = getattr(model, "dq", None)
        dq = None if dq is None or np.shape(dq) != np.shape(data) else np.array(dq, np.uint32)
        exposures.append(Exposure(
            path=path, role=role, sci=np.array(data, dtype=np.float32),
            detector=_text(_meta(model, "instrument", "detector")),
            instrument=_text(_meta(model, "instrument", "name")),
            exp_type=_text(_meta(model, "exposure", "type")),
            dispaxis=dispaxis, dq=dq,
        ))  # fmt: skip
    if sum(exposure.role == "science" for exposure in exposures) != 1:
        roles = [exposure.role for exposure in exposures]
        raise InputError(None, f"the models hold {roles.count('science')} science exposures "
                         f"(roles: {', '.join(roles)})",
                         "mark exactly one model with meta.asn.exptype = 'science'")
    return exposures


def pipeline_parameters(parameters: SelfcalParameters | Mapping[str, Any]) -> dict[str, Any]:
    """Return the step's parameters as the pipeline takes them.

    Parameters
    ----------
    parameters : SelfcalParameters or mapping
        The tuned values (a mapping is validated as `SelfcalParameters`).

    Returns
    -------
    dict
        jwst's names with plain Python values and ``"skip": False`` (the step is skipped
        by default in calwebb_spec2), for ``Spec2Pipeline.call(asn, steps={"badpix_selfcal":
        pars})`` or ``BadpixSelfcalStep.call(input, **pars)``.
    """
    if not isinstance(parameters, SelfcalParameters):
        parameters = SelfcalParameters(**dict(parameters))
    return {**parameters.as_dict(), "skip": False}
