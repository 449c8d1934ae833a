"""Responsiveness of the real window on the demo data (SPEC §7). Prints figures only.

Run:  QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--repeats N]

For a flag-fraction change and a kernel-size change made through the window's spin
boxes, it times how long until the ``flag_count`` label shows the new total, until the
image panels hold the new images (drawn a turn of the event loop later), and, as an
upper bound for the repaint, that time plus rendering the whole window (``grab``). While
the event loop runs on its own for 250 ms after each change (repainting what changed), a
1 ms timer records the longest gap between its ticks: the longest stall of the loop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt6.QtCore import QEventLoop, QTimer
from PyQt6.QtWidgets import QApplication, QDoubleSpinBox, QLabel, QSpinBox


class StallMonitor:
    """Longest interval between ticks of a 1 ms timer while it runs."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.longest = None, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


_LOOP = None


def run_until(app: QApplication, condition, timeout: float = 30.0) -> float:
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
            raise TimeoutError("the window did not answer within 30 s")
    return time.perf_counter() - started


def measure(app, window, change, repeats: int):
    label = window.findChild(QLabel, "flag_count")
    monitor = StallMonitor()
    to_count, to_images, to_paint, stalls = [], [], [], []
    session = window.session
    for number in range(repeats):
        run_until(app, lambda: not session.busy)
        app.processEvents()
        before = session.result.generation
        monitor.start()
        started = time.perf_counter()
        change(number)
        # The label is set while the new result is delivered; the total itself may not change
        # (it follows the fractions), so wait for the delivery, then check the label.
        run_until(app, lambda before=before: session.result.generation != before
                  and not session.busy)
        to_count.append(time.perf_counter() - started)
        shown = label.text().replace(",", "")
        assert shown == str(session.result.statistics.n_total), (shown, session.result)
        # The images follow a turn of the event loop later.
        run_until(app, lambda: window.grid.shown is session.result)
        to_images.append(time.perf_counter() - started)
        # Let the event loop run on its own (it repaints what changed), watching for stalls.
        run_until(app, lambda t0=started: time.perf_counter() - t0 > 0.25)
        stalls.append(monitor.stop())
        # An upper bound for the repaint: the images' time plus rendering the whole window.
        grab_started = time.perf_counter()
        window.grab()
        to_paint.append(to_images[-1] + time.perf_counter() - grab_started)
    return to_count, to_images, to_paint, stalls


def report(title: str, to_count, to_images, to_paint, stalls) -> None:
    median = statistics.median
    print(f"  {title:<22} to count {median(to_count) * 1000:5.1f} ms (max "
          f"{max(to_count) * 1000:5.1f})   to images {median(to_images) * 1000:5.1f} ms   "
          f"to repaint {median(to_paint) * 1000:5.1f} ms   "
          f"longest stall {max(stalls) * 1000:5.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    arguments = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    from badpix_inspector.gui import create_main_window

    window = create_main_window(demo=True, remember_settings=False)
    window.resize(1500, 950)
    window.show()
    run_until(app, lambda: window.session.result is not None and not window.session.busy)
    shape = window.session.result.science.shape
    print(f"badpix-inspector window benchmark: demo MIRI association {shape[0]}x{shape[1]}, "
          f"5 exposures, {os.cpu_count()} cores, Qt platform {app.platformName()}")
    upper = window.findChild(QDoubleSpinBox, "flagfrac_upper")
    kernel = window.findChild(QSpinBox, "kernel_size")
    fractions = [0.002, 0.001]
    report("flag-fraction change", *measure(
        app, window, lambda n: upper.setValue(fractions[n % 2]), arguments.repeats))
    report("kernel-size change", *measure(
        app, window, lambda n: kernel.setValue(17 + 2 * (n % 8)), arguments.repeats))
    window.close()


if __name__ == "__main__":
    main()
