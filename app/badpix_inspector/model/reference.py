"""Reference A for comparing parameters: the flags and parameters pinned by the user (no Qt).

*Pin as reference* keeps the current result's **final** flags (hand edits included),
its thresholds, its parameters and the dispersion-axis choice as A. The session then
compares every new result with A on its worker (`Session.set_reference_flags`); the
counts and the gained/lost image come with each result (`SessionResult.decisions`).
*Restore A* puts A's parameters back. A belongs to one dataset: other data forget it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import SelfcalParameters, Thresholds
from ..core.pixelsets import PixelSet
from ..session import Event, Session, SessionResult

__all__ = ["Reference", "ReferenceModel", "describe_parameters"]

log = logging.getLogger(__name__)


def describe_parameters(parameters: SelfcalParameters, dispaxis_choice: Any = "auto") -> str:
    """Return a one-line account of parameters, e.g. ``kernel_size 15, flagfrac 0.001/0.001``."""
    axis = "" if dispaxis_choice == "auto" else f", axis {dispaxis_choice}"
    single = ", force_single" if parameters.force_single else ""
    return (f"kernel_size {parameters.kernel_size}, flagfrac_lower "
            f"{parameters.flagfrac_lower:.6g}, flagfrac_upper {parameters.flagfrac_upper:.6g}"
            f"{axis}{single}")


@dataclass(frozen=True)
class Reference:
    """What was pinned as A.

    Attributes
    ----------
    parameters : SelfcalParameters
        A's parameters.
    dispaxis_choice : object
        A's dispersion-axis choice ("auto", 1, 2 or None).
    pixels : PixelSet
        A's final flags (algorithm, forced bad and forced good applied).
    thresholds : Thresholds
        A's thresholds in data units.
    result : SessionResult
        A's whole result, for showing A's picture (its images and flags).
    """

    parameters: SelfcalParameters
    dispaxis_choice: Any
    pixels: PixelSet
    thresholds: Thresholds
    result: SessionResult

    @property
    def final(self) -> np.ndarray:
        """A's final flags as a mask (read-only)."""
        return self.pixels.mask()

    @property
    def n_flagged(self) -> int:
        """How many pixels A flags in the end."""
        return self.pixels.size

    def describe(self) -> str:
        """Return A's parameters in one line."""
        return describe_parameters(self.parameters, self.dispaxis_choice)


class ReferenceModel:
    """The pinned reference A of one session.

    Attributes
    ----------
    reference : Reference or None
        A, when pinned.
    changed : Event
        Emitted after A is pinned or forgotten.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reference: Reference | None = None
        self.changed = Event()

    def pin(self) -> Reference | None:
        """Keep the current result's final flags and parameters as A (None: nothing to pin)."""
        result = self.session.result
        if result is None or result.status != "complete" or result.pixels is None:
            return None
        # A's own picture: it is not compared with anything, so its overlay is its flags.
        shown = dataclasses.replace(result, decisions=None) if result.decisions else result
        self.reference = Reference(
            parameters=result.parameters, dispaxis_choice=self.session.dispaxis_choice,
            pixels=result.pixels.final, thresholds=result.statistics.thresholds, result=shown,
        )  # fmt: skip
        self.session.set_reference_flags(self.reference.pixels)
        log.info("pinned A: %s", self.reference.describe())
        self.changed.emit()
        return self.reference

    def clear(self) -> None:
        """Forget A (other data were opened, or the user asked)."""
        if self.reference is None:
            return
        self.reference = None
        self.session.set_reference_flags(None)
        self.changed.emit()

    def restore(self) -> Reference | None:
        """Put A's parameters and axis choice back in the session; return A (None: no A)."""
        reference = self.reference
        if reference is None:
            return None
        self.session.set_dispaxis_choice(reference.dispaxis_choice)
        self.session.set_parameters(**reference.parameters.as_dict())
        return reference
