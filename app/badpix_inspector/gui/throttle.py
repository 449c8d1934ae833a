"""Rate-limiting rapid signals (mouse moves, zooms, slider drags) on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, QTimer

__all__ = ["Throttle"]


class Throttle(QObject):
    """Call ``slot`` with the newest arguments at most once per ``interval`` milliseconds.

    Used instead of pyqtgraph's ``SignalProxy``, which has no Qt parent: such an object,
    and its timer, is destroyed whenever Python's garbage collector gets to it, on
    whichever thread that happens to be; a Qt timer destroyed off the GUI thread stays
    registered and later fires into freed memory. A throttle belongs to its parent
    widget, so Qt destroys it with the widget, on the GUI thread.

    Parameters
    ----------
    interval : int
        Milliseconds between calls.
    slot : callable
        Called with the arguments of the newest call made in the meantime.
    parent : QObject
        The owner; required.
    """

    def __init__(self, interval: int, slot: Callable[..., None], parent: QObject) -> None:
        super().__init__(parent)
        self._slot = slot
        self._arguments: tuple | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval)
        self._timer.timeout.connect(self._fire)

    def __call__(self, *arguments) -> None:
        """Schedule a call with these arguments (replacing any not yet made)."""
        self._arguments = arguments
        if not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        """Drop any pending call."""
        self._timer.stop()
        self._arguments = None

    def _fire(self) -> None:
        arguments, self._arguments = self._arguments, None
        if arguments is not None:
            self._slot(*arguments)
