"""Helpers shared by the window tests: a person's dialogs, keys and mouse drags."""

import sys
from pathlib import Path
from typing import ClassVar

from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication, QFileDialog, QMessageBox


def wait_for_result(qtbot, window, timeout=20_000):
    """Wait until the newest request's result is computed and drawn; return it."""
    qtbot.waitUntil(lambda: not window.session.busy and window.session.result is not None
                    and window.grid.shown is window.session.result, timeout=timeout)
    return window.session.result


class Dialogs:
    """Answer the static QFileDialog and QMessageBox calls as a person would.

    Queue answers in ``save_paths``, ``folders``, ``open_files``, ``open_file`` and
    ``buttons`` (names: "restore", "discard", "save", "cancel"); an empty queue answers
    Cancel. Error boxes are recorded in ``errors``, every question in ``asked``.
    """

    _BUTTONS: ClassVar[dict] = {"restore": QMessageBox.StandardButton.Yes,
                "discard": QMessageBox.StandardButton.Discard,
                "save": QMessageBox.StandardButton.Save,
                "cancel": QMessageBox.StandardButton.Cancel}

    def __init__(self, monkeypatch):
        self.save_paths, self.folders, self.open_files, self.open_file = [], [], [], []
        self.buttons, self.errors, self.asked, self.suggested = [], [], [], []
        self.texts = []
        patch = monkeypatch.setattr
        patch(QFileDialog, "getSaveFileName", staticmethod(self._save))
        patch(QFileDialog, "getExistingDirectory", staticmethod(self._folder))
        patch(QFileDialog, "getOpenFileNames", staticmethod(self._open_files))
        patch(QFileDialog, "getOpenFileName", staticmethod(self._open_file))
        patch(QMessageBox, "critical", staticmethod(self._critical))
        patch(QMessageBox, "warning", staticmethod(self._critical))
        patch(QMessageBox, "question", staticmethod(self._question))
        patch(QMessageBox, "about", staticmethod(lambda *args: None))
        patch(QMessageBox, "information", staticmethod(lambda *args: None))

    def _save(self, parent, title, suggested="", filters="", *args):
        self.suggested.append(suggested)
        if not self.save_paths:
            return "", ""
        answer = self.save_paths.pop(0)
        if Path(answer).is_dir():  # the person keeps the suggested name, in this folder
            answer = Path(answer) / Path(suggested).name
        return str(answer), ""

    def _folder(self, *args):
        return str(self.folders.pop(0)) if self.folders else ""

    def _open_files(self, *args):
        return ([str(p) for p in self.open_files.pop(0)], "") if self.open_files else ([], "")

    def _open_file(self, *args):
        return (str(self.open_file.pop(0)), "") if self.open_file else ("", "")

    def _critical(self, parent, title, text, *args):
        self.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    def _question(self, parent, title, text, *args):
        self.asked.append(title)
        self.texts.append(text)
        answer = self.buttons.pop(0) if self.buttons else "cancel"
        return self._BUTTONS[answer]


class ExceptHook:
    """Record exceptions raised in Qt slots (PyQt6 hands them to ``sys.excepthook``)."""

    def __init__(self, monkeypatch):
        self.errors = []
        monkeypatch.setattr(sys, "excepthook", self._hook)

    def _hook(self, kind, value, traceback):
        self.errors.append(f"{kind.__name__}: {value}")


def view_point(panel, x, y):
    """Return the widget position of data point (x, y) on an image panel's view."""
    view_box = panel.plot.getViewBox()
    scene = view_box.mapViewToScene(QPointF(x, y))
    return panel.graphics.mapFromScene(scene)


def _mouse(widget, kind, point, buttons, button=Qt.MouseButton.LeftButton):
    local = QPointF(point)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, panel, start, end, steps=8):
    """Drag with the left button on an image panel, from data (x, y) to data (x, y)."""
    viewport = panel.graphics.viewport()
    begin, finish = view_point(panel, *start), view_point(panel, *end)
    left = Qt.MouseButton.LeftButton
    _mouse(viewport, QEvent.Type.MouseButtonPress, begin, left)
    for step in range(1, steps + 1):
        point = begin + (finish - begin) * step / steps
        _mouse(viewport, QEvent.Type.MouseMove, QPoint(point), left, Qt.MouseButton.NoButton)
        qtbot.wait(5)
    _mouse(viewport, QEvent.Type.MouseButtonRelease, finish, Qt.MouseButton.NoButton, left)
    qtbot.wait(20)


def click(qtbot, panel, x, y):
    """Click with the left button on an image panel at data point (x, y)."""
    viewport = panel.graphics.viewport()
    point = view_point(panel, x, y)
    left = Qt.MouseButton.LeftButton
    _mouse(viewport, QEvent.Type.MouseButtonPress, point, left)
    _mouse(viewport, QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton, left)
    qtbot.wait(20)
