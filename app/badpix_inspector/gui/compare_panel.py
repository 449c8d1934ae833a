"""Deciding the parameters: compare with a pinned A, suspect flags, the overlay's mode.

`DecidePanel` sits in the Flags dock: the overlay mode, A's parameters and the counts of
flags gained, lost and kept against A, the suspect flags with the rule's two numbers. The
numbers come with each result, computed on the session's worker (`core.decide.decide`);
the panel only shows them. `DecideCommands` holds what the actions run (pin, swap,
restore, overlay mode, unflag suspect): no argument a person cannot give.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PyQt6.QtCore import QSignalBlocker, Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import SuspectRule
from ..core.decide import DECIDE_LABELS, SUSPECT_LEVEL
from ..core.statistics import count_edge_flags
from ..model import ReferenceModel
from ..session import Session, SessionResult
from .image_panel import next_gesture
from .overlay_modes import DECIDE_COLOURS, OVERLAY_MODES

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["DecideCommands", "DecidePanel"]

log = logging.getLogger(__name__)

_SUSPECT_RULE_TIP = (
    "A flag is suspect (probably a spectral line common to all exposures, not a bad pixel) "
    "when at least min fraction of its neighbours across the dispersion direction (up to "
    "half-width on each side, same slice: the walk stops at a NaN gap) are raised with the "
    f"same sign beyond {SUSPECT_LEVEL:g} x the threshold on its side.")


def _swatch(rgb: tuple[int, int, int], text: str) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(3)
    box = QLabel()
    box.setFixedSize(12, 12)
    box.setStyleSheet(f"background: rgb{rgb}; border: 1px solid #222;")
    layout.addWidget(box, 0, Qt.AlignmentFlag.AlignVCenter)
    layout.addWidget(QLabel(text))
    return holder


class DecidePanel(QWidget):
    """Overlay mode, compare with A (counts), suspect flags (count and rule)."""

    def __init__(self, session: Session, reference: ReferenceModel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.reference = reference
        self.overlay_mode = QComboBox(objectName="overlay_mode")
        for key, text in OVERLAY_MODES:
            self.overlay_mode.addItem(text, key)
        self.overlay_mode.setToolTip("What the overlay shows (Ctrl+1, Ctrl+2, Ctrl+3)")

        compare = QGroupBox("Compare with A", objectName="compare_box")
        self.reference_text = QLabel("No A pinned: press P to pin the current flags.",
                                     objectName="reference_parameters", wordWrap=True)
        self.counts = {key: QLabel("–", objectName=f"compare_{key}")
                       for key in ("gained", "lost", "kept")}
        self.pin_button = QPushButton("Pin as A (P)", objectName="pin_reference")
        self.restore_button = QPushButton("Restore A", objectName="restore_reference")
        self.showing = QLabel("", objectName="showing_reference", wordWrap=True)
        self.showing.setVisible(False)
        # The counts carry the overlay's colours: they are the compare mode's legend.
        counts = QHBoxLayout()
        counts.setSpacing(6)
        tips = {"gained": "flagged now, not in A", "lost": "flagged in A, not now",
                "kept": "flagged in A and now"}
        for name, label in self.counts.items():
            rgb = DECIDE_COLOURS[DECIDE_LABELS[name]][0]
            counts.addWidget(_swatch(rgb, name))
            label.setToolTip(tips[name])
            counts.addWidget(label)
        counts.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.pin_button)
        buttons.addWidget(self.restore_button)
        box = QVBoxLayout(compare)
        box.setContentsMargins(4, 2, 4, 2)
        box.setSpacing(2)
        box.addWidget(self.reference_text)
        box.addLayout(counts)
        box.addWidget(self.showing)
        box.addLayout(buttons)

        suspect = QGroupBox("Suspect flags (probably lines)", objectName="suspect_box")
        suspect.setToolTip(_SUSPECT_RULE_TIP)
        self.suspect_count = QLabel("–", objectName="suspect_count")
        self.suspect_count.setWordWrap(True)  # a narrow dock wraps it rather than widen
        self.half_width = QSpinBox(objectName="suspect_half_width")
        self.half_width.setRange(1, 20)
        self.half_width.setToolTip("Neighbours looked at on each side, across the dispersion")
        self.min_fraction = QDoubleSpinBox(objectName="suspect_min_fraction")
        self.min_fraction.setRange(0.05, 1.0)
        self.min_fraction.setSingleStep(0.05)
        self.min_fraction.setDecimals(2)
        self.min_fraction.setToolTip("Fraction of the neighbours reached that must be raised")
        self.min_fraction.setKeyboardTracking(False)
        self.half_width.setKeyboardTracking(False)
        self.unflag_button = QPushButton("Unflag suspect", objectName="unflag_suspect")
        count = QHBoxLayout()
        count.addWidget(_swatch(DECIDE_COLOURS[DECIDE_LABELS["suspect"]][0], "suspect"))
        count.addWidget(self.suspect_count, 1)
        count.addWidget(self.unflag_button)
        rule = QHBoxLayout()
        rule.addWidget(QLabel("rule: ±"))
        rule.addWidget(self.half_width)
        rule.addWidget(QLabel("px across, ≥"))
        rule.addWidget(self.min_fraction)
        rule.addWidget(QLabel("raised"))
        rule.addStretch(1)
        inner = QVBoxLayout(suspect)
        inner.setContentsMargins(4, 2, 4, 2)
        inner.setSpacing(2)
        inner.addLayout(count)
        inner.addLayout(rule)

        row = QHBoxLayout()
        row.addWidget(QLabel("overlay"))
        row.addWidget(self.overlay_mode, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(row)
        layout.addWidget(compare)
        layout.addWidget(suspect)

        self.set_rule(session.suspect_rule)
        self.half_width.valueChanged.connect(self._rule_changed)
        self.min_fraction.valueChanged.connect(self._rule_changed)
        session.result_ready.connect(self.show_result)
        reference.changed.connect(self.show_reference)
        self.show_reference()

    def disconnect_model(self) -> None:
        """Stop observing the session and A (the window is closing)."""
        self.session.result_ready.disconnect(self.show_result)
        self.reference.changed.disconnect(self.show_reference)

    def set_rule(self, rule: SuspectRule) -> None:
        """Show the suspect rule's numbers, without echoing them back to the session."""
        blockers = [QSignalBlocker(self.half_width), QSignalBlocker(self.min_fraction)]
        self.half_width.setValue(int(rule.half_width))
        self.min_fraction.setValue(rule.min_fraction)
        del blockers

    def _rule_changed(self, _value=None) -> None:
        self.session.set_suspect_rule(SuspectRule(self.half_width.value(),
                                                  round(self.min_fraction.value(), 2)))

    def show_reference(self) -> None:
        """Show A's parameters (or how to pin one)."""
        reference = self.reference.reference
        self.restore_button.setEnabled(reference is not None)
        if reference is None:
            self.reference_text.setText("No A pinned: press P to pin the current flags.")
            for label in self.counts.values():
                label.setText("–")
            return
        self.reference_text.setText(f"A: {reference.describe()}; {reference.n_flagged:,} "
                                    "flagged in the end")

    def show_result(self, result: SessionResult) -> None:
        """Show a result's comparison and suspect counts (computed on the worker)."""
        decisions = result.decisions
        comparison = None if decisions is None else decisions.comparison
        for key, label in self.counts.items():
            label.setText("–" if comparison is None
                          else f"{getattr(comparison, f'n_{key}'):,}")
        if decisions is None:
            self.suspect_count.setText("–")
            self.unflag_button.setEnabled(False)
            return
        flagged = result.statistics.n_final if result.statistics else 0
        if result.dispaxis is None:  # a square window: no direction to look across
            self.suspect_count.setText("none: a square window has no dispersion direction")
        else:
            # Flags where the zero padding biases the filter are raised across the slice
            # too: they sit on the detector's edge, where they are easily missed.
            edge = count_edge_flags(decisions.suspect_pixels,
                                    result.parameters.kernel_size // 2, result.dispaxis)
            where = f", {edge:,} at the edge" if edge else ""
            self.suspect_count.setText(f"{decisions.n_suspect:,} of {flagged:,} flags{where}")
        self.unflag_button.setEnabled(decisions.n_suspect > 0)


class DecideCommands:
    """What the compare, overlay and suspect actions do, for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.session = window.session
        self.reference = ReferenceModel(window.session)
        #: True while the images show A's picture (X swaps); a new result shows now again.
        self.showing_reference = False
        self.session.result_ready.connect(self._new_result)
        self.reference.changed.connect(self._reference_changed)

    def _reference_changed(self) -> None:
        # A's thresholds beside the current ones in the histogram (dashed), or none.
        reference = self.reference.reference
        self.window.histogram.show_reference(None if reference is None
                                             else reference.thresholds)

    def _say(self, text: str, timeout: int = 8000) -> None:
        self.window.statusBar().showMessage(text, timeout)

    def pin_reference(self) -> None:
        """Keep the current final flags and parameters as A (P).

        A is the newest result with the parameters that gave it, so flags and parameters
        always belong together (during a drag, the result a moment behind the slider).
        """
        reference = self.reference.pin()
        if reference is None:
            self._say("Nothing to pin yet: open exposures first.")
            return
        self.showing_reference = False
        self._say(f"Pinned A ({reference.n_flagged:,} flags): Ctrl+2 shows gains and losses, "
                  "X swaps A and now")

    def forget_reference(self) -> None:
        """Forget A (other data)."""
        self.reference.clear()
        self.showing_reference = False

    def swap_reference(self) -> None:
        """Show A's picture (images and flags), or now's again (X)."""
        reference = self.reference.reference
        if reference is None:
            self._say("No A to swap with: pin one first (P).")
            return
        grid = self.window.grid
        if not self.showing_reference:
            grid.show_picture(reference.result)
            self.showing_reference = True
            text = f"Showing A: {reference.describe()} (X shows now)"
            self.window.decide_panel.showing.setText(text)
            self.window.decide_panel.showing.setVisible(True)
            self._say(text, 0)
        else:
            self._show_now()

    def _show_now(self) -> None:
        self.showing_reference = False
        self.window.decide_panel.showing.setVisible(False)
        if self.window.grid.shown is not None:
            self.window.grid.show_picture(self.window.grid.shown)
        self._say("Showing now (X shows A)", 4000)

    def _new_result(self, _result: SessionResult) -> None:
        if self.showing_reference:  # the window draws the new result: that is "now"
            self.showing_reference = False
            self.window.decide_panel.showing.setVisible(False)

    def restore_reference(self) -> None:
        """Put A's parameters back (and say so)."""
        reference = self.reference.restore()
        if reference is None:
            self._say("No A to restore: pin one first (P).")
            return
        self._say(f"Restored A's parameters: {reference.describe()}", 10_000)

    def set_overlay_mode(self, mode: str) -> None:
        """Show the flags, the comparison with A or the suspect flags on the images."""
        self.window.grid.set_overlay_mode(mode)
        if self.showing_reference:  # A's picture stays, in the new mode
            self.window.grid.show_picture(self.reference.reference.result)
        combo = self.window.decide_panel.overlay_mode
        blocker = QSignalBlocker(combo)
        combo.setCurrentIndex(combo.findData(mode))
        del blocker
        self.window.named_actions[f"overlay_{mode}"].setChecked(True)
        # The flags' legend in the flags mode; the other modes' colours are on their counts.
        self.window.statistics.legend.setVisible(mode == "flags")
        if mode == "compare" and self.reference.reference is None:
            self._say("No A pinned: the overlay shows the flags until you pin one (P).")

    def unflag_suspect(self) -> int:
        """Force the suspect flags good (one undoable edit); return how many."""
        result = self.session.result
        decisions = None if result is None else result.decisions
        if decisions is None or decisions.n_suspect == 0:
            self._say("No suspect flags to unflag.")
            return 0
        rows, columns = decisions.suspect_pixels.rows_columns()
        changed = self.session.edit_pixels(rows, columns, -1, next_gesture())
        # The button greys out now: Qt would hand the focus to the rule's spin box, which
        # keeps Ctrl+Z for its own text. The images take it, so Ctrl+Z undoes the edit.
        self.window.grid.setFocus()
        self._say(f"Forced {changed:,} suspect flags good (Ctrl+Z undoes it)", 10_000)
        return changed
