"""Other tools: send to DS9 or Aladin over SAMP, load DS9 region files as markers or edits.

*File ▸ Send via SAMP* sends a panel or the final flag mask as a FITS image, or the
markers as a VOTable, to every application on the running SAMP hub that takes them
(`badpix_inspector.io.samp`). *File ▸ Import* reads a DS9 region file in image
coordinates (`badpix_inspector.io.regions`) as markers, or as hand edits (forced bad or
forced good, the region's DS9 tag deciding where it says, `default` elsewhere).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QFileDialog

from ..io import InputError
from ..io.regions import read_region_edits, read_region_markers
from ..io.samp import SampSender
from .image_panel import next_gesture
from .image_panels import PANELS

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["REGION_FILTERS", "Interop"]

log = logging.getLogger(__name__)

REGION_FILTERS = "DS9 regions (*.reg);;All files (*)"


class Interop:
    """SAMP sending and region-file import for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.session = window.session

    # -- SAMP ----------------------------------------------------------------------------

    def _send(self, what: str, send: Callable[[SampSender], list[str]]) -> list[str]:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            with SampSender() as sender:
                names = send(sender)
        except InputError as error:  # SampError: no hub, nobody takes it (one line)
            self.window.error("Cannot send via SAMP", str(error))
            return []
        finally:
            QApplication.restoreOverrideCursor()
        self.window.statusBar().showMessage(f"Sent {what} to {', '.join(names)}", 10_000)
        return names

    def _result(self, what: str):
        result = self.session.result
        if result is None or result.science is None:
            self.window.error(f"Cannot send the {what}", "Open exposures first.")
            return None
        return result

    def send_panel(self, key: str) -> list[str]:
        """Send one panel's image (as computed, not as coloured) as FITS.

        ``key`` is one of `PANELS`' keys.
        """
        if key not in dict(PANELS):
            raise ValueError(f"no panel {key!r}")
        result = self._result(f"{key} image")
        image = None if result is None else getattr(result, key)
        if image is None:
            if result is not None:
                self.window.error(f"Cannot send the {key} image", result.message)
            return []
        parameters = result.parameters
        header = {"KERNEL": parameters.kernel_size, "FLAGFRLO": parameters.flagfrac_lower,
                  "FLAGFRUP": parameters.flagfrac_upper}
        return self._send(f"the {key} image", lambda sender: sender.send_image(
            image, f"{key} - badpix-inspector", header))

    def send_mask(self) -> list[str]:
        """Send the final flags (1 flagged, hand edits included) as a FITS image."""
        result = self._result("flag mask")
        if result is None:
            return []
        if result.final is None:
            self.window.error("Cannot send the flag mask", result.message)
            return []
        return self._send("the flag mask", lambda sender: sender.send_image(
            result.final, "badpix_selfcal flags (final)",
            {"KERNEL": result.parameters.kernel_size}))

    def send_markers(self) -> list[str]:
        """Send the markers table as a VOTable (x, y numpy 0-based; x_image, y_image 1-based)."""
        records = self.window.markers.records
        if not records:
            self.window.error("Cannot send the markers", "There are no markers: press M "
                              "over a pixel to record one.")
            return []
        table = [{"x": record["column"], "y": record["row"],
                  **{key: value for key, value in record.items() if key not in ("row", "column")}}
                 for record in records]
        return self._send("the markers", lambda sender: sender.send_table(table, "markers"))

    # -- region files --------------------------------------------------------------------

    def _ask_region_file(self, title: str) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(self.window, title,
                                              self.window.files.last_folder(), REGION_FILTERS)
        return Path(path) if path else None

    def import_region_markers(self) -> int:
        """Ask for a DS9 region file and add a marker at each region; return how many."""
        result = self.session.result
        if result is None or result.science is None:
            self.window.error("Cannot import regions", "Open exposures first.")
            return 0
        path = self._ask_region_file("Import a DS9 region file as markers")
        if path is None:
            return 0
        try:
            found = read_region_markers(path)
        except InputError as error:
            self.window.error("Cannot import the regions", str(error))
            return 0
        added = sum(self.window.markers.add_pixel(result, marker["y"], marker["x"],
                                                  marker["note"]) is not None
                    for marker in found)  # fmt: skip
        outside = f" ({len(found) - added} outside the detector skipped)" if added < len(
            found) else ""
        self.window.statusBar().showMessage(
            f"{added} markers from {path.name}{outside}", 10_000)
        return added

    def import_region_edits(self, default: str) -> int:
        """Ask for a DS9 region file and force the pixels it covers; return how many changed.

        ``default`` ("forced_bad" or "forced_good") is what an untagged region becomes.
        """
        edits = self.session.edits
        if edits is None:
            self.window.error("Cannot import regions", "Open exposures first.")
            return 0
        kind = default.replace("_", " ")
        path = self._ask_region_file(f"Import a DS9 region file as edits ({kind})")
        if path is None:
            return 0
        try:
            lists = read_region_edits(path, edits.shape, default=default)
        except InputError as error:
            self.window.error("Cannot import the regions", str(error))
            return 0
        gesture = next_gesture()
        changed = 0
        for pixels, value in ((lists.forced_bad, 1), (lists.forced_good, -1)):
            pixels = np.asarray(pixels).reshape(-1, 2)
            if pixels.size:
                changed += self.session.edit_pixels(pixels[:, 0], pixels[:, 1], value, gesture)
        self.window.statusBar().showMessage(
            f"{len(lists.forced_bad):,} pixels forced bad, {len(lists.forced_good):,} forced "
            f"good from {path.name} (one Ctrl+Z undoes it)", 10_000)
        return changed
