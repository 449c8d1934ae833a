"""badpix-inspector: inspect, tune and apply JWST's ``badpix_selfcal`` step.

The core gives the flags of jwst 3.0.0's ``BadpixSelfcalStep`` bit for bit; the
``badpix-selfcal`` command mirrors ``strun badpix_selfcal``; ``badpix-inspector`` is the
desktop window over the same core.
"""

from ._version import __version__
from .core import ParameterError, SelfcalParameters, badpix_selfcal

__all__ = ["ParameterError", "SelfcalParameters", "__version__", "badpix_selfcal"]
