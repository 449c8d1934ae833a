"""A script that uses tune() as a person would, for tests/test_tune.py (run as a subprocess).

    python tune_script.py blocking ASSOCIATION   # the script's own QApplication, tune() blocks
    python tune_script.py handle ASSOCIATION     # a fake IPython with %gui qt: a TuneHandle
    python tune_script.py blocking ASSOCIATION again   # then tune() again from the dict

A timer acts as the person: once the flags are shown, types 9 into the kernel spin box,
waits for the new flags, then chooses File > Quit. The script prints the
returned dict as JSON and the flags the window showed last (their count and a digest).
"""

import hashlib
import json
import sys
import types

from PyQt6.QtCore import QTimer
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QSpinBox

import badpix_inspector

mode, association = sys.argv[1], sys.argv[2]
shown = {}


def inspector_window():
    return next((widget for widget in QApplication.topLevelWidgets()
                 if widget.objectName() == "main_window" and widget.isVisible()), None)


def when(condition, then, waited=0):
    """Call ``then`` once ``condition()`` holds, checking every 50 ms (60 s at most)."""
    if condition():
        then()
    elif waited > 60_000:
        print("the window never got there", file=sys.stderr)
        sys.exit(3)
    else:
        QTimer.singleShot(50, lambda: when(condition, then, waited + 50))


def settled(kernel):
    window = inspector_window()
    if window is None:
        return False
    result = window.session.result
    return (not window.session.busy and result is not None
            and result.parameters.kernel_size == kernel)


def type_kernel():
    window = inspector_window()
    spin = window.findChild(QSpinBox, "kernel_size")
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "9")
    when(lambda: settled(9), quit_window)


def quit_window():
    window = inspector_window()
    flags = window.session.result.flags
    shown.update(count=int(flags.sum()), digest=hashlib.sha256(flags.tobytes()).hexdigest())
    window.named_actions["quit"].trigger()  # File > Quit


def act():
    when(lambda: settled(15), type_kernel)


if mode == "blocking":
    app = QApplication([])
    QTimer.singleShot(0, act)
    pars = badpix_inspector.tune(association, flagfrac_upper=0.005)
elif mode == "handle":
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace(active_eventloop="qt")
    sys.modules["IPython"] = fake
    handle = badpix_inspector.tune(association, flagfrac_upper=0.005)
    assert isinstance(handle, badpix_inspector.TuneHandle) and not handle.closed
    QTimer.singleShot(0, act)
    pars = handle.result(timeout=120)
else:
    raise SystemExit(f"unknown mode {mode}")
if sys.argv[3:] == ["again"]:
    # Tune again, from the dict as it came back; the person closes the window at once.
    QTimer.singleShot(0, lambda: when(lambda: settled(9), quit_window))
    assert badpix_inspector.tune(association, **pars) == pars
print(json.dumps({"parameters": pars, "shown": shown}))
