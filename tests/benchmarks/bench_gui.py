"""Responsiveness of the real window (SPEC §7), on MIRI and NIRSpec. Prints figures only.

Run:  QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--data miri|nirspec]
      [--repeats N] [--drag-seconds S]
(or under a display: ``xvfb-run -a -s "-screen 0 1600x1000x24" python ...``).

One process per data set, so that its peak memory is the window's own: the data are
written by a child process first (the demo MIRI MRS association, 1024x1032, or a
2048x2048 NIRSpec NRS1 association, ~420 MB kept in ``~/.cache/badpix-inspector/
bench-nirspec-nrs1`` for the next run; 5 exposures each). The compiled kernels are loaded
synchronously (``kernels.warm_up(background=False)``) before anything is timed, so the
figures are those of a window whose kernels are ready (a window that has just started
uses the plain path for the first second or two; the flags are the same).

For a flag-fraction change and a kernel-size change made through the window's spin boxes
it times how long until the ``flag_count`` label shows the new total ("to count"), until
the image panels hold the new images ("to images", drawn a turn of the event loop
later), and, as an upper bound for the repaint, that time plus rendering the whole
window (``grab``); a kernel change is first shown with its flags and images, then
completed with the histogram and the robust sigma ("complete"). While the event loop
runs on its own for 300 ms after each change, a 1 ms timer records the longest gap
between its ticks: the longest stall of the loop. Then the kernel slider is dragged with
mouse events for ``--drag-seconds`` (a press on its handle, a move every 20 ms, the
release), counting the distinct results the images showed while the button was down,
and the longest stall. Last, the peak resident memory of the process (max RSS).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):  # under Xvfb or a desktop, the real platform
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QEvent, QEventLoop, QPoint, QPointF, Qt, QTimer
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import (
    QApplication,
    QDoubleSpinBox,
    QLabel,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
)

_MAKE_DATA = {
    "miri": "from badpix_inspector.simulate import demo_association\n"
            "print(demo_association())",
    "nirspec": "import sys\nfrom pathlib import Path\n"
               "from badpix_inspector.simulate import make_association\n"
               "folder = Path(sys.argv[1])\n"
               "found = sorted(folder.glob('*_asn.json'))\n"
               "print(found[0] if found else make_association(folder, 'NRS1').association)",
}


def make_data(name: str) -> Path:
    """Write (once) and return the association, in a child process (see the docstring)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "badpix-inspector" / "bench-nirspec-nrs1"
    output = subprocess.run([sys.executable, "-c", _MAKE_DATA[name], str(folder)],
                            check=True, capture_output=True, text=True).stdout
    return Path(output.strip().splitlines()[-1])


class Heartbeat:
    """A 1 ms timer: the longest gap between its ticks, and what the images showed."""

    def __init__(self, grid) -> None:
        self.grid = grid
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.longest = 0.0
        self.shown: list[int] = []  # generations (holding the results would hold memory)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now
        shown = self.grid.shown
        if shown is not None and (not self.shown or shown.generation != self.shown[-1]):
            self.shown.append(shown.generation)

    def start(self) -> None:
        self.last, self.longest, self.shown = None, 0.0, []
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


_LOOP = None


def run_until(condition, timeout: float = 60.0) -> float:
    """Run the event loop, idle between events as a real one is, until ``condition()``.

    Spinning processEvents instead would keep the GUI thread busy and take CPU and the
    GIL from the worker that the window waits for, so the figures would be too slow.
    """
    global _LOOP
    if _LOOP is None:
        _LOOP = QEventLoop()
        _LOOP.wake = QTimer()  # checks the condition at least every 2 ms
        _LOOP.wake.start(2)
    started = time.perf_counter()
    while not condition():
        _LOOP.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"the window did not answer within {timeout} s")
    return time.perf_counter() - started


def measure(window, change, repeats: int) -> dict[str, list[float]]:
    label = window.findChild(QLabel, "flag_count")
    monitor = Heartbeat(window.grid)
    session = window.session
    times: dict[str, list[float]] = {key: [] for key in
                                     ("count", "images", "paint", "complete", "stall")}
    for number in range(repeats):
        run_until(lambda: not session.busy and window.grid.shown is session.result)
        before = session.result.generation
        monitor.start()
        started = time.perf_counter()
        change(number)
        # The label is set as the new result is delivered (the total itself may not
        # change): wait for the delivery, then check the label.
        run_until(lambda before=before: session.result.generation != before)
        times["count"].append(time.perf_counter() - started)
        shown = label.text().replace(",", "")
        assert shown == str(session.result.statistics.n_total), (shown, session.result)
        generation = session.result.generation
        run_until(lambda generation=generation: window.grid.shown is not None
                  and window.grid.shown.generation == generation)
        times["images"].append(time.perf_counter() - started)
        run_until(lambda: not session.busy)
        times["complete"].append(time.perf_counter() - started)
        # Let the event loop run on its own (it repaints what changed), watching for stalls.
        run_until(lambda started=started: time.perf_counter() - started > 0.3)
        times["stall"].append(monitor.stop())
        # An upper bound for the repaint: the images' time plus rendering the whole window.
        grab_started = time.perf_counter()
        window.grab()
        times["paint"].append(times["images"][-1] + time.perf_counter() - grab_started)
    return times


def _mouse(widget, kind, point, buttons, button=Qt.MouseButton.LeftButton) -> None:
    local = QPointF(point)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag_kernel(window, seconds: float) -> tuple[int, float, int]:
    """Drag the kernel slider with the mouse for ``seconds``, back and forth.

    Returns the distinct results the images showed while the button was down, the
    longest stall, and how many kernel values the slider passed on.
    """
    session = window.session
    slider = window.findChild(QSlider, "kernel_slider")
    run_until(lambda: not session.busy and window.grid.shown is session.result)
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    start = handle.center()
    span = max(40, (slider.width() - handle.width()) // 3)  # about a third of the groove
    left = Qt.MouseButton.LeftButton
    requested = []
    session.parameters_changed.connect(
        lambda: requested.append(session.parameters.kernel_size))
    monitor = Heartbeat(window.grid)
    monitor.start()
    _mouse(slider, QEvent.Type.MouseButtonPress, start, left)
    began = time.perf_counter()
    first = window.grid.shown.generation
    step = 0
    mover = QTimer()
    mover.setInterval(20)

    def move() -> None:
        nonlocal step
        step += 1
        phase = (step * 0.02 / 1.0) % 2.0  # out and back in 2 s
        offset = int(span * (phase if phase <= 1.0 else 2.0 - phase))
        _mouse(slider, QEvent.Type.MouseMove, QPoint(start.x() + offset, start.y()), left,
               Qt.MouseButton.NoButton)

    mover.timeout.connect(move)
    mover.start()
    run_until(lambda: time.perf_counter() - began >= seconds)
    mover.stop()
    shown_during = [generation for generation in monitor.shown if generation != first]
    _mouse(slider, QEvent.Type.MouseButtonRelease, slider.mapFromGlobal(
        slider.mapToGlobal(start)), Qt.MouseButton.NoButton, left)
    run_until(lambda: not session.busy and window.grid.shown is session.result)
    stall = monitor.stop()
    return len(set(shown_during)), stall, len(set(requested))


def peak_mib() -> float:
    """The peak resident memory of this process so far (max RSS), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(values: list[float], scale: float = 1000.0) -> str:
    values = [value * scale for value in values]
    return f"{statistics.median(values):6.1f} ({min(values):.0f}–{max(values):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("miri", "nirspec"), default="miri")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--drag-seconds", type=float, default=2.0)
    arguments = parser.parse_args()
    association = make_data(arguments.data)
    app = QApplication.instance() or QApplication([])
    from badpix_inspector.core import kernels
    from badpix_inspector.gui import create_main_window

    kernels.warm_up(background=False)  # the figures are those of ready kernels
    window = create_main_window([association], remember_settings=False)
    window.resize(1500, 950)
    window.show()
    run_until(lambda: window.session.result is not None and not window.session.busy
              and window.grid.shown is window.session.result)
    shape = window.session.result.science.shape
    print(f"badpix-inspector window benchmark: {arguments.data} {shape[0]}x{shape[1]}, "
          f"{len(window.session.entries)} exposures, {os.cpu_count()} cores, Qt platform "
          f"{app.platformName()}, compiled kernels ready: {kernels.ready()}, load "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    print("  ms, median (range) of", arguments.repeats, "changes", flush=True)
    upper = window.findChild(QDoubleSpinBox, "flagfrac_upper")
    kernel = window.findChild(QSpinBox, "kernel_size")
    fractions = [0.002, 0.001]
    for title, change in (
        ("flag-fraction change", lambda n: upper.setValue(fractions[n % 2])),
        ("kernel-size change", lambda n: kernel.setValue(17 + 2 * (n % 8))),
    ):
        times = measure(window, change, arguments.repeats)
        print(f"  {title:<21} to count {summary(times['count'])}   to images "
              f"{summary(times['images'])}   to repaint {summary(times['paint'])}   "
              f"complete {summary(times['complete'])}   longest stall "
              f"{max(times['stall']) * 1000:5.1f}   peak so far {peak_mib():.0f} MiB", flush=True)
    pictures, stall, values = drag_kernel(window, arguments.drag_seconds)
    print(f"  kernel-slider drag ({arguments.drag_seconds:g} s, {values} kernel values "
          f"passed on): {pictures} pictures, {pictures / arguments.drag_seconds:.1f} a "
          f"second; longest stall {stall * 1000:.1f} ms", flush=True)
    print(f"  peak memory (max RSS of the process): {peak_mib():.0f} MiB", flush=True)
    window.close()


if __name__ == "__main__":
    main()
