"""``tune()``: the inspector window from Python and notebooks, returning the pipeline's dict.

In a plain script `tune` blocks until the window is closed and returns the parameters;
under IPython or Jupyter with ``%gui qt`` (Qt's events already run while the prompt
waits) it returns a `TuneHandle` at once, whose ``parameters`` follow the window and
whose ``result()`` waits for the window to close. Either way the dict is what
``Spec2Pipeline.call(asn, steps={"badpix_selfcal": pars})`` takes as it is.

Nothing here imports Qt or jwst at import time (the package imports this module): Qt
when a window is opened, jwst only through datamodels the caller already holds.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TuneHandle", "tune"]

log = logging.getLogger(__name__)

#: The QApplication this module made (None when the caller or IPython made one): kept
#: alive for the next call, as a second QApplication may not be created once one existed.
_app = None

#: Handles whose window is open: a notebook may drop the handle, the window must stay.
_open_handles: set[TuneHandle] = set()


def _starting_parameters(parameters: dict[str, Any]):
    """Validate the starting values with the one parameter spec, before any window exists."""
    from .core import PARAMETER_SPECS, ParameterError, SelfcalParameters

    given = dict(parameters)
    # A dict that tune() returned may be passed back as it is: "skip" is the pipeline's
    # switch, not a parameter of the step's algorithm.
    skip = given.pop("skip", False)
    if skip is not False:
        raise ParameterError(f"skip must be False (the step is what is tuned), not {skip!r}")
    unknown = sorted(set(given) - set(PARAMETER_SPECS))
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
            f"badpix_selfcal takes {', '.join(PARAMETER_SPECS)}")
    return SelfcalParameters(**given)


def _in_ipython_qt_loop() -> bool:
    """Return whether an IPython shell runs Qt's events between prompts (``%gui qt``).

    IPython is looked up among the imported modules, never imported: under IPython or
    Jupyter it is always imported already.
    """
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    loop = getattr(shell, "active_eventloop", None)
    return isinstance(loop, str) and loop.lower().startswith("qt")


def _application():
    """Return the running QApplication, making one (kept for later calls) if none exists."""
    global _app
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = _app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "python"])
        app.setApplicationName("badpix-inspector")
    return app


_window_class = None


def _tune_window_class():
    """Return the inspector window class that tells when it has closed (a close may be refused)."""
    global _window_class
    if _window_class is None:
        from PyQt6.QtCore import pyqtSignal

        from .gui import MainWindow

        class TuneWindow(MainWindow):
            """`MainWindow` with a ``closed`` signal, emitted once a close is accepted."""

            closed = pyqtSignal()

            def closeEvent(self, event) -> None:
                super().closeEvent(event)
                if event.isAccepted():
                    self.closed.emit()

        _window_class = TuneWindow
    return _window_class


class TuneHandle:
    """The inspector window opened by `tune`, while and after a person uses it.

    Attributes
    ----------
    window : MainWindow or None
        The window while it is open (None once closed and torn down).
    """

    def __init__(self, window, app) -> None:
        self.window = window
        self._app = app
        self._session = window.session
        self._final: dict[str, Any] | None = None
        self._loop = None
        window.closed.connect(self._closed)
        _open_handles.add(self)

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters as they are now in the window (as the pipeline takes them)."""
        if self._final is not None:
            return dict(self._final)
        from .io import pipeline_parameters

        return pipeline_parameters(self._session.parameters)

    @property
    def closed(self) -> bool:
        """True once the window has been closed."""
        return self._final is not None

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the window to close; return the parameters it was closed with.

        Qt's events run while waiting, so the window stays usable.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most (forever by default).

        Raises
        ------
        TimeoutError
            When the window is still open after ``timeout`` seconds (it stays open).
        """
        if self._final is None:
            from PyQt6.QtCore import QEventLoop, QTimer

            self._loop = loop = QEventLoop()
            expired = []
            timer = None
            if timeout is not None:
                timer = QTimer()
                timer.setSingleShot(True)
                timer.timeout.connect(lambda: (expired.append(True), loop.quit()))
                timer.start(max(0, round(timeout * 1000)))
            try:
                # Another window closing can quit every loop (quitOnLastWindowClosed): wait
                # again, unless the application itself is quitting (exec returns -1 then).
                while self._final is None and not expired:
                    if loop.exec() == -1 and self._final is None:
                        raise RuntimeError("the Qt application is quitting: the inspector "
                                           "window cannot be waited for")
            finally:
                self._loop = None
                if timer is not None:
                    timer.stop()
            if self._final is None:
                raise TimeoutError(f"the inspector window is still open after {timeout} s")
        self._tear_down()
        return dict(self._final)

    def close(self) -> dict[str, Any] | None:
        """Close the window as its close button does; return the parameters if it closed.

        A person may refuse (unsaved hand edits): None then, and the window stays.
        """
        if self.window is not None and self._final is None:
            self.window.close()
        if self._final is None:
            return None
        self._tear_down()
        return dict(self._final)

    def _closed(self) -> None:
        from PyQt6.QtCore import QTimer

        from .io import pipeline_parameters

        if self._final is not None:
            return
        session = self._session
        self._final = pipeline_parameters(session.parameters)
        _warn_what_the_dict_leaves_out(session)
        log.info("badpix_selfcal parameters: %s", self._final)
        if self._loop is not None:
            self._loop.quit()
        # Not now: this runs inside the window's closeEvent, which must return before the
        # window may be deleted.
        QTimer.singleShot(0, self._tear_down)

    def _tear_down(self) -> None:
        window, self.window = self.window, None
        _open_handles.discard(self)
        if window is not None:
            _dispose(self._app, window)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<TuneHandle ({state}) parameters={self.parameters}>"


def _dispose(app, window) -> None:
    """Destroy a window's Qt objects now, while the QApplication exists.

    Left to the garbage collector or to the interpreter's exit, they can outlive the
    application, which crashes the process at exit (see ``gui._tear_down``). A window
    already closed is not closed again (its closeEvent would save and ask once more).
    """
    from PyQt6.QtCore import QEvent

    if window.isVisible():
        window.close()
    window.deleteLater()
    app.processEvents()
    # Outside an event loop, deleteLater's events run only when asked for by type.
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def _warn_what_the_dict_leaves_out(session) -> None:
    """Say what the window used that the pipeline's parameters cannot carry."""
    edits = session.edits
    edited = 0 if edits is None else int(np.count_nonzero(edits.state))
    if edited:
        log.warning(
            "hand edits (%d pixel%s) are not part of the pipeline's parameters: export them "
            "(File > Export > Edits) and apply them with badpix-selfcal --edits",
            edited, "" if edited == 1 else "s")
    if session.dispaxis_choice != "auto" and session.dispaxis != session.file_dispaxis:
        log.warning(
            "the window filtered along dispersion axis %s, but the pipeline takes the axis "
            "from the data (%s): its flags will differ", session.dispaxis,
            session.file_dispaxis)


def tune(inputs: Any = None, /, **parameters: Any) -> dict[str, Any] | TuneHandle:
    """Open the inspector window on data and return the parameters tuned in it.

    Parameters
    ----------
    inputs : path, sequence of paths, ModelContainer or list of IFUImageModel, optional
        A spec2 association and/or FITS exposures, or jwst datamodels in memory (each
        with ``meta.asn.exptype``: science, background or selfcal). Models are copied:
        the window never changes them. None opens an empty window.
    **parameters
        Starting values of the step's parameters (``kernel_size``, ``flagfrac_lower``,
        ``flagfrac_upper``, ``force_single``, ``save_flagged_bkg``); a dict returned by
        `tune` may be passed back as it is.

    Returns
    -------
    dict or TuneHandle
        In a plain script, once the window is closed: the parameters as
        ``Spec2Pipeline.call(asn, steps={"badpix_selfcal": pars})`` takes them
        (``"skip": False`` included). Under IPython or Jupyter with ``%gui qt``, at once:
        a `TuneHandle` (``.parameters`` now, ``.result()`` once the window is closed).

    Raises
    ------
    ParameterError
        For an unknown parameter or a value the step refuses, before any window opens.
    InputError
        For unreadable files or unusable datamodels, before the window shows.

    Notes
    -----
    Products and session files need the exposures' files; with datamodels from memory
    the window says so and points to the pipeline instead. Hand edits are not
    pipeline parameters: a warning says how to keep them.
    """
    starting = _starting_parameters(parameters)
    exposures = None
    paths: list[Path] = []
    if inputs is not None:
        from .io import exposures_from_datamodels, is_datamodel_input

        if is_datamodel_input(inputs):
            exposures = exposures_from_datamodels(inputs)  # checked before Qt starts
        elif isinstance(inputs, (str, Path)):
            paths = [Path(inputs)]
        elif isinstance(inputs, Sequence):
            paths = [Path(path) for path in inputs]
        else:
            raise TypeError("inputs must be a path, a sequence of paths, a jwst "
                            f"ModelContainer or a list of datamodels, not {type(inputs)!r}")
    from .gui import display_problem

    problem = display_problem(screenshot=False)
    if problem is not None:
        raise RuntimeError(f"cannot open the inspector window: {problem}")

    app = _application()
    from .core import kernels

    kernels.warm_up()
    window = _tune_window_class()(remember_settings=True)
    try:
        session = window.session
        session.set_parameters(**starting.as_dict())  # before the data: the first result
        if exposures is not None:
            session.open_exposures(exposures)
        elif paths:
            session.open_paths(paths)
    except BaseException:
        window.close()  # never shown, but its closeEvent lets go of what it holds
        _dispose(app, window)
        raise
    handle = TuneHandle(window, app)
    window.show()
    window.raise_()
    if _in_ipython_qt_loop():
        return handle
    if "IPython" in sys.modules:
        log.info("the notebook waits for the window to close; run %%gui qt first to keep "
                 "working while it is open")
    return handle.result()


class _CallableModule(types.ModuleType):
    """The `tune` module, callable as `tune` itself.

    ``import badpix_inspector.tune`` sets the package's ``tune`` to this module (the
    import system names submodules on their package); calling it then still tunes.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any] | TuneHandle:
        return tune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
