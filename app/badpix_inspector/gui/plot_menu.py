"""A short right-click menu of our own for every plot, in place of pyqtgraph's raw one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pyqtgraph as pg
from PyQt6.QtCore import QBuffer, QIODevice, QPoint, QPointF
from PyQt6.QtGui import QPixmap
from PyQt6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from ..io import InputError, write_file

__all__ = ["MenuViewBox", "png_bytes", "save_widget_png"]


def png_bytes(picture: QPixmap) -> bytes:
    """Encode a grabbed picture as PNG, so that it is written through the output guard."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not picture.save(buffer, "PNG"):
        raise InputError(None, "the picture could not be encoded as PNG", "try again")
    return bytes(buffer.data())


def save_widget_png(widget: QWidget, title: str, default_name: str,
                    inputs: Iterable[str | Path] = ()) -> Path | None:
    """Ask for a PNG path and save ``widget`` as it is drawn; return the path, or None.

    Written through the output guard: never over one of ``inputs`` (the files open), and
    a refusal is said in one line.
    """
    path, _ = QFileDialog.getSaveFileName(widget, title, default_name, "PNG (*.png)")
    if not path:
        return None
    if not path.lower().endswith(".png"):
        path += ".png"
    try:
        return write_file(path, png_bytes(widget.grab()), inputs)
    except InputError as error:
        QMessageBox.critical(widget, "Cannot save the PNG", str(error))
        return None


class MenuViewBox(pg.ViewBox):
    """A view whose right click opens a menu built by ``fill_menu(menu, place)``.

    pyqtgraph's own menu (axes, mouse mode, export dialog, plot options) is more than a
    reducer needs and names nothing of ours. ``place`` is the clicked point in data
    coordinates. The menu last opened stays in `menu` (tests find it there).
    """

    def __init__(self, fill_menu: Callable[[QMenu, QPointF], None] | None = None,
                 **options) -> None:
        super().__init__(**options)
        self.fill_menu = fill_menu
        self.menu: QMenu | None = None

    def raiseContextMenu(self, event) -> None:
        """Open our menu at the click (replaces pyqtgraph's menu and its parents' entries)."""
        if self.fill_menu is None:
            return
        if self.menu is not None:
            self.menu.close()
            self.menu.deleteLater()
        views = self.scene().views() if self.scene() is not None else []
        self.menu = QMenu(views[0] if views else None)  # owned by the plot's widget
        self.fill_menu(self.menu, self.mapSceneToView(event.scenePos()))
        screen = event.screenPos()
        self.menu.popup(QPoint(int(screen.x()), int(screen.y())))
