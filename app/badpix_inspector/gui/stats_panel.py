"""The statistics dock: flag counts, thresholds, legend and overlay controls."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..session import Session, SessionResult
from .image_panels import FLAG_COLOURS

__all__ = ["StatisticsPanel"]


def _swatch(rgb: tuple[int, int, int], text: str) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    box = QLabel()
    box.setFixedSize(14, 14)
    box.setStyleSheet(f"background: rgb{rgb}; border: 1px solid #222;")
    label = QLabel(text)
    label.setWordWrap(True)  # a narrow dock wraps the text instead of cutting it
    layout.setSpacing(4)
    layout.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
    layout.addWidget(label, 1)
    return holder


class StatisticsPanel(QWidget):
    """Counts and thresholds of the current flags, the legend, and the overlay controls.

    Signals
    -------
    overlay_visible(bool), overlay_opacity(float)
        The user toggled the flags or changed their opacity.
    """

    overlay_visible = pyqtSignal(bool)
    overlay_opacity = pyqtSignal(float)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flag_count = QLabel("–", objectName="flag_count")
        self.flag_count.setStyleSheet("font-weight: bold; font-size: 14pt;")
        self.values = {key: QLabel("–", objectName=f"stat_{key}") for key in (
            "low", "high", "fraction", "preflagged", "low_threshold", "high_threshold",
            "sigma", "edge", "manual", "final", "status")}
        for label in (*self.values.values(), self.flag_count):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in self.values.values():
            label.setWordWrap(True)
        self.values["status"].clear()  # a message line, not a number
        form = QFormLayout()
        form.setVerticalSpacing(2)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("flagged in total", self.flag_count)
        form.addRow("flagged low", self.values["low"])
        form.addRow("flagged high", self.values["high"])
        form.addRow("fraction of finite pixels", self.values["fraction"])
        form.addRow("already DO_NOT_USE", self.values["preflagged"])
        form.addRow("low threshold", self.values["low_threshold"])
        form.addRow("high threshold", self.values["high_threshold"])
        form.addRow("robust σ of difference", self.values["sigma"])
        form.addRow("flags near the edge", self.values["edge"])
        form.addRow("hand edits", self.values["manual"])
        form.addRow("flagged in the end", self.values["final"])
        self.values["final"].setToolTip("(algorithm or forced bad) and not forced good: "
                                        "what a saved product gets")
        self.values["edge"].setToolTip(
            "Flags within kernel_size // 2 of the detector edge along the filter window: the "
            "pipeline pads with zeros there, which biases the smoothed image low.")

        self.show_flags = QCheckBox("Show flags (F)", objectName="show_flags")
        self.show_flags.setChecked(True)
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="overlay_opacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(80)
        self.opacity.setToolTip("Opacity of the flags")
        # The legend in two columns: five entries in three short rows.
        legend = QGridLayout()
        legend.setContentsMargins(0, 4, 0, 4)
        legend.setVerticalSpacing(2)
        for number, (rgb, text) in enumerate(FLAG_COLOURS.values()):
            legend.addWidget(_swatch(rgb, text), number // 2, number % 2)
        legend.setColumnStretch(0, 1)
        legend.setColumnStretch(1, 1)
        self.legend = QWidget(objectName="flags_legend")  # hidden in the other overlay modes
        self.legend.setLayout(legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(3)
        layout.addLayout(form)
        layout.addWidget(self.values["status"])
        layout.addWidget(self.legend)
        controls = QHBoxLayout()
        controls.addWidget(self.show_flags)
        controls.addWidget(QLabel("opacity"))
        controls.addWidget(self.opacity, 1)
        layout.addLayout(controls)
        layout.addStretch(1)
        self.show_flags.toggled.connect(self.overlay_visible)
        self.opacity.valueChanged.connect(lambda value: self.overlay_opacity.emit(value / 100))
        session.result_ready.connect(self.show_result)
        session.failed.connect(self.show_failure)

    def show_failure(self, message: str) -> None:
        """Say that the figures shown belong to the settings before a failed computation."""
        self.values["status"].setText(f"⚠ Not up to date: {message}")
        self.values["status"].setStyleSheet("color: #d03030;")
        self.flag_count.setStyleSheet("font-weight: bold; font-size: 14pt; color: gray;")

    def show_result(self, result: SessionResult) -> None:
        """Show the counts and thresholds of a result."""
        stats = result.statistics
        self.values["status"].setStyleSheet("")
        self.flag_count.setStyleSheet("font-weight: bold; font-size: 14pt;")
        self.values["status"].setText("" if result.status == "complete" else result.message)
        if stats is None:
            self.flag_count.setText("–")
            for key, label in self.values.items():
                if key != "status":
                    label.setText("–")
            return
        sigma = stats.sigma
        self.flag_count.setText(f"{stats.n_total:,}")
        self.values["low"].setText(f"{stats.n_low:,}")
        self.values["high"].setText(f"{stats.n_high:,}")
        self.values["fraction"].setText(
            f"{stats.fraction:.5f} of {stats.n_finite:,}")
        self.values["preflagged"].setText(
            f"{stats.n_flagged_already_bad:,} flagged ({stats.n_already_bad:,} on detector)")
        for key, value in (("low_threshold", stats.thresholds.low),
                           ("high_threshold", stats.thresholds.high)):
            in_sigma = f" ({value / sigma:+.2f} σ)" if sigma and sigma == sigma else ""
            self.values[key].setText(f"{value:.5g}{in_sigma}")
        # NaN for a moment after a kernel change: the flags come first, σ a turn later.
        self.values["sigma"].setText(f"{sigma:.4g}" if sigma == sigma else "… (computing)")
        self.values["edge"].setText(f"{stats.n_edge:,}")
        self.values["manual"].setText(
            f"{stats.n_forced_bad:,} forced bad, {stats.n_forced_good:,} forced good")
        self.values["final"].setText(f"{stats.n_final:,}")
