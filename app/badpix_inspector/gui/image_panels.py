"""The four linked image panels: combined, median-filtered, difference and science.

Coordinate convention: everything `ImageGrid` receives or emits is numpy's, 0-based
(row, column) = (y, x); text for people is formatted by the window, which says so.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QGridLayout, QWidget

from ..core.pixelsets import LabelLayers
from ..io import InputError
from ..session import (
    LABEL_ALREADY_BAD,
    LABEL_FORCED_BAD,
    LABEL_FORCED_GOOD,
    LABEL_HIGH,
    LABEL_LOW,
    SessionResult,
)
from .image_panel import COLORMAPS, TOOLS, EditViewBox, ImagePanel, next_gesture
from .inspector_panel import exposure_labels
from .overlay_modes import DECIDE_COLOURS, OVERLAY_MODES, labels_for
from .scaling import DisplayCache
from .throttle import Throttle

__all__ = [
    "COLORMAPS", "FLAG_COLOURS", "PANELS", "TOOLS", "EditViewBox", "ImageGrid", "ImagePanel",
    "overlay_lut",
]

#: Panel key and title.
PANELS = (
    ("combined", "Combined background (minimum)"),
    ("smoothed", "Median-filtered"),
    ("difference", "Difference (combined − smoothed)"),
    ("science", "Science exposure"),
)
#: Overlay colours (RGB) and legend text, by label value.
FLAG_COLOURS = {
    LABEL_LOW: ((40, 150, 255), "flagged low"),
    LABEL_HIGH: ((255, 50, 40), "flagged high"),
    LABEL_ALREADY_BAD: ((255, 215, 0), "already DO_NOT_USE"),
    LABEL_FORCED_BAD: ((230, 0, 230), "forced bad by hand"),
    LABEL_FORCED_GOOD: ((0, 230, 120), "forced good by hand"),
}
_FIT_PADDING = 0.01


def overlay_lut() -> np.ndarray:
    """Return the 256-entry RGBA lookup table that colours the overlay's label image."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    for label, (rgb, _) in (*FLAG_COLOURS.items(), *DECIDE_COLOURS.items()):
        lut[label] = (*rgb, 255)
    return lut


class ImageGrid(QWidget):
    """The four panels in a 2x2 grid, with one pan/zoom and one crosshair.

    Coordinates are numpy's, 0-based: x is the column, y the row. Escape leaves blink
    while the grid (or a panel in it) has the focus.

    Signals
    -------
    hovered(int, int)
        The pixel (column, row) under the cursor, in any panel.
    pixel_clicked(int, int)
        A pixel (row, column) clicked with the inspect tool.
    edit_requested(object, object, int, object)
        Pixels (rows, columns) to edit with value 1 (bad) or -1 (good), and the gesture.
    blink_changed(str)
        The frame blink went to (its name), or "" when blink stopped.
    blink_failed(str)
        A blink frame could not be read as it was (the message).
    colormap_changed(str, bool)
        The colour map and its inversion, when chosen in a panel's menu or set.
    """

    hovered = pyqtSignal(int, int)
    pixel_clicked = pyqtSignal(int, int)
    edit_requested = pyqtSignal(object, object, int, object)
    blink_changed = pyqtSignal(str)
    blink_failed = pyqtSignal(str)
    _frame_read = pyqtSignal(int, object, str)  # from the thread that read a blink frame
    colormap_changed = pyqtSignal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = "inspect"
        self.brush_radius = 1
        self._stroke: tuple[int, int, int] | None = None  # gesture, row, column
        #: Returns the files open (set by the window): a PNG never replaces one.
        self.inputs = lambda: ()
        #: Limits, colour indices and pooled labels, filled by the session's worker too.
        self.display = DisplayCache()
        self.panels = {key: ImagePanel(key, title, tool=lambda: self.tool,
                                       display=self.display, inputs=lambda: self.inputs())
                       for key, title in PANELS}
        layout = QGridLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(4)
        for number, panel in enumerate(self.panels.values()):
            layout.addWidget(panel, number // 2, number % 2)
            panel.cursor_moved.connect(self._cursor_moved)
            panel.clicked.connect(self._clicked)
            panel.rectangle.connect(self._rectangle)
            panel.fit_requested.connect(self.reset_view)
            panel.colormap_chosen.connect(lambda name: self.set_colormap(name))
            panel.inverted_chosen.connect(self.set_colormap_inverted)
        # Equal shares whatever the panels hold: a column never widens for a title.
        for index in (0, 1):
            layout.setColumnStretch(index, 1)
            layout.setRowStretch(index, 1)
        #: (name, a function returning the image, whether it is in memory): exposures
        #: other than the science one are read from their files (`Exposure.read_sci`).
        self.blink_frames: list[tuple[str, Callable[[], np.ndarray], bool]] = []
        self._blink_request = 0
        self._frame_read.connect(self._show_frame)
        self.blink_index = 0
        self.blinking = False
        first = self.panels["combined"].plot.getViewBox()
        for panel in list(self.panels.values())[1:]:
            panel.plot.getViewBox().setXLink(first)
            panel.plot.getViewBox().setYLink(first)
        self._lut = overlay_lut()
        self._shape: tuple[int, ...] | None = None
        self._labels: LabelLayers | None = None
        self._pooling = 0
        #: What the overlay shows (`OVERLAY_MODES`): the flags, the comparison with A, or
        #: the suspect flags.
        self.overlay_mode = "flags"
        #: The result last drawn (results are drawn a turn of the event loop late).
        self.shown: SessionResult | None = None
        self._zoom = Throttle(50, self._update_overlay, self)
        first.sigRangeChanged.connect(lambda *_: self._zoom())
        self._refit = Throttle(0, self._refit_if_whole, self)
        first.sigResized.connect(lambda *_: self._refit())
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.stop_blink)
        self.escape_shortcut = escape

    @property
    def view(self):
        """The (linked) view box of the first panel: one pan/zoom for all four."""
        return self.panels["combined"].plot.getViewBox()

    @staticmethod
    def _images(result: SessionResult) -> dict:
        return {
            "combined": result.combined, "smoothed": result.smoothed,
            "difference": result.difference, "science": result.science,
        }  # fmt: skip

    def prepare(self, result: SessionResult) -> None:
        """Make what the panels will draw for ``result``: limits, colour indices, labels.

        Called by the session on its worker thread for each result before it is
        delivered (`Session.prepare`): it touches no Qt object, only `display`, so the
        GUI thread then only hands ready arrays to Qt.
        """
        # The labels of the overlay mode in force (a mode changed meanwhile pools its own
        # labels on the GUI thread, a couple of milliseconds).
        self.display.prepare(self._images(result), labels_for(result, self.overlay_mode))

    def show_result(self, result: SessionResult) -> None:
        """Show a session result: the images that changed, and the flags."""
        for key, data in self._images(result).items():
            self.panels[key].set_data(data)
        shape = None if result.science is None else result.science.shape
        if shape != self._shape:
            self._shape = shape
            self.reset_view()
        self._labels = labels_for(result, self.overlay_mode)
        self._update_overlay(force=True)
        self.blink_frames = []
        if result.science is not None:
            # Named by what tells the files apart ("…00003_nrs1 (selfcal)"): a panel's
            # title is too narrow for whole JWST file names, which differ in the middle.
            names = exposure_labels([entry.name for entry in result.used],
                                    [entry.role for entry in result.used])
            self.blink_frames = [(name, entry.exposure.read_sci, not entry.exposure.released)
                                 for name, entry in zip(names, result.used, strict=True)]
            if result.combined is not None:
                combined = result.combined
                self.blink_frames.append(("combined (minimum)", lambda: combined, True))
        self.blink_index = 0
        if self.blinking:
            self.blinking = False
            self.blink_changed.emit("")
        self.panels["science"].set_title()
        self.shown = result

    def show_picture(self, result: SessionResult) -> None:
        """Show another result's images and flags in place of the shown one's (limits stay).

        For swapping to a pinned reference A and back, like blink: the scale does not
        change under the eye, and `shown` stays the result last drawn.
        """
        for key, panel in self.panels.items():
            panel.set_data(getattr(result, key), rescale=False)
        self._labels = labels_for(result, self.overlay_mode)
        self._update_overlay(force=True)

    def set_stale(self, stale: bool) -> None:
        """Say on every panel whether its image belongs to settings that failed."""
        for panel in self.panels.values():
            panel.set_stale(stale)

    def set_overlay_mode(self, mode: str) -> None:
        """Show the flags, the comparison with A or the suspect flags (`OVERLAY_MODES`)."""
        if mode not in dict(OVERLAY_MODES):
            raise ValueError(f"overlay mode must be one of {list(dict(OVERLAY_MODES))}")
        self.overlay_mode = mode
        if self.shown is not None:
            self._labels = labels_for(self.shown, mode)
            self._update_overlay(force=True)

    def disconnect_signals(self) -> None:
        """Drop pending throttled updates (the window is closing)."""
        self._zoom.stop()
        self._refit.stop()
        for panel in self.panels.values():
            panel.disconnect_signals()

    # -- blink ---------------------------------------------------------------------------

    def blink(self, step: int) -> str | None:
        """Step the science panel through the exposures and the combined image.

        The limits stay (the scale must not change under the eye), and so do the layout
        and the zoom. Returns the name of the frame shown (None when there is nothing to
        blink). An exposure not kept in memory is read from its file on another thread
        (a compressed 2048x2048 image takes a quarter of a second): the title says so
        meanwhile, and the frame shows when it is read, unless another step came first.
        A file that can no longer be read as it was is said through `blink_failed`.
        """
        if not self.blink_frames:
            return None
        self.blink_index = (self.blink_index + step) % len(self.blink_frames)
        name, read, in_memory = self.blink_frames[self.blink_index]
        self._blink_request += 1
        title = (f"{name} — blink {self.blink_index + 1}/{len(self.blink_frames)} "
                 "(Esc stops)")
        self.blinking = True
        if in_memory:
            self._show_frame(self._blink_request, read(), title)
        else:
            self.panels["science"].set_title(f"{title} — reading…")
            request = self._blink_request

            def read_aside() -> None:
                try:
                    frame = read()
                except InputError as error:
                    frame = error
                with contextlib.suppress(RuntimeError):  # the window went meanwhile
                    self._frame_read.emit(request, frame, title)

            threading.Thread(target=read_aside, name="badpix-blink", daemon=True).start()
        self.blink_changed.emit(name)
        return name

    def _show_frame(self, request: int, frame, title: str) -> None:
        if request != self._blink_request or not self.blinking:
            return  # another step, or Escape, came first
        panel = self.panels["science"]
        if isinstance(frame, InputError):
            panel.set_title(f"{title}: not shown, {frame.problem}")
            self.blink_failed.emit(str(frame))
            return
        panel.set_data(frame, rescale=False)
        panel.set_title(title)

    def stop_blink(self) -> bool:
        """Show the science exposure again; return True when blink was on."""
        if not self.blinking:
            return False
        self.blinking = False
        self.blink_index = 0
        panel = self.panels["science"]
        if self.shown is not None:
            panel.set_data(self.shown.science, rescale=False)
        panel.set_title()
        self.blink_changed.emit("")
        return True

    # -- editing and selection -----------------------------------------------------------

    def show_selection(self, place: tuple[int, int] | None) -> None:
        """Mark the selected pixel (row, column) on every panel."""
        for panel in self.panels.values():
            panel.show_selection(place)

    def set_markers(self, points) -> None:
        """Draw markers on every panel: ``points`` holds (row, column, label), 0-based."""
        points = list(points)
        for panel in self.panels.values():
            panel.set_markers(points)

    def brush_footprint(self, row: int, column: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the pixels a brush of `brush_radius` covers around (row, column)."""
        radius = self.brush_radius
        offsets = np.arange(-radius, radius + 1)
        rows, columns = np.meshgrid(offsets, offsets, indexing="ij")
        inside = rows**2 + columns**2 <= radius**2 + radius  # a disc, not a diamond
        return rows[inside] + row, columns[inside] + column

    def _clicked(self, x: float, y: float, gesture: int) -> None:
        row, column = int(np.floor(y)), int(np.floor(x))
        value, shape = TOOLS[self.tool]
        if value is None:
            self.pixel_clicked.emit(row, column)
        elif shape == "brush":
            # A stroke paints the whole way between the mouse events it is made of (a fast
            # drag reports points tens of pixels apart), not only where they landed.
            start = self._stroke[1:] if self._stroke and self._stroke[0] == gesture else None
            self._stroke = (gesture, row, column)
            steps = 0 if start is None else max(abs(row - start[0]), abs(column - start[1]))
            along = np.linspace(0.0, 1.0, steps + 1)
            centres = (np.rint(np.array([row, column]) if start is None else
                               np.outer(1 - along, start) + np.outer(along, (row, column)))
                       .astype(int).reshape(-1, 2))
            footprints = [self.brush_footprint(r, c) for r, c in centres]
            rows = np.concatenate([f[0] for f in footprints])
            columns = np.concatenate([f[1] for f in footprints])
            self.edit_requested.emit(rows, columns, value, gesture)
        else:
            self.edit_requested.emit(np.array([row]), np.array([column]), value, gesture)

    def _rectangle(self, x0: float, y0: float, x1: float, y1: float) -> None:
        value, _ = TOOLS[self.tool]
        first_row, last_row = sorted((int(np.floor(y0)), int(np.floor(y1))))
        first_column, last_column = sorted((int(np.floor(x0)), int(np.floor(x1))))
        rows, columns = np.mgrid[first_row:last_row + 1, first_column:last_column + 1]
        self.edit_requested.emit(rows.ravel(), columns.ravel(), value, next_gesture())

    # -- view ----------------------------------------------------------------------------

    def _pooling_factor(self) -> int:
        """Return the data pixels per screen pixel (at least 1) in the linked view."""
        size = self.view.viewPixelSize()
        return max(1, int(np.floor(max(size))))

    def _update_overlay(self, force: bool = False) -> None:
        factor = self._pooling_factor()
        if not force and factor == self._pooling:
            return
        self._pooling = factor
        self.display.pooling = factor  # the worker pools the next results' labels so
        labels = None if self._labels is None else self._labels.pooled(factor)
        shape = None
        if labels is not None:
            shape = (labels.shape[0] * factor, labels.shape[1] * factor)
        for panel in self.panels.values():
            panel.set_labels(labels, self._lut, shape)

    def reset_view(self) -> None:
        """Zoom to the whole detector."""
        if self._shape is None:
            return
        rows, columns = self._shape
        self.view.setRange(xRange=(0, columns), yRange=(0, rows), padding=_FIT_PADDING)

    def set_view(self, x_range, y_range) -> None:
        """Show data x (columns) in ``x_range`` and y (rows) in ``y_range`` (a saved zoom)."""
        self.view.setRange(xRange=tuple(x_range), yRange=tuple(y_range), padding=0)

    def view_ranges(self) -> tuple[list[float], list[float]]:
        """Return the x (column) and y (row) ranges shown."""
        x_range, y_range = self.view.viewRange()
        return list(x_range), list(y_range)

    def shows_whole_detector(self) -> bool:
        """Return True when the view contains the whole detector (nothing is cut off)."""
        if self._shape is None:
            return False
        rows, columns = self._shape
        (x0, x1), (y0, y1) = self.view.viewRange()
        return x0 <= 0 and x1 >= columns and y0 <= 0 and y1 >= rows

    def _refit_if_whole(self) -> None:
        # A window made larger keeps the old scale with room around the detector: fit it
        # again, unless the user had zoomed in (then the view stays where it was).
        if self.shows_whole_detector():
            self.reset_view()

    def set_colormap(self, name: str, inverted: bool | None = None) -> None:
        """Use one colour map on every panel (``inverted`` None keeps the inversion)."""
        if name not in COLORMAPS:
            raise ValueError(f"colour map must be one of {list(COLORMAPS)}, not {name!r}")
        for panel in self.panels.values():
            panel.set_colormap(name, inverted)
        self.colormap_changed.emit(name, self.panels["combined"].inverted)

    def set_colormap_inverted(self, inverted: bool) -> None:
        """Invert (or not) the colour map of every panel."""
        self.set_colormap(self.panels["combined"].colormap, inverted)

    def display_state(self) -> dict:
        """Return the colour map, its inversion and each panel's limits and stretch."""
        name, inverted = self.colormap()
        return {"colormap": name, "inverted": inverted,
                "panels": {key: panel.display_state() for key, panel in self.panels.items()}}

    def set_display_state(self, state: dict) -> None:
        """Restore what `display_state` returned (older or partial states are fine)."""
        name = state.get("colormap")
        if name in COLORMAPS:
            self.set_colormap(name, bool(state.get("inverted", False)))
        for key, panel_state in (state.get("panels") or {}).items():
            if key in self.panels and isinstance(panel_state, dict):
                self.panels[key].set_display_state(panel_state)

    def colormap(self) -> tuple[str, bool]:
        """Return the colour map's name and whether it is inverted."""
        panel = self.panels["combined"]
        return panel.colormap, panel.inverted

    def set_overlay_visible(self, visible: bool) -> None:
        """Show or hide the flags on every panel."""
        for panel in self.panels.values():
            panel.overlay.setVisible(visible)

    def set_overlay_opacity(self, opacity: float) -> None:
        """Set the flags' opacity (0 to 1) on every panel."""
        for panel in self.panels.values():
            panel.overlay.setOpacity(opacity)

    def _cursor_moved(self, x: float, y: float) -> None:
        column, row = int(np.floor(x)), int(np.floor(y))
        for panel in self.panels.values():
            panel.move_crosshair(column, row)
        self.hovered.emit(column, row)
