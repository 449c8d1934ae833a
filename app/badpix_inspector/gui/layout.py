"""The window's docks and what is remembered between runs (geometry, docks, display).

`build_docks` places the panels; `default_dock_sizes` gives them the sizes of a first
start (and of View ▸ Reset layout); minimum sizes keep a squeezed window from leaving
docks too narrow to use, even when such a layout was remembered.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["build_docks", "default_dock_sizes", "restore_settings", "save_settings"]

#: Dock sizes at the first start and after View ▸ Reset layout (pixels).
DOCK_WIDTH, DOCK_HEIGHT = 370, 220
#: Below these the docks' forms stop being usable (they then scroll instead).
MIN_DOCK_WIDTH, MIN_DOCK_HEIGHT = 240, 120


def _dock(window: MainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea,
          scroll: bool = False) -> QDockWidget:
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock_{title.lower()}")
    if scroll:  # a form that may be taller than its share of a small screen
        holder = QScrollArea()
        holder.setWidgetResizable(True)
        holder.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setWidget(widget)
        widget = holder
    dock.setWidget(widget)
    window.addDockWidget(area, dock)
    return dock


def build_docks(window: MainWindow) -> dict[str, QDockWidget]:
    """Put the window's panels in docks; return them by name."""
    area = Qt.DockWidgetArea
    docks = {
        "exposures": _dock(window, "Exposures", window.exposures, area.BottomDockWidgetArea),
        "parameters": _dock(window, "Parameters", window.parameters, area.RightDockWidgetArea,
                            scroll=True),
        "statistics": _dock(window, "Flags", window.statistics, area.RightDockWidgetArea,
                            scroll=True),
        "histogram": _dock(window, "Histogram", window.histogram, area.BottomDockWidgetArea),
        "inspector": _dock(window, "Pixel inspector", window.inspector,
                           area.BottomDockWidgetArea),
        "markers": _dock(window, "Markers", window.markers_panel, area.BottomDockWidgetArea),
    }
    window.splitDockWidget(docks["histogram"], docks["inspector"], Qt.Orientation.Horizontal)
    window.tabifyDockWidget(docks["inspector"], docks["exposures"])
    window.tabifyDockWidget(docks["exposures"], docks["markers"])
    docks["exposures"].raise_()
    for key in ("parameters", "statistics"):
        docks[key].setMinimumWidth(MIN_DOCK_WIDTH)
    for key in ("exposures", "histogram", "inspector", "markers"):
        docks[key].setMinimumHeight(MIN_DOCK_HEIGHT)
    # The parameters are the controls most used: never scrolled out of sight (force_single,
    # Pipeline defaults), the Flags dock below scrolls instead.
    title = docks["parameters"].style().pixelMetric(
        docks["parameters"].style().PixelMetric.PM_TitleBarHeight)
    docks["parameters"].setMinimumHeight(window.parameters.sizeHint().height() + title + 8)
    return docks


def default_dock_sizes(window: MainWindow) -> None:
    """Give the docks their first-start sizes."""
    docks = window.docks
    window.resizeDocks([docks["exposures"]], [DOCK_HEIGHT], Qt.Orientation.Vertical)
    window.resizeDocks([docks["parameters"], docks["statistics"]], [DOCK_WIDTH, DOCK_WIDTH],
                       Qt.Orientation.Horizontal)


def fit_to_screen(window: QWidget) -> None:
    """Keep the window within its screen's free area (a laptop, or a smaller monitor now).

    A first start asks for 1500x950, and a remembered geometry may come from a larger
    screen: either would put the docks and the status bar out of reach. Offscreen there is
    no screen to fit (a --screenshot takes the size it asks for).
    """
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None or QGuiApplication.platformName() in ("offscreen", "minimal"):
        return
    free = screen.availableGeometry()
    width, height = min(window.width(), free.width()), min(window.height(), free.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(window.x(), free.left()), free.right() - width + 1)
    y = min(max(window.y(), free.top()), free.bottom() - height + 1)
    if (x, y) != (window.x(), window.y()):
        window.move(x, y)


def restore_settings(window: MainWindow) -> None:
    """Bring back the geometry, docks, colour map, limits and stretches of the last run."""
    settings = window.settings
    geometry = settings.value("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    else:
        window.resize(1500, 950)
        default_dock_sizes(window)
    fit_to_screen(window)
    state = settings.value("window_state")
    if state is not None:
        window.restoreState(state)
    try:  # colour map, inversion, each panel's limits (manual ones too) and stretch
        display = json.loads(str(settings.value("display", "{}")))
    except ValueError:
        display = {}
    window.grid.set_display_state(display if isinstance(display, dict) else {})


def save_settings(window: MainWindow) -> None:
    """Remember geometry, docks, colour map, limits and stretches."""
    settings = window.settings
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("window_state", window.saveState())
    settings.setValue("display", json.dumps(window.grid.display_state()))
    settings.sync()
