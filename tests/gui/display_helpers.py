"""Mouse gestures for the display tests, sent as Qt events to a widget as a person's mouse does."""

import sys

import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent, QWheelEvent
from PyQt6.QtWidgets import QApplication

LEFT = Qt.MouseButton.LeftButton
RIGHT = Qt.MouseButton.RightButton
NONE = Qt.MouseButton.NoButton


def _send(kind, widget, position, button, buttons):
    position = QPointF(position)
    event = QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def press(widget, position, button=LEFT):
    """Press ``button`` at ``position`` (widget pixels)."""
    _send(QEvent.Type.MouseButtonPress, widget, position, button, button)


def move(widget, position, buttons=NONE):
    """Move the mouse to ``position`` with ``buttons`` held."""
    _send(QEvent.Type.MouseMove, widget, position, NONE, buttons)


def release(widget, position, button=LEFT):
    """Let go of ``button`` at ``position``."""
    _send(QEvent.Type.MouseButtonRelease, widget, position, button, NONE)


def click(widget, position, button=LEFT):
    """Press and release without moving."""
    move(widget, position)
    press(widget, position, button)
    release(widget, position, button)


def wheel(widget, position, steps):
    """Turn the wheel by ``steps`` notches (positive: away from the user, zoom in)."""
    position = QPointF(position)
    event = QWheelEvent(position, widget.mapToGlobal(position), QPoint(0, 0),
                        QPoint(0, 120 * steps), NONE, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def view_to_widget(plot_widget, view_box, x, y):
    """Return the viewport pixel of data point (x, y) in ``view_box`` of ``plot_widget``."""
    scene = view_box.mapViewToScene(QPointF(x, y))
    return QPointF(plot_widget.mapFromScene(scene))


def widget_to_view(plot_widget, view_box, position):
    """Return the data point under viewport pixel ``position``."""
    point = view_box.mapSceneToView(plot_widget.mapToScene(QPoint(int(position.x()),
                                                                   int(position.y()))))
    return point.x(), point.y()


@pytest.fixture
def exceptions(monkeypatch):
    """Record exceptions that reach ``sys.excepthook`` (a slot that raised); assert none."""
    caught = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: caught.append(info))
    yield caught
    assert not caught, [str(info[1]) for info in caught]


