"""badpix-inspector: inspect, tune and apply JWST's ``badpix_selfcal`` step.

The core gives the flags of jwst 3.0.0's ``BadpixSelfcalStep`` bit for bit; the
``badpix-selfcal`` command mirrors ``strun badpix_selfcal``; ``badpix-inspector`` is the
desktop window over the same core; `tune` opens that window from Python or a notebook
and returns the parameters for ``Spec2Pipeline``.
"""

import importlib

from ._version import __version__
from .core import ParameterError, SelfcalParameters, badpix_selfcal

__all__ = [
    "ParameterError",
    "SelfcalParameters",
    "TuneHandle",
    "__version__",
    "badpix_selfcal",
    "tune",
]

_LAZY = ("TuneHandle", "tune")


def __getattr__(name: str):
    # `tune` lives in the top layer (it opens the window): it is imported on first use,
    # so that importing the package (every layer imports __version__ from it) pulls in
    # neither Qt nor the window.
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.tune")
        # The function, not its module of the same name (which the import just set).
        globals().update({lazy: getattr(module, lazy) for lazy in _LAZY})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
