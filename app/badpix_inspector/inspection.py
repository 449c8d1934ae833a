"""What one inspection is made of, and how a request becomes a result (no Qt).

`ExposureEntry` is a loaded exposure with its role; `Snapshot` freezes what a request
asks for; `compute_result` runs the step's stages on it through a `StageCache`, which
keeps the combined and smoothed images (and what is derived from them) while their
inputs stay, so that a flag-fraction change costs only the thresholds and the flags.
`read_entries` loads files and associations with their roles. `Session` drives these.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .core import (
    PARAMETER_SPECS,
    Filtered,
    ManualEdits,
    SelfcalParameters,
    SelfcalStages,
    combine,
)
from .core.decide import Decisions, SuspectRule, decide
from .core.dqflags import PackedDQ
from .core.pixelsets import LabelLayers, PixelSet
from .core.statistics import (
    FlagPixels,
    FlagStatistics,
    already_bad_labels,
    already_bad_mask,
    flag_statistics,
    robust_sigma_sorted,
)
from .io import (
    ROLES,
    Exposure,
    InputError,
    is_association,
    read_association,
    read_dq,
    read_exposure,
)

__all__ = [
    "DISPAXIS_CHOICES",
    "ROLES_USED",
    "ExposureEntry",
    "SessionResult",
    "Snapshot",
    "StageCache",
    "compute_result",
    "is_provisional",
    "keep_science_only",
    "memory_entries",
    "read_entries",
    "read_state",
]

log = logging.getLogger(__name__)

#: The roles that take part in the step, in the order the step combines them (`ROLES`,
#: from the file layer, is the one list; "ignored" keeps an exposure loaded but unused).
ROLES_USED = tuple(role for role in ROLES if role != "ignored")
_ROLE_ORDER = {role: order for order, role in enumerate(ROLES_USED)}
#: Dispersion-axis choices: "auto" (from DISPAXIS), 1, 2, or None (square window).
DISPAXIS_CHOICES: tuple[Any, ...] = ("auto", 1, 2, None)


@dataclass
class ExposureEntry:
    """One loaded exposure and the role the user gave it."""

    exposure: Exposure
    role: str
    pedestal: float | None = None
    #: False for exposures handed over in memory (jwst datamodels): their path is a name
    #: only, so nothing that must read the file (products, sessions) may use it.
    from_file: bool = True

    @property
    def name(self) -> str:
        """The file name."""
        return self.exposure.name


@dataclass(frozen=True, eq=False)
class SessionResult:
    """Everything the window shows for one request.

    ``status`` is ``"complete"``, ``"skipped"`` (no background or selfcal and no
    force_single: the pipeline would skip the step) or ``"empty"`` (no science exposure).
    The flags are kept as pixel sets (``pixels``); ``flags`` (the algorithm's), ``final``
    (with the hand edits), ``forced_bad``, ``forced_good`` and ``labels`` are full-frame
    images made from them when asked for. Arrays are None where the status leaves them
    undefined; they are never modified.
    """

    generation: int
    status: str
    message: str
    parameters: SelfcalParameters
    dispaxis: int | None
    used: tuple[ExposureEntry, ...] = ()
    science: np.ndarray | None = None
    science_dq: np.ndarray | PackedDQ | None = None
    combined: np.ndarray | None = None
    smoothed: np.ndarray | None = None
    difference: np.ndarray | None = None
    pixels: FlagPixels | None = None
    #: Per pixel, which of ``used`` supplied the minimum (-1: none), see `source_of`.
    source_index: np.ndarray | None = None
    sorted_difference: np.ndarray | None = None
    pedestals: tuple[float | None, ...] = ()
    statistics: FlagStatistics | None = None
    seconds: float = 0.0
    #: Compare with A, suspect flags, thresholds in σ (`core.decide.decide`).
    decisions: Decisions | None = None

    @property
    def flags(self) -> np.ndarray | None:
        """The algorithm's flags as a mask (read-only)."""
        return None if self.pixels is None else self.pixels.algorithm.mask()

    @property
    def final(self) -> np.ndarray | None:
        """The flags in the end, hand edits applied, as a mask (read-only)."""
        return None if self.pixels is None else self.pixels.final.mask()

    @property
    def forced_bad(self) -> np.ndarray | None:
        """The pixels forced bad as a mask (None without hand edits)."""
        pixels = self.pixels
        return pixels.forced_bad.mask() if pixels is not None and pixels.edited else None

    @property
    def forced_good(self) -> np.ndarray | None:
        """The pixels forced good as a mask (None without hand edits)."""
        pixels = self.pixels
        return pixels.forced_good.mask() if pixels is not None and pixels.edited else None

    @property
    def label_layers(self) -> LabelLayers | None:
        """The overlay's labels (`core.statistics.FlagPixels.labels`)."""
        return None if self.pixels is None else self.pixels.labels

    @property
    def labels(self) -> np.ndarray | None:
        """The overlay's label image (uint8, one ``LABEL_*`` value per pixel)."""
        return None if self.pixels is None else self.pixels.labels.image()

    def is_final(self, row: int, column: int) -> bool:
        """Return True when pixel (row, column) is flagged in the end."""
        return self.pixels is not None and self.pixels.final.contains(row, column)

    def is_flagged(self, row: int, column: int) -> bool:
        """Return True when the algorithm flags pixel (row, column)."""
        return self.pixels is not None and self.pixels.algorithm.contains(row, column)

    def source_of(self, row: int, column: int) -> int:
        """Return which used exposure supplied the minimum at (row, column); -1 if none.

        The position in ``used`` of the first exposure whose value, less its pedestal,
        is the combined value (NaN everywhere gives -1), as `Combined.source` notes it.
        """
        if self.source_index is None:
            return -1
        return int(self.source_index[row, column])


@dataclass
class Snapshot:
    """What one request asks for: the state of the session when it was made."""

    generation: int
    entries: tuple[ExposureEntry, ...]
    parameters: SelfcalParameters
    dispaxis: int | None
    #: The hand edits: pixels forced bad and forced good (None: no edits).
    edits: tuple[PixelSet, PixelSet] | None
    #: The final flags pinned as reference A, and the suspect rule's numbers.
    reference: PixelSet | None = None
    suspect_rule: SuspectRule = field(default_factory=SuspectRule)


@dataclass
class _Derived:
    """Values kept with the stage object they were computed from.

    The object itself is held (and compared with ``is``), not its id: an id can be reused
    once the object is gone, which would hand out a stale value. The filtered stage of
    ``sigma`` is held by a weak reference (compared with ``is`` too), so that it does not
    outlive the stage cache's own reference.
    """

    sigma: tuple[Any, float] | None = None
    already_bad: tuple[Any, PixelSet, LabelLayers] | None = None


class StageCache:
    """The cached stages of the exposures in use, and values derived from them."""

    def __init__(self) -> None:
        self._stages: SelfcalStages | None = None
        self._stages_key: tuple | None = None
        self._derived = _Derived()
        self._science: Exposure | None = None  # the science exposure last seen

    def stages_for(self, used: Sequence[ExposureEntry]) -> SelfcalStages:
        """Return the stages of these exposures (kept while the same exposures are used).

        The exposures are combined one at a time, each read again from its file if it
        was released; afterwards only the science exposure's SCI stays in memory (see
        `keep_science_only`).
        """
        key = tuple(id(entry.exposure) for entry in used)
        if self._stages is None or key != self._stages_key:
            science = used[0].exposure
            self._stages = None  # the old combination goes before the new one is made
            combined = combine((entry.exposure.read_sci() for entry in used),
                               science.detector, with_source=True)
            self._stages = SelfcalStages.from_combined(combined, science.detector)
            self._stages_key = key
            self._derived = _Derived()
        return self._stages

    def compute(self, snapshot: Snapshot, *, provisional: bool = False) -> SessionResult:
        """Run the step's stages for ``snapshot``, reusing what is cached.

        With ``provisional``, a new kernel or axis gives the flags, counts, thresholds and
        images without sorting the difference image first (the thresholds and the flags
        then come from one pass that keeps the tails): the result's
        ``sorted_difference`` is None and its robust sigma NaN (see `is_provisional`),
        and computing the same snapshot again without ``provisional`` completes it. The
        flags are the same either way.

        For a new fraction, one compiled pass over the difference image finds the flags;
        the flags, the hand edits and everything derived from them (counts, suspect
        flags, the comparison with A, the overlay's labels) are pixel sets, which cost in
        proportion to the flags.
        """
        started = time.perf_counter()
        parameters, dispaxis = snapshot.parameters, snapshot.dispaxis
        used = sorted(
            (entry for entry in snapshot.entries if entry.role in _ROLE_ORDER),
            key=lambda entry: _ROLE_ORDER[entry.role],
        )
        base = {"generation": snapshot.generation, "parameters": parameters, "dispaxis": dispaxis}
        if not used or used[0].role != "science":
            self.forget()  # no science: nothing of the last stages stays in memory
            return SessionResult(status="empty", message="Give one exposure the science role.",
                                 **base)  # fmt: skip
        science = used[0].exposure
        keep_science_only(snapshot.entries, science)
        self._load_dq(science)
        if len(used) == 1 and not parameters.force_single:
            return SessionResult(
                status="skipped", used=(used[0],), science=science.sci, science_dq=science.dq,
                message="The pipeline would skip the step: there is no background or selfcal "
                "exposure. Add one, or tick force_single.", **base,
            )  # fmt: skip
        stages = self.stages_for(used)
        combined = stages.combined
        filtered = stages.filtered(parameters.kernel_size, dispaxis)
        # Sorted once per kernel, which makes new fractions cheap, unless a provisional
        # result may be given first (then the thresholds come from the tails alone).
        quick = provisional and not filtered.is_sorted
        sorted_finite = None if quick else filtered.sorted_finite
        limits, low, high = filtered.flags_for(parameters.flagfrac_lower,
                                               parameters.flagfrac_upper)
        already_bad, already_bad_layers = self._already_bad(science)
        shape = science.sci.shape
        forced_bad, forced_good = snapshot.edits or (PixelSet.empty(shape),) * 2
        pixels = FlagPixels(low=low, high=high, forced_bad=forced_bad, forced_good=forced_good,
                            already_bad=already_bad, base=already_bad_layers)
        statistics = flag_statistics(
            pixels=pixels, n_finite=filtered.finite_count, kernel_size=parameters.kernel_size,
            dispaxis=dispaxis, thresholds=limits,
            sigma=math.nan if quick else self._robust_sigma(filtered),
        )  # fmt: skip
        decisions = decide(
            filtered.difference, sorted_finite, limits, dispaxis, pixels.final,
            fractions=(parameters.flagfrac_lower, parameters.flagfrac_upper),
            sigma=statistics.sigma, reference=snapshot.reference, rule=snapshot.suspect_rule,
        )  # fmt: skip
        return SessionResult(
            status="complete",
            message=f"{statistics.n_total} pixels flagged",
            used=tuple(used), science=science.sci, science_dq=science.dq,
            combined=combined.image, smoothed=filtered.smoothed,
            difference=filtered.difference, pixels=pixels, source_index=combined.source,
            pedestals=combined.pedestals, statistics=statistics,
            sorted_difference=sorted_finite, decisions=decisions,
            seconds=time.perf_counter() - started, **base,
        )  # fmt: skip

    def forget(self) -> None:
        """Let every cached stage and derived value go."""
        self._stages = self._stages_key = None
        self._derived = _Derived()
        self._science = None

    def _load_dq(self, science: Exposure) -> None:
        """Read the DQ of the science exposure when it becomes the science one.

        An exposure released before (a selfcal one, say) let its DQ go; a file without DQ
        is looked at once while its exposure stays the science one.
        """
        if science is not self._science:
            self._science = science
            if science.dq is None and science.stamp is not None:
                dq = read_dq(science.path, science.shape)
                science.dq = None if dq is None else PackedDQ(dq)

    def _already_bad(self, science: Exposure) -> tuple[PixelSet, LabelLayers]:
        """Science pixels already DO_NOT_USE, and their overlay layer (kept per exposure)."""
        cached = self._derived.already_bad
        if cached is None or cached[0] is not science:
            pixels = PixelSet.from_mask(already_bad_mask(science.dq, science.sci.shape))
            cached = (science, pixels, already_bad_labels(pixels))
            self._derived.already_bad = cached
        return cached[1], cached[2]

    def _robust_sigma(self, filtered: Filtered) -> float:
        # Held weakly: a strong reference kept an old kernel's images (48 MiB on NIRSpec)
        # alive through a whole slider drag.
        cached = self._derived.sigma
        if cached is None or cached[0]() is not filtered:
            cached = (weakref.ref(filtered), robust_sigma_sorted(filtered.sorted_finite))
            self._derived.sigma = cached
        return cached[1]


def is_provisional(result: SessionResult) -> bool:
    """Return True for a complete result given before the difference image was sorted.

    Its flags, counts, thresholds and images are final; ``sorted_difference`` is None and
    the robust sigma NaN until the completed result follows (`StageCache.compute`).
    """
    return result.status == "complete" and result.sorted_difference is None


def compute_result(snapshot: Snapshot, cache: StageCache) -> SessionResult:
    """Return the result of ``snapshot`` (see `StageCache.compute`)."""
    return cache.compute(snapshot)


def keep_science_only(entries: Iterable[ExposureEntry], science: Exposure) -> None:
    """Keep the science exposure's SCI in memory, and let the others' go.

    The window shows the science exposure; the others are read from their files when
    something needs them (a new combination, the pixel inspector, blink), so that its
    memory does not grow with the number of exposures (16 MiB each on 2048x2048). An
    exposure that came from memory is never released.
    """
    if science.sci is None:
        science.sci = science.read_sci()
    for entry in entries:
        if entry.exposure is not science and entry.from_file:
            entry.exposure.release()


def _read(path: str | Path, role: str) -> Exposure:
    """Read an exposure; keep its SCI and DQ in memory for the science role only.

    The others' DQ arrays are not kept (16 MiB each on a 2048x2048 detector): an exposure
    given the science role later gets its DQ then (`StageCache`), and the pixel
    inspector reads single DQ values from the files. Their SCI arrays are read (which
    checks them) and let go: the combination reads them again, one at a time.
    """
    exposure = read_exposure(path, role, with_dq=role == "science")
    if role != "science":
        exposure.release()
    elif exposure.dq is not None:
        exposure.dq = PackedDQ(exposure.dq)  # a quarter of the memory, the same values
    return exposure


def _read_association(path: Path) -> tuple[list[ExposureEntry], Path]:
    products = read_association(path)
    if len(products) > 1:
        log.warning("%s has %d products; showing the first", path.name, len(products))
    members = products[0]
    # Only the science exposure's DQ is kept (see `_read`).
    science = _read(members.science, "science")
    entries = [ExposureEntry(science, "science")]
    for role, group in (("background", members.backgrounds), ("selfcal", members.selfcals)):
        entries += [ExposureEntry(_read(p, role), role) for p in group]
    for ignored, _exptype in members.ignored:
        if ignored.is_file():
            entries.append(ExposureEntry(_read(ignored, "ignored"), "ignored"))
    return entries


def read_entries(
    paths: Iterable[str | Path], existing: Sequence[ExposureEntry] = (),
) -> tuple[list[ExposureEntry], Path | None]:
    """Load FITS exposures or a spec2 association, each with its role.

    An association's members come with their roles (only its first product is loaded);
    loose FITS files become the science exposure when there is none yet, and selfcal
    exposures after that.

    Parameters
    ----------
    paths : iterable of path
        Files and associations to read.
    existing : sequence of ExposureEntry
        The exposures already open (their science role and shape count).

    Returns
    -------
    entries : list of ExposureEntry
        The new exposures.
    association : pathlib.Path or None
        The association read, if any.

    Raises
    ------
    InputError
        For an unreadable file, an association on top of a science exposure, or a shape
        that differs from the others; nothing is read then.
    """
    added: list[ExposureEntry] = []
    association = None
    for path in paths:
        path = Path(path)
        has_science = any(entry.role == "science" for entry in (*existing, *added))
        if path.is_file() and is_association(path):
            if has_science:
                raise InputError(
                    path, "an association brings its own science exposure",
                    "close the open exposures first (File > Close all)",
                )  # fmt: skip
            added += _read_association(path)
            association = path
        else:
            role = "selfcal" if has_science else "science"
            added.append(ExposureEntry(_read(path, role), role))
    _check_shapes(added, existing)
    return added, association


def _check_shapes(added: Sequence[ExposureEntry], existing: Sequence[ExposureEntry]) -> None:
    shape = next((entry.exposure.shape for entry in (*existing, *added)), None)
    for entry in added:
        if entry.exposure.shape != shape:
            raise InputError(
                entry.exposure.path,
                f"SCI is {'x'.join(map(str, entry.exposure.shape))}, unlike the other "
                f"exposures ({'x'.join(map(str, shape))})",
                "open exposures of one detector together",
            )


def memory_entries(
    exposures: Iterable[Exposure], existing: Sequence[ExposureEntry] = (),
) -> list[ExposureEntry]:
    """Take exposures already in memory (not read from files here), each with its role.

    Parameters
    ----------
    exposures : iterable of Exposure
        Exposures made elsewhere (e.g. `badpix_inspector.io.exposures_from_datamodels`);
        each keeps its ``role`` (one of `ROLES`). Their arrays are used, not copied.
    existing : sequence of ExposureEntry
        The exposures already open (their science role and shape count).

    Returns
    -------
    list of ExposureEntry
        The new entries, marked as not from files (``from_file`` False).

    Raises
    ------
    InputError
        For an unknown role, a second science exposure, or a shape that differs from
        the others; nothing is taken then.
    """
    added = [ExposureEntry(exposure, exposure.role, from_file=False) for exposure in exposures]
    for entry in added:
        if entry.role not in ROLES:
            raise InputError(entry.exposure.path, f"has the role {entry.role!r}",
                             f"give one of {', '.join(ROLES)}")
    sciences = [entry for entry in (*existing, *added) if entry.role == "science"]
    if len(sciences) > 1:
        raise InputError(sciences[1].exposure.path, "is a second science exposure",
                         "give exactly one exposure the science role (or close the open ones)")
    _check_shapes(added, existing)
    for entry in added:  # kept for the pixel inspector: there is no file to read them from
        if isinstance(entry.exposure.dq, np.ndarray):
            entry.exposure.dq = PackedDQ(entry.exposure.dq)
    return added


def read_state(
    exposures: Sequence[tuple[str | Path, str]],
    parameters: dict[str, Any] | None,
    dispaxis: Any,
    edits: dict[str, Any] | None,
) -> tuple[list[ExposureEntry], SelfcalParameters, ManualEdits | None]:
    """Read and check a saved state (a session file's): exposures, parameters, edits.

    Raises
    ------
    InputError
        For an unreadable exposure, exposures of different shapes or an unknown axis.
    ParameterError
        For a parameter out of range.
    """
    entries = [ExposureEntry(_read(path, role), role) for path, role in exposures]
    shapes = {entry.exposure.shape for entry in entries}
    if len(shapes) > 1:
        raise InputError(None, f"the exposures differ in shape ({sorted(shapes)})",
                         "fix the session file")
    restored = SelfcalParameters(**{name: value for name, value in (parameters or {}).items()
                                    if name in PARAMETER_SPECS})
    if dispaxis not in DISPAXIS_CHOICES:
        raise InputError(None, f"dispersion axis {dispaxis!r} is not one of "
                         f"{DISPAXIS_CHOICES}", "fix the session file")
    shape = next(iter(shapes), None)
    restored_edits = None
    if shape is not None:
        restored_edits = ManualEdits(shape)
        if edits:
            restored_edits.load(edits.get("forced_bad") or [], edits.get("forced_good") or [])
            restored_edits.forget_history()
    return entries, restored, restored_edits
