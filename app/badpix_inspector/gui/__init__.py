"""The desktop inspector (PyQt6 + pyqtgraph) over the same core and writer as the command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pyqtgraph as pg

# Arrays are (row, column), as numpy and FITS have them: set once, before any item exists.
pg.setConfigOptions(imageAxisOrder="row-major")

from ..core import kernels, memory  # noqa: E402
from .layout import fit_to_screen  # noqa: E402
from .main_window import MainWindow  # noqa: E402

__all__ = ["MainWindow", "create_main_window", "display_problem", "main"]

log = logging.getLogger(__name__)


def create_main_window(
    inputs: Sequence[str | Path] | None = None, demo: bool = False, *,
    remember_settings: bool = True,
) -> MainWindow:
    """Build the inspector window without running the event loop.

    Parameters
    ----------
    inputs : sequence of path, optional
        FITS exposures and/or a spec2 association to open.
    demo : bool
        Open the synthetic MIRI MRS association (written to a cache folder once).
    remember_settings : bool
        Save the last folder, geometry and display choices for the next run.

    Returns
    -------
    MainWindow
        The window, not yet shown. A QApplication must exist.
    """
    # The compiled kernels load (or compile, the first time) in the background; the plain
    # path serves until they are ready, with the same flags.
    kernels.warm_up()
    # Full-frame temporaries go back to the system when freed, not into glibc's heap.
    memory.return_freed_blocks()
    window = MainWindow(remember_settings=remember_settings)
    if demo:
        window.files.open_demo()
    if inputs:
        window.open_paths(inputs)
    return window


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x800, not {text!r}") from None
    return width, height


def _unreachable_x_display(display: str) -> str | None:
    """Say so when DISPLAY names a local X server that is not running (Qt would abort).

    Only a local display (``:N`` or ``unix:N``) is checked, by its socket; a remote one
    (``host:N``, ssh forwarding) is left to Qt.
    """
    host, _, number = display.rpartition(":")
    number = number.split(".")[0]
    if host not in ("", "unix") or not number.isdigit():
        return None
    if Path(f"/tmp/.X11-unix/X{number}").exists():
        return None
    return (f"no X server answers on DISPLAY={display} (no /tmp/.X11-unix/X{number}): start "
            "one, unset DISPLAY and run under `xvfb-run -a badpix-inspector ...`, save a "
            "picture with --screenshot PNG (works offscreen), or flag files without a window "
            "with badpix-selfcal")


def display_problem(screenshot: bool, environ=None) -> str | None:
    """Return why no window can be shown here, or None when a display is available.

    Checked before Qt starts, whose own answer to a missing display is an abort. A
    ``--screenshot`` run without a display uses the offscreen platform instead.
    """
    environ = os.environ if environ is None else environ
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "windows", "cocoa"):
        return None
    if sys.platform in ("win32", "darwin") or screenshot:
        return None
    if environ.get("WAYLAND_DISPLAY"):
        return None
    display = environ.get("DISPLAY")
    if display:
        return _unreachable_x_display(display)
    return ("no display (DISPLAY and WAYLAND_DISPLAY are unset): run it in a desktop session "
            "or with `ssh -X`, under `xvfb-run -a badpix-inspector ...`, save a picture with "
            "--screenshot PNG (works offscreen), or flag files without a window with "
            "badpix-selfcal")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``badpix-inspector``; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="badpix-inspector",
        description="Tune and check JWST's badpix_selfcal step on MIRI MRS / NIRSpec IFU data.",
    )
    parser.add_argument("inputs", nargs="*", metavar="FILE",
                        help="FITS exposures and/or a calwebb_spec2 association")
    parser.add_argument("--demo", action="store_true",
                        help="open a synthetic MIRI MRS association")
    parser.add_argument("--screenshot", metavar="PNG", type=Path,
                        help="save the window once the first result is shown, then exit")
    parser.add_argument("--size", metavar="WxH", type=_size,
                        help="window size, e.g. 1280x800 (default: the last one used)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    problem = display_problem(arguments.screenshot is not None)
    if problem is not None:
        print(f"badpix-inspector: error: {problem}", file=sys.stderr)
        return 2
    if arguments.screenshot is not None and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or sys.platform in ("win32", "darwin")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("badpix-inspector")
    # A scripted run (--screenshot) leaves the user's settings alone.
    window = create_main_window(arguments.inputs, demo=arguments.demo,
                                remember_settings=arguments.screenshot is None)
    if arguments.size:
        window.resize(*arguments.size)
        fit_to_screen(window)  # all of it on the screen, status bar included
    window.show()
    if arguments.screenshot is None:
        # Once the window shows: offer the edits a crashed run left behind.
        QTimer.singleShot(0, window.recovery.offer_autosave)
        code = app.exec()
        _tear_down(app, window)
        return code

    status = {"code": 1}

    def saved(error: str | None) -> None:
        if error is None:
            status["code"] = 0
            print(arguments.screenshot)
        else:
            print(f"badpix-inspector: error: {error}", file=sys.stderr)
        window.close()
        app.quit()

    def too_slow() -> None:
        print("badpix-inspector: error: no result within 120 s; no screenshot", file=sys.stderr)
        window.close()
        app.exit(1)

    window.grab_after_first_result(arguments.screenshot, saved)
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(too_slow)
    watchdog.start(120_000)
    app.exec()
    watchdog.stop()
    _tear_down(app, window)
    return status["code"]


def _tear_down(app, window) -> None:
    """Destroy the window's Qt objects while the application still exists.

    Left to the interpreter's exit, they can be destroyed after the QApplication, which
    sometimes crashed the process once its work was done.
    """
    from PyQt6.QtCore import QEvent

    window.close()
    window.deleteLater()
    app.processEvents()
    # Outside an event loop, Qt runs deleteLater's events only when asked for them by type.
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
