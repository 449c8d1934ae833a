"""Running the session's callbacks on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

__all__ = ["GuiDispatcher"]


class GuiDispatcher(QObject):
    """Call functions on the thread this object lives on (the GUI thread).

    Emitting a signal from another thread queues the connected slot on the receiver's
    thread, so ``dispatcher(function)`` from the session's worker runs ``function`` in the
    event loop, never on the worker.
    """

    _queued = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queued.connect(self._run)

    def __call__(self, function: Callable[[], None]) -> None:
        """Queue ``function`` to run on the GUI thread."""
        self._queued.emit(function)

    @pyqtSlot(object)
    def _run(self, function: Callable[[], None]) -> None:
        function()
