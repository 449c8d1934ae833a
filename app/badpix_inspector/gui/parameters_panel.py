"""The parameters dock: kernel size, flag fractions, dispersion axis, the step's switches."""

from __future__ import annotations

import math

from PyQt6.QtCore import QObject, QSignalBlocker, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QValidator
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import PARAMETER_SPECS, ParameterError, suggest_fractions
from ..session import Session, SessionResult

__all__ = [
    "DRAG_INTERVAL_MS", "FRACTION_MAX", "FRACTION_MIN", "KERNEL_MAX", "OddSpinBox",
    "ParametersPanel", "SliderFeed",
]

KERNEL_MAX = 151
# The slider's log scale needs a floor above jwst's 0; the ceiling is jwst's bound.
FRACTION_MIN, FRACTION_MAX = 1e-5, PARAMETER_SPECS["flagfrac_upper"].maximum
_SLIDER_STEPS = 1000  # positions of a fraction slider, evenly spaced in log10
#: While a slider is dragged, its value is passed on at most this often (milliseconds).
DRAG_INTERVAL_MS = 100


def fraction_to_slider(value: float) -> int:
    """Return the log-scale slider position for a flag fraction (0 sits at the left end)."""
    value = min(max(value, FRACTION_MIN), FRACTION_MAX)
    span = math.log10(FRACTION_MAX) - math.log10(FRACTION_MIN)
    return round((math.log10(value) - math.log10(FRACTION_MIN)) / span * _SLIDER_STEPS)


def slider_to_fraction(position: int) -> float:
    """Return the flag fraction at a slider position, rounded to 3 significant digits."""
    span = math.log10(FRACTION_MAX) - math.log10(FRACTION_MIN)
    value = 10 ** (math.log10(FRACTION_MIN) + position / _SLIDER_STEPS * span)
    return float(f"{min(value, FRACTION_MAX):.3g}")


class SliderFeed(QObject):
    """Pass a slider's value to ``send`` as it moves, at most once per ``interval`` ms.

    A drag sends its first position at once, then the newest position at each interval,
    and the final one at the release: the images follow the drag (the session drops
    requests a newer one overtakes) without a request per pixel of mouse movement. A
    click, a key or a programmatic change is sent at once.

    Parameters
    ----------
    slider : QSlider
        The slider to follow (tracking is switched on).
    send : callable
        Called with the slider's value.
    interval : int
        Milliseconds between values sent during a drag.
    """

    def __init__(self, slider: QSlider, send, interval: int = DRAG_INTERVAL_MS) -> None:
        super().__init__(slider)
        self.slider = slider
        self._send = send
        self._pending: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval)
        self._timer.timeout.connect(self._tick)
        # valueChanged during the drag, not only at the release (Qt's default, made explicit).
        slider.setTracking(True)
        slider.valueChanged.connect(self._moved)
        slider.sliderReleased.connect(self.flush)

    def _moved(self, value: int) -> None:
        if not self.slider.isSliderDown():
            self._timer.stop()
            self._pending = None
            self._send(value)
        elif self._timer.isActive():
            self._pending = value
        else:
            self._send(value)
            self._timer.start()

    def _tick(self) -> None:
        if self._pending is not None:
            value, self._pending = self._pending, None
            self._send(value)
            self._timer.start()  # keep the pace while the drag goes on

    def flush(self) -> None:
        """Send a value still held back (the slider was let go)."""
        self._timer.stop()
        self._tick()
        self._timer.stop()


class FractionSpinBox(QDoubleSpinBox):
    """A flag fraction typed exactly: any number (``0.002``, ``2e-3``) is accepted as text.

    Qt's own validator rejects a keystroke that would leave the range, so typing ``0.7``
    stopped at ``0.`` and Enter then applied 0 without a word. Here a number out of range
    stays as typed until Enter, then `out_of_range` is emitted with it and the box goes
    back to the value in force.
    """

    out_of_range = pyqtSignal(str)

    def validate(self, text: str, position: int):
        stripped = text.strip()
        try:
            value = float(stripped)
        except ValueError:
            # Partial numbers ("", "-", "1e", "2.") may still become one.
            partial = all(c in "0123456789.eE+-" for c in stripped)
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, position
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, position
        return QValidator.State.Intermediate, text, position

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def fixup(self, text: str) -> str:
        if text.strip():
            self.out_of_range.emit(text.strip())
        return self.textFromValue(self.value())


class OddSpinBox(QSpinBox):
    """A spin box that holds odd integers only: steps of 2, even entries rounded up.

    Signals
    -------
    rounded(int, int)
        An even number typed was rounded up: the number typed, the number used.
    """

    rounded = pyqtSignal(int, int)

    def __init__(self, parent: QWidget | None = None, **properties) -> None:
        super().__init__(parent, **properties)
        self.setSingleStep(2)

    def validate(self, text: str, position: int):  # noqa: D102 (Qt's hook)
        state, text, position = super().validate(text, position)
        if state == QValidator.State.Acceptable and int(text or 0) % 2 == 0:
            state = QValidator.State.Intermediate
        return state, text, position

    def fixup(self, text: str) -> str:  # noqa: D102 (Qt's hook)
        try:
            value = int(text)
        except ValueError:
            return text
        used = min(value + 1 if value % 2 == 0 else value, self.maximum())
        if used != value:
            self.rounded.emit(value, used)
        return str(used)


class ParametersPanel(QWidget):
    """Controls for the step's parameters, kept in step with a `Session` both ways."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session

        self.kernel_slider = QSlider(Qt.Orientation.Horizontal, objectName="kernel_slider")
        self.kernel_slider.setRange(0, (KERNEL_MAX - 1) // 2)  # position p -> size 2p + 1
        self.kernel_size = OddSpinBox(objectName="kernel_size")
        #: A word about the kernel set (an even one typed, rounded up): (kernel, text).
        self._note: tuple[int, str] | None = None
        self.kernel_size.rounded.connect(self._kernel_rounded)
        self.kernel_size.setRange(PARAMETER_SPECS["kernel_size"].minimum, KERNEL_MAX)
        self.kernel_size.setToolTip(PARAMETER_SPECS["kernel_size"].help + " ([ and ] step it)")

        self.lower_slider, self.flagfrac_lower = self._fraction_controls("flagfrac_lower")
        self.upper_slider, self.flagfrac_upper = self._fraction_controls("flagfrac_upper")
        # Where each fraction's threshold sits, in robust σ (MAD) of the difference.
        self.sigma_labels = {}
        for name in ("flagfrac_lower", "flagfrac_upper"):
            label = QLabel("– σ", objectName=f"{name}_sigma")
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance("−88.8 σ"))
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setToolTip("Where this fraction's threshold sits: robust σ (1.4826 x MAD) "
                             "of the difference, from its median")
            self.sigma_labels[name] = label
        self.n_sigma = QDoubleSpinBox(objectName="suggest_n_sigma")
        self.n_sigma.setRange(0.5, 50.0)
        self.n_sigma.setDecimals(1)
        self.n_sigma.setSingleStep(0.5)
        self.n_sigma.setValue(5.0)
        self.n_sigma.setPrefix("±")
        self.n_sigma.setSuffix(" σ")
        self.n_sigma.setToolTip("Suggest fractions that put the thresholds this many robust σ "
                                "from the median of the difference")
        self.suggest = QPushButton("Suggest fractions", objectName="suggest_fractions")
        self.suggest.setToolTip("Set flagfrac_lower and flagfrac_upper so that the thresholds "
                                "sit at ± N σ (Ctrl+G)")

        self.dispaxis = QComboBox(objectName="dispaxis")
        self.dispaxis.setToolTip("Direction of the median filter window")
        self._dispaxis_choices = ["auto", 1, 2, None]
        self.force_single = QCheckBox("force_single", objectName="force_single")
        self.force_single.setToolTip(PARAMETER_SPECS["force_single"].help)
        # Changes no flag: it says whether Save also writes the flagged background products.
        self.save_flagged_bkg = QCheckBox("save_flagged_bkg", objectName="save_flagged_bkg")
        self.save_flagged_bkg.setToolTip(PARAMETER_SPECS["save_flagged_bkg"].help)
        self.defaults = QPushButton("Pipeline defaults", objectName="defaults")
        self.defaults.setToolTip("kernel_size 15, flag fractions 0.001, axis from DISPAXIS")
        self.message = QLabel(objectName="parameters_message")
        self.message.setWordWrap(True)
        self.message.setVisible(False)  # until there is something to say

        # Compact, so that everything shows in a short dock (1280x720 screens): labels go
        # above their controls when the dock is narrow.
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setVerticalSpacing(3)
        form.setHorizontalSpacing(6)
        form.addRow("kernel_size", self._pair(self.kernel_slider, self.kernel_size))
        form.addRow("flagfrac_lower", self._pair(self.lower_slider, self.flagfrac_lower,
                                                 self.sigma_labels["flagfrac_lower"]))
        form.addRow("flagfrac_upper", self._pair(self.upper_slider, self.flagfrac_upper,
                                                 self.sigma_labels["flagfrac_upper"]))
        form.addRow("thresholds at", self._pair(self.n_sigma, self.suggest))
        form.addRow("dispersion axis", self.dispaxis)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(3)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.force_single)
        row.addWidget(self.save_flagged_bkg)
        row.addStretch(1)
        row.addWidget(self.defaults)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self.slider_feeds = [
            SliderFeed(self.kernel_slider, lambda p: self._set(kernel_size=2 * p + 1)),
            SliderFeed(self.lower_slider,
                       lambda p: self._set(flagfrac_lower=slider_to_fraction(p))),
            SliderFeed(self.upper_slider,
                       lambda p: self._set(flagfrac_upper=slider_to_fraction(p))),
        ]
        self.kernel_size.valueChanged.connect(self._kernel_typed)
        self.flagfrac_lower.valueChanged.connect(lambda v: self._set(flagfrac_lower=v))
        self.flagfrac_upper.valueChanged.connect(lambda v: self._set(flagfrac_upper=v))
        self.dispaxis.currentIndexChanged.connect(self._dispaxis_chosen)
        self.force_single.toggled.connect(lambda on: self._set(force_single=on))
        self.save_flagged_bkg.toggled.connect(lambda on: self._set(save_flagged_bkg=on))
        self.defaults.clicked.connect(session.reset_parameters)
        session.parameters_changed.connect(self.update_from_session)
        session.exposures_changed.connect(self.update_from_session)
        session.result_ready.connect(self.show_result)
        self.update_from_session()

    def show_result(self, result: SessionResult) -> None:
        """Show where the thresholds sit in robust σ (computed on the worker)."""
        decisions = result.decisions
        in_sigma = (None, None) if decisions is None else decisions.thresholds_sigma
        for name, value in zip(("flagfrac_lower", "flagfrac_upper"), in_sigma, strict=True):
            text = "– σ" if value is None or value != value else f"{value:+.2f} σ"
            self.sigma_labels[name].setText(text.replace("-", "−"))

    def suggest_fractions(self) -> tuple[float, float] | None:
        """Set the fractions whose thresholds sit at ± N σ (N from the spin box).

        The fractions are what is set (and saved): the pipeline takes fractions.
        """
        result = self.session.result
        values = None if result is None else result.sorted_difference
        if values is None or values.size == 0 or result.statistics is None:
            self._say("Nothing to suggest from yet: open exposures first.")
            return None
        n_sigma = self.n_sigma.value()
        try:
            lower, upper = suggest_fractions(values, result.statistics.sigma, n_sigma)
        except ValueError as error:
            self._say(f"Cannot suggest fractions: {error}")
            return None
        self._set(flagfrac_lower=lower, flagfrac_upper=upper)
        self._say(f"Thresholds at ±{n_sigma:g} σ: flagfrac_lower {lower:.6g}, flagfrac_upper "
                  f"{upper:.6g}" + (" (0: nothing that far out on that side)"
                                    if 0.0 in (lower, upper) else ""))
        return lower, upper

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)

    def _fraction_controls(self, name: str) -> tuple[QSlider, QDoubleSpinBox]:
        slider = QSlider(Qt.Orientation.Horizontal, objectName=f"{name}_slider")
        slider.setRange(0, _SLIDER_STEPS)
        slider.setToolTip(f"{name} on a log scale, {FRACTION_MIN:g} to {FRACTION_MAX:g}")
        spin = FractionSpinBox(objectName=name)
        spin.out_of_range.connect(lambda text, name=name: self._refused(name, text))
        spin.setDecimals(6)
        spin.setRange(PARAMETER_SPECS[name].minimum, PARAMETER_SPECS[name].maximum)
        spin.setSingleStep(0.0005)
        spin.setToolTip(PARAMETER_SPECS[name].help + " (exact value)")
        spin.setKeyboardTracking(False)  # typing "0.002" must not pass through 0.0 and 0.00
        return slider, spin

    @staticmethod
    def _pair(slider: QWidget, spin: QWidget, *more: QWidget) -> QWidget:
        holder = QWidget()
        layout = QHBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(slider, 1)
        layout.addWidget(spin)
        for widget in more:
            layout.addWidget(widget)
        return holder

    def _kernel_typed(self, value: int) -> None:
        if value % 2 == 1:
            self._set(kernel_size=value)

    def _kernel_rounded(self, typed: int, used: int) -> None:
        # Said while that kernel is set (setting it clears the previous message).
        self._note = (used, f"kernel_size must be odd (jwst 3.0.0 stops on an even one): "
                            f"{typed} became {used}.")
        self.message.setText(self._note[1])
        self.message.setVisible(True)

    def _dispaxis_chosen(self, index: int) -> None:
        if 0 <= index < len(self._dispaxis_choices):
            self.session.set_dispaxis_choice(self._dispaxis_choices[index])

    def _refused(self, name: str, text: str) -> None:
        spec = PARAMETER_SPECS[name]
        self.message.setText(f"{name} must be a number from {spec.minimum:g} to "
                             f"{spec.maximum:g}, not {text!r}; it stays "
                             f"{getattr(self.session.parameters, name):g}.")
        self.message.setVisible(True)

    def _set(self, **changes) -> None:
        try:
            self.session.set_parameters(**changes)
        except ParameterError as error:
            self.message.setText(str(error))
            self.message.setVisible(True)
            self.update_from_session()
        else:
            note = ""
            if self._note is not None and changes == {"kernel_size": self._note[0]}:
                note = self._note[1]
            else:
                self._note = None
            self.message.setText(note)
            self.message.setVisible(bool(note))

    def step_kernel(self, steps: int) -> None:
        """Change the kernel size by ``steps`` odd sizes (keyboard [ and ])."""
        size = self.session.parameters.kernel_size + 2 * steps
        self._set(kernel_size=min(max(size, 1), KERNEL_MAX))

    def update_from_session(self) -> None:
        """Show the session's values, without echoing them back to it."""
        parameters = self.session.parameters
        widgets = (self.kernel_slider, self.kernel_size, self.lower_slider, self.flagfrac_lower,
                   self.upper_slider, self.flagfrac_upper, self.dispaxis, self.force_single,
                   self.save_flagged_bkg)
        blockers = [QSignalBlocker(widget) for widget in widgets]
        self.kernel_size.setValue(parameters.kernel_size)
        self.kernel_slider.setValue((parameters.kernel_size - 1) // 2)
        self.flagfrac_lower.setValue(parameters.flagfrac_lower)
        self.lower_slider.setValue(fraction_to_slider(parameters.flagfrac_lower))
        self.flagfrac_upper.setValue(parameters.flagfrac_upper)
        self.upper_slider.setValue(fraction_to_slider(parameters.flagfrac_upper))
        self.force_single.setChecked(parameters.force_single)
        self.save_flagged_bkg.setChecked(parameters.save_flagged_bkg)
        file_axis = self.session.file_dispaxis
        labels = [
            f"automatic (DISPAXIS={file_axis})" if file_axis else "automatic (no DISPAXIS: 2-D)",
            "1: window along x (within a row)", "2: window along y (within a column)",
            "2-D square window",
        ]  # fmt: skip
        if self.dispaxis.count() != len(labels):
            self.dispaxis.clear()
            self.dispaxis.addItems(labels)
        for index, label in enumerate(labels):
            self.dispaxis.setItemText(index, label)
        choice = self.session.dispaxis_choice
        self.dispaxis.setCurrentIndex(
            next(i for i, c in enumerate(self._dispaxis_choices) if c == choice and
                 type(c) is type(choice))
        )  # fmt: skip
        del blockers
