"""The window's model: exposures and roles, parameters, cached stages and the flags (no Qt).

Widgets observe a `Session` through its events and change it through its methods. Work
runs on one worker thread: every change makes a new request, and a request that has been
overtaken before it starts is skipped, so the worker always computes the newest. A result
overtaken while it was computed is still shown when nothing was shown for
`FOLLOW_INTERVAL` seconds: during a slider drag the images follow the drag instead of
waiting for the release; otherwise it is dropped, the newest being on its way. Results
reach observers through ``dispatch``, which the Qt layer sets to a function that runs
them on the GUI thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .core import ManualEdits, SelfcalParameters, validate_dispaxis
from .core.decide import SuspectRule
from .core.pixelsets import PixelSet
from .core.statistics import (
    LABEL_ALREADY_BAD,
    LABEL_FORCED_BAD,
    LABEL_FORCED_GOOD,
    LABEL_HIGH,
    LABEL_LOW,
    LABEL_NONE,
    FlagStatistics,
)
from .inspection import (
    DISPAXIS_CHOICES,
    ROLES_USED,
    ExposureEntry,
    SessionResult,
    Snapshot,
    StageCache,
    is_provisional,
    memory_entries,
    read_entries,
    read_state,
)
from .io import Exposure, InputError, ProductMembers

# The label values, the statistics and the result types are defined once, in the core and
# in `inspection`; they are re-exported here because the widgets observing a session
# read them with its results.
__all__ = [
    "DISPAXIS_CHOICES",
    "DISPLAY_WAIT",
    "FOLLOW_INTERVAL",
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

#: Seconds without a new result after which an overtaken result is shown all the same
#: (a drag must show at least 2.5 pictures a second, SPEC §6-7).
FOLLOW_INTERVAL = 0.25
#: Longest wait, in seconds, for a provisional result to be drawn before it is completed
#: (see `Session.awaits_display`).
DISPLAY_WAIT = 0.5


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


def _call_now(function: Callable[[], None]) -> None:
    function()


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
    display_ready : Event
        Emitted (through ``dispatch``) with a result once ``prepare`` has run for it,
        after its ``result_ready``: numbers show at once, pictures when they are ready.
    prepare : callable or None
        Called with each result on the worker thread after it is dispatched: the window
        makes what it will draw there (colour indices, pooled labels), off the GUI
        thread. Its errors are reported like the computation's.
    awaits_display : bool
        True when the observer reports each result it has drawn (`displayed`): a new
        kernel's provisional result is then completed only once it is on screen (or
        after `DISPLAY_WAIT` seconds), when the previous kernel's images have been let
        go; otherwise both kernels' images and the sort's copy are in memory together
        (48 MiB more on 2048x2048), and the sort competes with the drawing for the CPU.
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
        self.display_ready = Event()
        self.edits: ManualEdits | None = None
        self.selected: tuple[int, int] | None = None
        #: The final flags pinned as reference A (compared on the worker), and the rule
        #: that calls flags suspect: see `set_reference_flags`, `set_suspect_rule`.
        self.reference_flags: PixelSet | None = None
        self.suspect_rule = SuspectRule()
        self._dispatch = dispatch or _call_now
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="badpix-session")
        self._lock = threading.Lock()
        self._generation = 0
        self._delivered = 0  # the generation of the newest result shown
        self._delivered_at = -math.inf  # when it was shown (time.monotonic)
        # The first request on the exposures and roles in use: an overtaken result from
        # before it belongs to other data and is never shown.
        self._data_generation = 0
        self._data_key: tuple = ()
        self._closed = False
        self._cache = StageCache()
        self.prepare: Callable[[SessionResult], None] | None = None
        self.awaits_display = False
        self._drawn = threading.Condition(self._lock)
        self._drawn_generation = 0
        self._waiting = 0  # threads in `wait`: while one is, nothing can be drawn

    # -- exposures -----------------------------------------------------------------------

    def open_paths(self, paths: Iterable[str | Path]) -> list[ExposureEntry]:
        """Load FITS exposures or spec2 associations (see `read_entries`) and recompute.

        Raises
        ------
        InputError
            For an unreadable file, or one whose shape differs from the others; nothing
            is added then.
        """
        added, association = read_entries(paths, self.entries)
        if association is not None:
            self.association = association
        self.entries += added
        self._fit_edits()
        self.exposures_changed.emit()
        self.request()
        return added

    def open_exposures(self, exposures: Sequence[Exposure]) -> list[ExposureEntry]:
        """Add exposures already in memory (jwst datamodels, for ``tune()``) and recompute.

        Each exposure keeps its ``role``. They were read from no file here: saving
        products or a session, which need the files, then raises an `InputError` saying
        what to do instead.

        Raises
        ------
        InputError
            For an unknown role, a second science exposure, or a shape that differs from
            the open exposures; nothing is added then.
        """
        added = memory_entries(exposures, self.entries)
        self.entries += added
        self._fit_edits()
        self.exposures_changed.emit()
        self.request()
        return added

    @property
    def in_memory(self) -> bool:
        """True when some exposure came from memory (`open_exposures`), not from a file."""
        return any(not entry.from_file for entry in self.entries)

    def _need_files(self, what: str) -> None:
        if self.in_memory:
            raise InputError(
                None, f"the exposures came from memory (jwst datamodels), so {what}",
                "save the models to files first (model.save(...)) and open those, or run the "
                "pipeline on them with the parameters tune() returns (Spec2Pipeline.call(asn, "
                "steps={'badpix_selfcal': pars}))")

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
        entries, restored, restored_edits = read_state(exposures, parameters, dispaxis, edits)
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
        """Return the model's state as plain data (what `restore` takes back).

        Raises
        ------
        InputError
            When the exposures came from memory: a session could not read them back.
        """
        self._need_files("a session file could not read them back")
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

    @property
    def input_paths(self) -> list[Path]:
        """Every file the session read (exposures, association): nothing may replace them."""
        paths = [entry.exposure.path for entry in self.entries]
        return paths + ([self.association] if self.association is not None else [])

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

    def is_up_to_date(self, result: SessionResult | None = None) -> bool:
        """Return True when ``result`` (default: the one shown) answers the newest request.

        False while a newer request is being computed, or when the newest one failed:
        the result then belongs to other settings than those in force.
        """
        result = self.result if result is None else result
        with self._lock:
            newest = self._generation
        return (result is not None and result is self.result and not self.busy
                and result.generation == newest and not is_provisional(result))

    def check_files(self) -> None:
        """Raise an `InputError` when a file in use is no longer the one that was read.

        What the window shows was computed from the files as they were opened: a product
        written from a file changed since would mix its new values with those flags.
        """
        for entry in self.entries:
            if entry.role in ROLES_USED and entry.from_file:
                entry.exposure.check_unchanged()

    def members(self) -> ProductMembers:
        """Return the current roles as the command's product members (for saving).

        Raises
        ------
        InputError
            Without a science exposure, or when the exposures came from memory (the
            command's writer reads the files).
        """
        self._need_files("the flagged products cannot be written without their files")
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

    # -- deciding (compare with A, suspect flags) ----------------------------------------

    def set_reference_flags(self, flags: PixelSet | np.ndarray | None) -> None:
        """Compare every result's final flags with these (None: no reference); recompute.

        ``flags`` is a pixel set, or a mask (copied as a pixel set).
        """
        self.reference_flags = None if flags is None else PixelSet.of(flags)
        self.request()

    def set_suspect_rule(self, rule: SuspectRule) -> None:
        """Call flags suspect with this rule's numbers (see `core.decide`); recompute."""
        if rule != self.suspect_rule:
            self.suspect_rule = rule
            self.request()

    # -- computing -----------------------------------------------------------------------

    def request(self) -> int:
        """Ask for a new result with the current state; return the request's number."""
        data_key = tuple((id(entry.exposure), entry.role) for entry in self.entries)
        with self._drawn:
            self._generation += 1
            generation = self._generation
            if data_key != self._data_key:
                self._data_key, self._data_generation = data_key, generation
            self._drawn.notify_all()  # a result awaited on screen is overtaken
        snapshot = Snapshot(generation, tuple(
            ExposureEntry(e.exposure, e.role, from_file=e.from_file) for e in self.entries
        ), self.parameters, self.dispaxis,
            None if self.edits is None else self.edits.pixel_sets(),
            self.reference_flags, self.suspect_rule)  # fmt: skip
        self._set_busy(True)
        self._executor.submit(self._run, snapshot)
        return generation

    def wait(self, timeout: float | None = 30.0) -> None:
        """Block until every request made so far has been computed (for scripts and tests).

        Meanwhile no result is awaited on screen (see `awaits_display`): a script that
        waits on the window's own thread would otherwise hold every kernel change for
        `DISPLAY_WAIT`.
        """
        with self._drawn:
            self._waiting += 1
            self._drawn.notify_all()
        try:
            sentinel: Future = self._executor.submit(lambda: None)
            sentinel.result(timeout)
        finally:
            with self._drawn:
                self._waiting -= 1

    def close(self, wait: bool = True) -> None:
        """Stop the worker: pending requests are dropped, nothing more is dispatched.

        Parameters
        ----------
        wait : bool
            Wait for a computation under way to end. The window waits, so that nothing
            reaches its dispatcher once Qt has destroyed it.
        """
        with self._drawn:
            self._generation += 1
            self._closed = True
            self._drawn.notify_all()
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _is_current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation and not self._closed

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)

    def _run(self, snapshot: Snapshot) -> None:
        if not self._is_current(snapshot.generation):
            return  # overtaken before it started: the worker moves on to the newest
        try:
            # A new kernel shows its flags and images before the slow sort that the
            # histogram and the robust sigma need; that follows unless overtaken.
            result = self._cache.compute(snapshot, provisional=True)
            provisional = is_provisional(result)
            self._send(result, final=not provisional)
            if provisional and self._await_drawn(result):
                result = self._cache.compute(snapshot)
                self._send(result, final=True)
        except Exception as error:  # reported to the user; the session keeps working
            if isinstance(error, InputError):  # a bad input: its message says it all
                log.error("computation failed: %s", error)
            else:
                log.exception("computation failed")
            if self._is_current(snapshot.generation):
                # Bound now: `error` is unset once this block ends, before the call runs.
                self._dispatch(lambda failure=error: self._fail(snapshot.generation, failure))

    def _send(self, result: SessionResult, final: bool) -> None:
        if not self._wanted(result.generation):
            return  # overtaken, and a result was shown a moment ago: the newest is coming
        # The result first (the counts show at once), then what the images need.
        self._dispatch(lambda: self._deliver(result, final))
        if self.prepare is not None:
            self.prepare(result)
        if not self._closed:
            self._dispatch(lambda: self._prepared(result))

    def displayed(self, result: SessionResult) -> None:
        """Say that ``result`` is drawn (the observer's side of `awaits_display`)."""
        with self._drawn:
            self._drawn_generation = max(self._drawn_generation, result.generation)
            self._drawn.notify_all()

    def _await_drawn(self, result: SessionResult) -> bool:
        """Wait until ``result`` is drawn (see `awaits_display`); False if overtaken."""
        generation = result.generation
        deadline = time.monotonic() + DISPLAY_WAIT
        with self._drawn:
            while (self.awaits_display and self._drawn_generation < generation
                   and not self._waiting):
                left = deadline - time.monotonic()
                if left <= 0 or self._generation != generation or self._closed:
                    break
                self._drawn.wait(left)  # woken by the drawing, a newer request or close
            return self._generation == generation and not self._closed

    def _prepared(self, result: SessionResult) -> None:
        if result is self.result and not self._closed:
            self.display_ready.emit(result)

    def _wanted(self, generation: int) -> bool:
        """Whether a result of ``generation`` is to be shown now (see `FOLLOW_INTERVAL`)."""
        if self._is_current(generation):
            return True
        with self._lock:
            if (self._closed or generation <= self._delivered
                    or generation < self._data_generation):
                return False
        return time.monotonic() - self._delivered_at >= FOLLOW_INTERVAL

    def _deliver(self, result: SessionResult, final: bool = True) -> None:
        if not self._wanted(result.generation):
            return  # a newer one is on its way, and one was shown a moment ago
        with self._lock:
            self._delivered = result.generation
        self._delivered_at = time.monotonic()
        self.result = result
        for entry, pedestal in zip(result.used, result.pedestals, strict=False):
            for live in self.entries:
                if live.exposure is entry.exposure:
                    live.pedestal = pedestal
        if final and self._is_current(result.generation):
            self._set_busy(False)  # an overtaken or provisional result leaves it busy
        self.result_ready.emit(result)

    def _fail(self, generation: int, error: Exception) -> None:
        if self._is_current(generation):
            self._set_busy(False)
        # A bad input says what is wrong and what to do; anything else names its kind.
        self.failed.emit(str(error) if isinstance(error, InputError)
                         else f"{type(error).__name__}: {error}")
