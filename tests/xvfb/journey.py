"""A user's journey through the real window, on a real X server, driven by xdotool.

Run by ``test_journey.py`` as ``python journey.py ASSOCIATION WORKDIR`` with ``DISPLAY`` set
to an Xvfb server and ``QT_QPA_PLATFORM=xcb``. The window is started through the command's
entry point (``badpix_inspector.gui:main``, what the ``badpix-inspector`` script runs); every
input is a real X event made by xdotool (key presses, mouse moves and drags, typing into the
file dialogs, clicking the quit prompt's button). The script only *looks* at the window to
find where to point and to wait for it; it never calls a slot.

It writes ``WORKDIR/journey.json`` with what it saw, for the test to check against the files
the window wrote and against ``badpix-selfcal`` on the same data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QPoint, QTimer
from PyQt6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFileDialog,
    QMessageBox,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QTableWidget,
    QWidget,
)

STEP_TIMEOUT = 30.0  # seconds for any one thing to happen
POLL_MS = 40


def xdotool(*words: object) -> None:
    """Send real X input."""
    subprocess.run(["xdotool", *map(str, words)], check=True, timeout=30)


def main_window():
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "main_window" and widget.isVisible():
            return widget
    return None


def centre(widget: QWidget, dx: float = 0.5, dy: float = 0.5) -> QPoint:
    """Global screen position at fractions (dx, dy) of a widget's width and height."""
    return widget.mapToGlobal(QPoint(int(widget.width() * dx), int(widget.height() * dy)))


def slider_handle(slider: QSlider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                         QStyle.SubControl.SC_SliderHandle, slider)
    return slider.mapToGlobal(rect.center())


class Journey:
    """The steps, as a generator: each ``yield`` hands back a condition to wait for."""

    def __init__(self, association: Path, workdir: Path) -> None:
        self.association = association
        self.workdir = workdir
        self.report: dict = {"steps": [], "pictures_during_drag": 0, "errors": []}
        self.window = None
        self._steps = None
        self._waiting = None
        self._deadline = 0.0
        self._timer = QTimer()
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._tick)

    # -- machinery -------------------------------------------------------------------

    def start(self) -> None:
        self._steps = self.steps()
        self._timer.start()

    def _tick(self) -> None:
        try:
            if self._waiting is not None:
                description, condition = self._waiting
                if not condition():
                    if time.monotonic() > self._deadline:
                        raise TimeoutError(f"waited {STEP_TIMEOUT:.0f} s for: {description}")
                    return
            self._waiting = next(self._steps)
            self._deadline = time.monotonic() + STEP_TIMEOUT
        except StopIteration:
            self._timer.stop()
        except Exception:
            self._timer.stop()
            self.report["errors"].append(traceback.format_exc())
            self.save_report()
            # Leave at once: a window closed normally here could open a prompt nobody answers.
            os._exit(3)

    def note(self, text: str) -> None:
        self.report["steps"].append(text)
        print("journey:", text, flush=True)

    def save_report(self) -> None:
        (self.workdir / "journey.json").write_text(json.dumps(self.report, indent=1))

    def idle(self) -> bool:
        session = self.window.session
        return (not session.busy and session.result is not None
                and self.window.grid.shown is session.result)

    def focus_window(self) -> None:
        xdotool("windowfocus", "--sync", int(self.window.winId()))

    def drag(self, start: QPoint, end: QPoint, steps: int = 12, pause: float = 0.0):
        """A mouse drag made of real X events; yields between moves so the window runs."""
        xdotool("mousemove", "--sync", start.x(), start.y())
        xdotool("mousedown", 1)
        for i in range(1, steps + 1):
            x = start.x() + (end.x() - start.x()) * i // steps
            y = start.y() + (end.y() - start.y()) * i // steps
            xdotool("mousemove", "--sync", x, y)
            until = time.monotonic() + pause
            yield "the drag to go on", lambda until=until: time.monotonic() >= until
        xdotool("mouseup", 1)

    def modal(self, kind):
        widget = QApplication.activeModalWidget()
        return widget if isinstance(widget, kind) and widget.isVisible() else None

    def answer_file_dialog(self, path: Path):
        """Type a path into the Qt file dialog that is open, and press Return."""
        yield "a file dialog", lambda: self.modal(QFileDialog) is not None
        dialog = self.modal(QFileDialog)
        xdotool("windowfocus", "--sync", int(dialog.winId()))
        xdotool("key", "ctrl+a")
        xdotool("type", "--delay", 5, str(path))
        xdotool("key", "Return")
        yield "the file dialog to close", lambda: self.modal(QFileDialog) is None

    # -- the journey -----------------------------------------------------------------

    def steps(self):
        yield "the window", lambda: main_window() is not None
        self.window = window = main_window()
        # Open the association as a person does: File > Open (Ctrl+O), type its path.
        self.focus_window()
        xdotool("key", "ctrl+o")
        yield from self.answer_file_dialog(self.association)
        yield "the first result", self.idle
        self.focus_window()
        session = window.session
        self.note(f"opened, {session.result.statistics.n_total} flags at the defaults")

        # Move the kernel slider with the mouse: the images follow the drag.
        slider = window.findChild(QSlider, "kernel_slider")
        shown = []
        window.session.result_ready.connect(lambda result: shown.append(result))
        start = slider_handle(slider)
        yield from self.drag(start, start + QPoint(max(30, slider.width() // 8), 0),
                             steps=20, pause=0.1)
        yield "the kernel result", lambda: self.idle() and session.parameters.kernel_size > 15
        self.report["pictures_during_drag"] = len(shown)
        self.note(f"kernel slider dragged to {session.parameters.kernel_size}, "
                  f"{len(shown)} results during the drag")

        # And the upper fraction's slider, to the left (fewer high flags).
        slider = window.findChild(QSlider, "flagfrac_upper_slider")
        before = session.parameters.flagfrac_upper
        start = slider_handle(slider)
        yield from self.drag(start, start - QPoint(max(20, slider.width() // 10), 0))
        yield "the fraction result", lambda: (self.idle()
                                              and session.parameters.flagfrac_upper < before)
        self.note(f"flagfrac_upper slider dragged to {session.parameters.flagfrac_upper:g}")

        # Flag a box on the combined image (Ctrl+R, then a drag), undo it, redo it.
        image = window.grid.panels["combined"].graphics
        self.focus_window()
        xdotool("mousemove", "--sync", centre(image).x(), centre(image).y())
        xdotool("key", "ctrl+r")
        yield from self.drag(centre(image, 0.45, 0.45), centre(image, 0.55, 0.55), steps=6)
        yield "the box's edits", lambda: self.idle() and session.edits.n_forced_bad > 0
        boxed = session.edits.n_forced_bad
        self.note(f"box flagged: {boxed} pixels forced bad")
        xdotool("key", "ctrl+z")
        yield "the undo", lambda: self.idle() and session.edits.n_forced_bad == 0
        self.note("undone")
        xdotool("key", "ctrl+shift+z")
        yield "the redo", lambda: self.idle() and session.edits.n_forced_bad == boxed
        self.note("redone")

        # A marker at the pixel under the cursor (M), after going back to Inspect (I).
        xdotool("key", "i")
        point = centre(image, 0.3, 0.7)
        xdotool("mousemove", "--sync", point.x(), point.y())
        yield "the cursor readout", lambda: window.cursor_label.text() != ""
        table = window.markers_panel.findChild(QTableWidget)
        xdotool("key", "m")
        yield "the marker", lambda: len(window.markers.records) == 1 and table.rowCount() == 1
        self.note(f"marker added: {window.cursor_label.text()[:60]}")

        # Save the flagged products (Ctrl+S, a folder dialog) and the parameters (Ctrl+E).
        products = self.workdir / "products"
        products.mkdir()
        xdotool("key", "ctrl+s")
        yield from self.answer_file_dialog(products)
        yield "the products", lambda: any(products.glob("*_badpix_selfcal.fits"))
        self.note(f"saved {sorted(p.name for p in products.iterdir())}")
        parameters = self.workdir / "tuned.asdf"
        self.focus_window()
        xdotool("key", "ctrl+e")
        yield from self.answer_file_dialog(parameters)
        yield "the parameter file", parameters.is_file
        self.note(f"parameters exported to {parameters.name}")

        self.report["parameters"] = session.parameters.as_dict()
        self.report["dispaxis"] = session.dispaxis
        self.report["forced_bad"] = np.argwhere(session.edits.forced_bad).tolist()
        self.report["forced_good"] = np.argwhere(session.edits.forced_good).tolist()
        self.report["shape"] = list(session.edits.shape)
        self.report["n_final"] = session.result.statistics.n_final

        # One more edit after saving, then quit: the window asks about unsaved edits.
        self.focus_window()
        xdotool("key", "ctrl+r")
        yield from self.drag(centre(image, 0.2, 0.2), centre(image, 0.25, 0.25), steps=4)
        yield "the new edit", lambda: self.idle() and session.edits.n_forced_bad > boxed
        self.save_report()
        xdotool("key", "ctrl+q")
        yield "the unsaved-edits prompt", lambda: self.modal(QMessageBox) is not None
        box = self.modal(QMessageBox)
        self.report["prompt"] = box.text()
        discard = next(button for button in box.findChildren(QAbstractButton)
                       if box.buttonRole(button) == QMessageBox.ButtonRole.DestructiveRole)
        self.note(f"prompt: {box.text()[:60]}… clicking {discard.text()!r}")
        self.save_report()
        xdotool("mousemove", "--sync", centre(discard).x(), centre(discard).y())
        xdotool("click", 1)
        self.report["quit"] = True
        self.save_report()


def run(association: Path, workdir: Path) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0]])
    journey = Journey(association, workdir)
    QTimer.singleShot(0, journey.start)
    from badpix_inspector.gui import main

    code = main(["--size", "1600x1000"])  # the data are opened through File > Open
    journey.report["exit_code"] = code
    journey.save_report()
    del app
    return code


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
