"""The window's model: exposures and roles, parameters, cached stages and the flags (no Qt).

Widgets observe a `Session` through its events and change it through its methods. Work
runs on one worker thread: every change makes a new request, a request that has been
overtaken before it starts is skipped, and a result that is no longer the newest when it
arrives is dropped. Results reach observers through ``dispatch``, which the Qt layer sets
to a function that runs them on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .core import (
    FORCED_BAD,
    FORCED_GOOD,
    PARAMETER_SPECS,
    Filtered,
    ManualEdits,
    SelfcalParameters,
    SelfcalStages,
    final_flags,
    validate_dispaxis,
)
from .core.statistics import (
    LABEL_ALREADY_BAD,
    LABEL_FORCED_BAD,
    LABEL_FORCED_GOOD,
    LABEL_HIGH,
    LABEL_LOW,
    LABEL_NONE,
    FlagStatistics,
    already_bad_mask,
    flag_labels,
    flag_statistics,
    robust_sigma_sorted,
)
from .io import (
    ROLES,
    Exposure,
    InputError,
    ProductMembers,
    is_association,
    read_association,
    read_exposure,
)

# The label values and the statistics are the core's (core/statistics.py); they are
# re-exported here because the widgets that observe a session read them with its results.
__all__ = [
    "DISPAXIS_CHOICES",
    "LABEL_ALREADY_BAD",
    "LABEL_FORCED_BAD",
    "LABEL_FORCED_GOOD",
    "LABEL_HIGH",
    "LABEL_LOW",
    "LABEL_NONE",
    "ROLES_USED",
    "Event",
    "ExposureEntry",
    "FlagStatistics",
    "Session",
    "SessionResult",
]

log = logging.getLogger(__name__)

#: Dispersion-axis choices: "auto" (from DISPAXIS), 1, 2, or None (square window).
DISPAXIS_CHOICES: tuple[Any, ...] = ("auto", 1, 2, None)

#: The roles that take part in the step, in the order the step combines them (`ROLES`,
#: from the file layer, is the one list; "ignored" keeps an exposure loaded but unused).
ROLES_USED = tuple(role for role in ROLES if role != "ignored")
_ROLE_ORDER = {role: order for order, role in enumerate(ROLES_USED)}


class Event:
    """A list of callbacks, called in order with the emitted arguments."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        """Call ``callback`` on every emission."""
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        """Stop calling ``callback`` (no error if it was not connected)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *arguments: Any) -> None:
        """Call every callback with ``arguments``."""
        for callback in list(self._callbacks):
            callback(*arguments)


@dataclass
class ExposureEntry:
    """One loaded exposure and the role the user gave it."""

    exposure: Exposure
    role: str
    pedestal: float | None = None

    @property
    def name(self) -> str:
        """The file name."""
        return self.exposure.name


@dataclass(frozen=True)
class SessionResult:
    """Everything the window shows for one request.

    ``status`` is ``"complete"``, ``"skipped"`` (no background or selfcal and no
    force_single: the pipeline would skip the step) or ``"empty"`` (no science exposure).
    ``flags`` are the algorithm's, ``final`` include the hand edits. Arrays are None where
    the status leaves them undefined; they are never modified.
    """

    generation: int
    status: str
    message: str
    parameters: SelfcalParameters
    dispaxis: int | None
    used: tuple[ExposureEntry, ...] = ()
    science: np.ndarray | None = None
    science_dq: np.ndarray | None = None
    combined: np.ndarray | None = None
    smoothed: np.ndarray | None = None
    difference: np.ndarray | None = None
    flags: np.ndarray | None = None
    final: np.ndarray | None = None
    forced_bad: np.ndarray | None = None
    forced_good: np.ndarray | None = None
    labels: np.ndarray | None = None
    source_index: np.ndarray | None = None
    sorted_difference: np.ndarray | None = None
    pedestals: tuple[float | None, ...] = ()
    statistics: FlagStatistics | None = None
    seconds: float = 0.0


def _call_now(function: Callable[[], None]) -> None:
    function()


@dataclass
class _Snapshot:
    generation: int
    entries: tuple[ExposureEntry, ...]
    parameters: SelfcalParameters
    dispaxis: int | None
    manual: np.ndarray | None


@dataclass
class _Derived:
    """Values that cost a full pass, each kept with the stage object it was computed from.

    The object itself is held (and compared with ``is``), not its id: an id can be reused
    once the object is gone, which would hand out a stale value.
    """

    source_index: tuple[Any, np.ndarray] | None = None
    sigma: tuple[Any, float] | None = None
    already_bad: tuple[Any, np.ndarray] | None = None


class Session:
    """The state of one inspection: exposures, roles, parameters and the current result.

    Parameters
    ----------
    dispatch : callable, optional
        Runs a zero-argument function where observers expect it (the GUI thread); the
        default runs it at once, on the worker thread.

    Attributes
    ----------
    exposures_changed, parameters_changed, result_ready, busy_changed, failed : Event
        Emitted (through ``dispatch`` for the last three) when the exposures or roles,
        the parameters or axis, the result, the busy state change, or a request fails.
    edits_changed : Event
        Emitted when hand edits are made, undone or redone.
    selection_changed : Event
        Emitted with ``(row, column)`` when the selected pixel changes, with None when
        the selection is dropped (other data opened, everything closed).
    """

    def __init__(self, dispatch: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.entries: list[ExposureEntry] = []
        self.parameters = SelfcalParameters()
        self.dispaxis_choice: Any = "auto"
        self.association: Path | None = None
        self.result: SessionResult | None = None
        self.busy = False
        self.exposures_changed = Event()
        self.parameters_changed = Event()
        self.result_ready = Event()
        self.busy_changed = Event()
        self.failed = Event()
        self.edits_changed = Event()
        self.selection_changed = Event()
        self.edits: ManualEdits | None = None
        self.selected: tuple[int, int] | None = None
        self._dispatch = dispatch or _call_now
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="badpix-session")
        self._lock = threading.Lock()
        self._generation = 0
        self._closed = False
        self._stages: SelfcalStages | None = None
        self._stages_key: tuple | None = None
        self._derived = _Derived()

    # -- exposures -----------------------------------------------------------------------

    def open_paths(self, paths: Iterable[str | Path]) -> list[ExposureEntry]:
        """Load FITS exposures or spec2 associations and recompute.

        An association's members come with their roles (only its first product is
        loaded); loose FITS files become the science exposure when there is none yet, and
        selfcal exposures after that.

        Raises
        ------
        InputError
            For an unreadable file, or one whose shape differs from the science exposure's;
            nothing is added then.
        """
        added: list[ExposureEntry] = []
        for path in paths:
            path = Path(path)
            if path.is_file() and is_association(path):
                added += self._read_association(path)
            else:
                added.append(self._read_loose(path, added))
        shape = next((entry.exposure.shape for entry in (*self.entries, *added)), None)
        for entry in added:
            if entry.exposure.shape != shape:
                raise InputError(
                    entry.exposure.path,
                    f"SCI is {'x'.join(map(str, entry.exposure.shape))}, unlike the other "
                    f"exposures ({'x'.join(map(str, shape))})",
                    "open exposures of one detector together",
                )
        self.entries += added
        self._fit_edits()
        self.exposures_changed.emit()
        self.request()
        return added

    def restore(
        self,
        exposures: Sequence[tuple[str | Path, str]],
        parameters: dict[str, Any] | None = None,
        dispaxis: Any = "auto",
        edits: dict[str, Any] | None = None,
        association: str | Path | None = None,
    ) -> None:
        """Replace the whole state: exposures with their roles, parameters, axis and edits.

        Everything is read and checked first; on an `InputError` (or `ParameterError`)
        the session is left as it was.
        """
        entries = [ExposureEntry(read_exposure(path, role, with_dq=True), role)
                   for path, role in exposures]
        shapes = {entry.exposure.shape for entry in entries}
        if len(shapes) > 1:
            raise InputError(None, f"the exposures differ in shape ({sorted(shapes)})",
                             "fix the session file")
        known = set(PARAMETER_SPECS)
        restored = SelfcalParameters(**{k: v for k, v in (parameters or {}).items() if k in known})
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
        self.entries = entries
        self.association = None if association is None else Path(association)
        self.parameters, self.dispaxis_choice = restored, dispaxis
        self.edits = restored_edits
        self.exposures_changed.emit()
        self.parameters_changed.emit()
        self.edits_changed.emit()
        self._forget_selection()  # the old dataset's pixel may not exist in this one
        self.request()

    def state(self) -> dict[str, Any]:
        """Return the model's state as plain data (what `restore` takes back)."""
        return {
            "exposures": [{"path": str(e.exposure.path), "role": e.role} for e in self.entries],
            "association": None if self.association is None else str(self.association),
            "parameters": self.parameters.as_dict(),
            "dispaxis": self.dispaxis_choice,
            "edits": None if self.edits is None else self.edits.to_dict(),
        }

    def _fit_edits(self) -> None:
        """Keep the edits while the detector shape stays; start afresh when it changes."""
        shape = next((entry.exposure.shape for entry in self.entries), None)
        if shape is None:
            return
        if self.edits is None or self.edits.shape != shape:
            self.edits = ManualEdits(shape)
            self.edits_changed.emit()

    def _read_association(self, path: Path) -> list[ExposureEntry]:
        products = read_association(path)
        if len(products) > 1:
            log.warning("%s has %d products; showing the first", path.name, len(products))
        members = products[0]
        if self.science_entry is not None:
            raise InputError(
                path, "an association brings its own science exposure",
                "close the open exposures first (File > Close all)",
            )  # fmt: skip
        self.association = path
        science = read_exposure(members.science, "science", with_dq=True)
        entries = [ExposureEntry(science, "science")]
        for role, group in (("background", members.backgrounds), ("selfcal", members.selfcals)):
            entries += [ExposureEntry(read_exposure(p, role, with_dq=True), role) for p in group]
        for ignored, _exptype in members.ignored:
            if ignored.is_file():
                entries.append(ExposureEntry(read_exposure(ignored, "ignored", with_dq=True),
                                             "ignored"))
        return entries

    def _read_loose(self, path: Path, added: Sequence[ExposureEntry]) -> ExposureEntry:
        has_science = self.science_entry is not None or any(e.role == "science" for e in added)
        role = "selfcal" if has_science else "science"
        return ExposureEntry(read_exposure(path, role, with_dq=True), role)

    @property
    def science_entry(self) -> ExposureEntry | None:
        """The exposure with the science role, if any."""
        return next((entry for entry in self.entries if entry.role == "science"), None)

    def set_role(self, index: int, role: str) -> None:
        """Give exposure ``index`` a role; a new science exposure demotes the old to selfcal."""
        entry = self.entries[index]
        if entry.role == role:
            return
        if role == "science":
            for other in self.entries:
                if other.role == "science":
                    other.role = "selfcal"
        entry.role = role
        self.exposures_changed.emit()
        self.request()

    def remove(self, index: int) -> None:
        """Forget exposure ``index``."""
        del self.entries[index]
        if not self.entries:
            self.association = None
        self.exposures_changed.emit()
        self.request()

    def clear(self) -> None:
        """Forget every exposure, and the edits with them."""
        self.entries.clear()
        self.association = None
        self.edits = None
        self.edits_changed.emit()
        self.exposures_changed.emit()
        self._forget_selection()
        self.request()

    def members(self) -> ProductMembers:
        """Return the current roles as the command's product members (for saving)."""
        science = self.science_entry
        if science is None:
            raise InputError(None, "no science exposure", "give one exposure the science role")
        return ProductMembers(
            science=science.exposure.path,
            backgrounds=[e.exposure.path for e in self.entries if e.role == "background"],
            selfcals=[e.exposure.path for e in self.entries if e.role == "selfcal"],
        )

    # -- hand edits and selection --------------------------------------------------------

    def edit_pixels(self, rows, columns, value: int, gesture: object = None) -> int:
        """Force pixels bad (1) or good (-1), or clear their edits (0); recompute.

        Edits with the same ``gesture`` as the previous one are undone together.
        Returns how many pixels changed.
        """
        if self.edits is None:
            return 0
        changed = self.edits.apply(rows, columns, value, gesture)
        if changed:
            self.edits_changed.emit()
            self.request()
        return changed

    def clear_edits(self) -> None:
        """Forget every hand edit (one undoable step) and recompute."""
        if self.edits is None or not self.edits.state.any():
            return
        self.edits.clear()
        self.edits_changed.emit()
        self.request()

    def undo(self) -> bool:
        """Undo the last hand edit."""
        return self._history(self.edits.undo if self.edits else None)

    def redo(self) -> bool:
        """Redo the last undone hand edit."""
        return self._history(self.edits.redo if self.edits else None)

    def _history(self, step) -> bool:
        if step is None or not step():
            return False
        self.edits_changed.emit()
        self.request()
        return True

    def select_pixel(self, row: int, column: int) -> None:
        """Select a pixel for the pixel inspector (clamped to the detector)."""
        shape = self.edits.shape if self.edits else None
        if shape is None:
            return
        place = (min(max(int(row), 0), shape[0] - 1), min(max(int(column), 0), shape[1] - 1))
        if place != self.selected:
            self.selected = place
            self.selection_changed.emit(place)

    def _forget_selection(self) -> None:
        if self.selected is not None:
            self.selected = None
            self.selection_changed.emit(None)

    def move_selection(self, rows: int, columns: int) -> None:
        """Move the selected pixel by whole pixels (the arrow keys)."""
        if self.selected is not None:
            self.select_pixel(self.selected[0] + rows, self.selected[1] + columns)

    def edit_lists(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the edits as forced-bad and forced-good ``[row, column]`` lists."""
        if self.edits is None:
            return None
        return np.argwhere(self.edits.forced_bad), np.argwhere(self.edits.forced_good)

    # -- parameters ----------------------------------------------------------------------

    def set_parameters(self, **changes: Any) -> None:
        """Change parameters (validated; raises `ParameterError`) and recompute."""
        updated = self.parameters.replace(**changes)
        if updated == self.parameters:
            return
        self.parameters = updated
        self.parameters_changed.emit()
        self.request()

    def reset_parameters(self) -> None:
        """Go back to jwst's defaults and the file's dispersion axis."""
        self.dispaxis_choice = "auto"
        if self.parameters != SelfcalParameters():
            self.parameters = SelfcalParameters()
        self.parameters_changed.emit()
        self.request()

    def set_dispaxis_choice(self, choice: Any) -> None:
        """Use the file's DISPAXIS ("auto"), or 1, 2 or None (square window)."""
        if choice not in DISPAXIS_CHOICES:
            raise ValueError(f"dispersion axis must be one of {DISPAXIS_CHOICES}")
        if choice == self.dispaxis_choice and type(choice) is type(self.dispaxis_choice):
            return
        self.dispaxis_choice = choice
        self.parameters_changed.emit()
        self.request()

    @property
    def file_dispaxis(self) -> int | None:
        """DISPAXIS of the science exposure (None when absent or no science)."""
        science = self.science_entry
        return science.exposure.dispaxis if science else None

    @property
    def dispaxis(self) -> int | None:
        """The dispersion axis in use."""
        if self.dispaxis_choice == "auto":
            return self.file_dispaxis
        return validate_dispaxis(self.dispaxis_choice)

    # -- computing -----------------------------------------------------------------------

    def request(self) -> int:
        """Ask for a new result with the current state; return the request's number."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        snapshot = _Snapshot(generation, tuple(
            ExposureEntry(e.exposure, e.role) for e in self.entries
        ), self.parameters, self.dispaxis,
            None if self.edits is None else self.edits.state.copy())  # fmt: skip
        self._set_busy(True)
        self._executor.submit(self._run, snapshot)
        return generation

    def wait(self, timeout: float | None = 30.0) -> None:
        """Block until every request made so far has been computed (for scripts and tests)."""
        sentinel: Future = self._executor.submit(lambda: None)
        sentinel.result(timeout)

    def close(self, wait: bool = True) -> None:
        """Stop the worker: pending requests are dropped, nothing more is dispatched.

        Parameters
        ----------
        wait : bool
            Wait for a computation under way to end. The window waits, so that nothing
            reaches its dispatcher once Qt has destroyed it.
        """
        with self._lock:
            self._generation += 1
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _is_current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation and not self._closed

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)

    def _run(self, snapshot: _Snapshot) -> None:
        if not self._is_current(snapshot.generation):
            return  # overtaken before it started
        try:
            result = self._compute(snapshot)
        except Exception as error:  # reported to the user; the session keeps working
            log.exception("computation failed")
            if self._is_current(snapshot.generation):
                # Bound now: `error` is unset once this block ends, before the call runs.
                self._dispatch(lambda failure=error: self._fail(snapshot.generation, failure))
            return
        if self._is_current(snapshot.generation):  # never dispatch once closed or overtaken
            self._dispatch(lambda: self._deliver(result))

    def _deliver(self, result: SessionResult) -> None:
        if not self._is_current(result.generation):
            return  # a newer request is on its way
        self.result = result
        for entry, pedestal in zip(result.used, result.pedestals, strict=False):
            for live in self.entries:
                if live.exposure is entry.exposure:
                    live.pedestal = pedestal
        self._set_busy(False)
        self.result_ready.emit(result)

    def _fail(self, generation: int, error: Exception) -> None:
        if self._is_current(generation):
            self._set_busy(False)
        self.failed.emit(f"{type(error).__name__}: {error}")

    def _stages_for(self, used: Sequence[ExposureEntry]) -> SelfcalStages:
        key = tuple(id(entry.exposure) for entry in used)
        if self._stages is None or key != self._stages_key:
            science = used[0].exposure
            self._stages = SelfcalStages([entry.exposure.sci for entry in used], science.detector)
            self._stages_key = key
            self._derived = _Derived()
        return self._stages

    def _compute(self, snapshot: _Snapshot) -> SessionResult:
        started = time.perf_counter()
        parameters, dispaxis = snapshot.parameters, snapshot.dispaxis
        used = sorted(
            (entry for entry in snapshot.entries if entry.role in _ROLE_ORDER),
            key=lambda entry: _ROLE_ORDER[entry.role],
        )
        base = {"generation": snapshot.generation, "parameters": parameters, "dispaxis": dispaxis}
        if not used or used[0].role != "science":
            return SessionResult(status="empty", message="Give one exposure the science role.",
                                 **base)  # fmt: skip
        science = used[0].exposure
        if len(used) == 1 and not parameters.force_single:
            return SessionResult(
                status="skipped", used=(used[0],), science=science.sci, science_dq=science.dq,
                message="The pipeline would skip the step: there is no background or selfcal "
                "exposure. Add one, or tick force_single.", **base,
            )  # fmt: skip
        stages = self._stages_for(used)
        combined = stages.combined
        filtered = stages.filtered(parameters.kernel_size, dispaxis)
        sorted_finite = filtered.sorted_finite  # once per kernel; makes new fractions cheap
        limits = filtered.thresholds(parameters.flagfrac_lower, parameters.flagfrac_upper)
        low = filtered.difference < limits.low
        high = filtered.difference > limits.high
        flags = low | high
        already_bad = self._already_bad(science)
        forced_bad = forced_good = None
        final = flags
        if snapshot.manual is not None and snapshot.manual.any():
            forced_bad = snapshot.manual == FORCED_BAD
            forced_good = snapshot.manual == FORCED_GOOD
            final = final_flags(flags, forced_bad, forced_good)
        labels = flag_labels(already_bad, low, high, forced_bad, forced_good)
        statistics = flag_statistics(
            counts=filtered.count_beyond(limits), n_finite=sorted_finite.size, flags=flags,
            final=final, already_bad=already_bad, kernel_size=parameters.kernel_size,
            dispaxis=dispaxis, thresholds=limits, sigma=self._robust_sigma(filtered),
            forced_bad=forced_bad, forced_good=forced_good,
        )  # fmt: skip
        cached = self._derived.source_index
        if cached is None or cached[0] is not combined:
            cached = (combined, combined.source_index(stages.images))
            self._derived.source_index = cached
        source_index = cached[1]
        return SessionResult(
            status="complete",
            message=f"{statistics.n_total} pixels flagged",
            used=tuple(used), science=science.sci, science_dq=science.dq,
            combined=combined.image, smoothed=filtered.smoothed,
            difference=filtered.difference, flags=flags, labels=labels, final=final,
            forced_bad=forced_bad, forced_good=forced_good,
            source_index=source_index, pedestals=combined.pedestals, statistics=statistics,
            sorted_difference=sorted_finite,
            seconds=time.perf_counter() - started, **base,
        )  # fmt: skip

    def _already_bad(self, science: Exposure) -> np.ndarray:
        """Science pixels already DO_NOT_USE (cached per exposure)."""
        cached = self._derived.already_bad
        if cached is None or cached[0] is not science:
            cached = (science, already_bad_mask(science.dq, science.sci.shape))
            self._derived.already_bad = cached
        return cached[1]

    def _robust_sigma(self, filtered: Filtered) -> float:
        cached = self._derived.sigma
        if cached is None or cached[0] is not filtered:
            cached = (filtered, robust_sigma_sorted(filtered.sorted_finite))
            self._derived.sigma = cached
        return cached[1]

