"""Every menu item, toolbar button and shortcut of the window, declared once in `ACTIONS`.

Each row names the window method it runs. The method is called with no argument (or
with the fixed arguments of its row): Qt's ``triggered(checked)`` never reaches it, so
a method such as ``save_products`` can never receive ``False`` as a folder. Menus,
toolbars and the shortcut list (F1) are built from the same rows.

Single-key shortcuts (``[ ] B M F I`` …) are window-wide. A focused text field keeps the
keys it can type: a line edit (the marker note being edited) keeps every key; a spin box
keeps the keys that make up a number (digits, sign, decimal point, exponent) and Qt's
text-editing keys (Home, End, Ctrl+Z, Ctrl+Shift+Z), so ``]`` or ``B`` typed into
the kernel spin box still step the kernel or blink, but Ctrl+Z there undoes the typing.
Tables, combo boxes, sliders, buttons and the images let every shortcut through
(`SingleKeyShortcuts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QScrollBar,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from .image_panels import PANELS, TOOLS
from .overlay_modes import OVERLAY_MODES

__all__ = [
    "ACTIONS",
    "MENUS",
    "TOOLBARS",
    "ActionSpec",
    "FocusedWheel",
    "SingleKeyShortcuts",
    "build_actions",
    "build_menus",
    "build_toolbars",
    "shortcut_rows",
    "show_shortcuts_dialog",
]

log = logging.getLogger(__name__)

_STANDARD = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    """One user action.

    Parameters
    ----------
    name : str
        Key in the window's ``actions`` dict (and the QAction's objectName, ``action_<name>``).
    text : str
        Menu text (``&`` marks the mnemonic).
    slot : str
        What runs on ``triggered``: a window method, or a dotted path from the window
        (``"files.save_products"``); it is called with ``arguments`` only.
    shortcut : str or QKeySequence.StandardKey or None
        The key, if any.
    tip : str
        Status-bar tip and tooltip.
    menu : str or None
        Menu path, ``"&File/E&xport"`` for a submenu; None for no menu.
    toolbar : str or None
        ``"main"`` or ``"tools"``; None for no toolbar button.
    short : str or None
        Short text for the toolbar button.
    separator : bool
        Draw a separator before this item in its menu.
    checkable : bool
        A toggle (tools are exclusive within ``group``).
    group : str or None
        An exclusive group of checkable actions.
    arguments : tuple
        Fixed arguments for ``slot`` (a panel key, a tool name), never Qt's.
    """

    name: str
    text: str
    slot: str
    shortcut: str | QKeySequence.StandardKey | None = None
    tip: str = ""
    menu: str | None = None
    toolbar: str | None = None
    short: str | None = None
    separator: bool = False
    checkable: bool = False
    group: str | None = None
    arguments: tuple = field(default_factory=tuple)


#: Menus in menu-bar order (submenus follow their parent's items).
MENUS = ("&File", "&File/&Import", "&File/E&xport", "&File/Send via SA&MP", "&Edit",
         "&Parameters", "&View", "&Help")
#: Toolbars in order: name, title.
TOOLBARS = (("main", "Main"), ("tools", "Tools"))

_TOOL_KEYS = {"inspect": "I", "flag brush": "Ctrl+B", "unflag brush": "Ctrl+U",
              "flag rectangle": "Ctrl+R", "unflag rectangle": "Ctrl+Shift+R"}
_TOOL_SHORT = {"flag brush": "Flag", "unflag brush": "Unflag", "flag rectangle": "Flag box",
               "unflag rectangle": "Unflag box"}

F, E, P, V, H, X = "&File", "&Edit", "&Parameters", "&View", "&Help", "&File/E&xport"
IMPORT, SAMP = "&File/&Import", "&File/Send via SA&MP"
_OVERLAY_KEYS = {"flags": "Ctrl+1", "compare": "Ctrl+2", "suspect": "Ctrl+3"}

#: The one table of the window's actions.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "files.open_dialog", _STANDARD.Open,
               "Open FITS exposures or a spec2 association", F, "main"),
    ActionSpec("demo", "Open &demo data", "files.open_demo", None,
               "A synthetic MIRI MRS association", F),
    ActionSpec("open_session", "Open &session…", "recovery.open_session_dialog", "Ctrl+Shift+O",
               "Open a saved session (JSON)", F),
    ActionSpec("close_all", "&Close all", "close_all", None,
               "Forget every exposure and the edits", F),
    ActionSpec("save", "&Save flagged products…", "files.save_products", _STANDARD.Save,
               "Write the flagged science (and background) products, as badpix-selfcal does",
               F, "main", "Save", separator=True),
    ActionSpec("save_session", "Save s&ession…", "recovery.save_session_dialog", "Ctrl+Shift+S",
               "Save files, roles, parameters, edits, markers and view (JSON)", F),
    ActionSpec("export_parameters", "&Export pipeline parameters…", "files.export_parameters",
               "Ctrl+E", "Write a jwst parameter file (ASDF)", F, "main", "Export pars"),
    ActionSpec("copy_strun", "Copy &strun command", "files.copy_strun", "Ctrl+Shift+C",
               "Copy a strun calwebb_spec2 line with these values", F, "main", "Copy strun"),
    ActionSpec("export_edits", "Edits (JSON, for badpix-selfcal --edits)…", "files.export_edits",
               None, "The hand edits as pixel lists", X),
    ActionSpec("export_mask", "Flag mask (FITS)…", "files.export_mask", None,
               "ALGORITHM, MANUAL and FINAL planes", X),
    ActionSpec("export_regions", "DS9 regions of the flags…", "files.export_regions", None,
               "A box on every flagged pixel, in DS9's 1-based image coordinates", X),
    ActionSpec("export_markers", "Markers (CSV or ECSV)…", "files.export_markers", None,
               "The markers table", X),
    *(ActionSpec(f"png_{key}", f"PNG of the {title[0].lower()}{title[1:]} panel…",
                 "files.export_panel_png", None, "The panel as shown", X,
                 separator=number == 0, arguments=(key,))
      for number, (key, title) in enumerate(PANELS)),
    ActionSpec("import_region_markers", "Region file as &markers…",
               "interop.import_region_markers", None,
               "A marker at each region of a DS9 region file (image coordinates)", IMPORT),
    ActionSpec("import_region_bad", "Region file as edits (forced &bad)…",
               "interop.import_region_edits", None,
               "Force the pixels the regions cover bad (a region tagged forced_good: good)",
               IMPORT, arguments=("forced_bad",)),
    ActionSpec("import_region_good", "Region file as edits (forced &good)…",
               "interop.import_region_edits", None,
               "Force the pixels the regions cover good (a region tagged forced_bad, low or "
               "high: bad)", IMPORT, arguments=("forced_good",)),
    *(ActionSpec(f"samp_{key}", f"{title[0]}{title[1:]} image", "interop.send_panel", None,
                 "Send the image to DS9, Aladin… as FITS through the SAMP hub", SAMP,
                 arguments=(key,))
      for key, title in PANELS),
    ActionSpec("samp_mask", "Flag mask (final)", "interop.send_mask", None,
               "Send the final flags (1 = flagged) as a FITS image through the SAMP hub",
               SAMP, separator=True),
    ActionSpec("samp_markers", "Markers table", "interop.send_markers", None,
               "Send the markers as a VOTable through the SAMP hub", SAMP),
    ActionSpec("quit", "&Quit", "close", "Ctrl+Q", "", F, separator=True),
    ActionSpec("undo", "&Undo edit", "session.undo", _STANDARD.Undo, "Undo the last hand edit", E,
               "tools", "Undo"),
    ActionSpec("redo", "&Redo edit", "session.redo", "Ctrl+Shift+Z", "Redo the last undone edit", E,
               "tools", "Redo"),
    ActionSpec("clear_edits", "Clear all edits", "session.clear_edits", None,
               "Forget every hand edit (undoable)", E),
    *(ActionSpec(f"tool_{name.replace(' ', '_')}", name.capitalize(), "set_tool",
                 _TOOL_KEYS[name], f"Left mouse button: {name}", E, "tools",
                 _TOOL_SHORT.get(name), separator=number == 0, checkable=True, group="tool",
                 arguments=(name,))
      for number, name in enumerate(TOOLS)),
    ActionSpec("marker", "Add &marker at the cursor", "add_marker", "M",
               "Record the pixel under the cursor (or the selected one)", E, separator=True),
    ActionSpec("unflag_suspect", "Unflag &suspect flags", "decide.unflag_suspect",
               "Ctrl+Shift+U", "Force the suspect flags (probably lines) good: one undoable "
               "edit", E, separator=True),
    ActionSpec("kernel_down", "Smaller kernel", "parameters.step_kernel", "[", "kernel_size − 2", P,
               arguments=(-1,)),
    ActionSpec("kernel_up", "Larger kernel", "parameters.step_kernel", "]", "kernel_size + 2", P,
               arguments=(1,)),
    ActionSpec("defaults", "Pipeline &defaults", "session.reset_parameters", "Ctrl+0",
               "kernel_size 15, flag fractions 0.001, axis from DISPAXIS", P),
    ActionSpec("suggest_fractions", "Su&ggest fractions (± N σ)", "parameters.suggest_fractions",
               "Ctrl+G", "Set the flag fractions so that the thresholds sit at ± N robust σ",
               P),
    ActionSpec("pin_reference", "&Pin as reference A", "decide.pin_reference", "P",
               "Keep the current flags and parameters as A, to compare with", P, "main",
               "Pin A", separator=True),
    ActionSpec("swap_reference", "S&wap A and now", "decide.swap_reference", "X",
               "Show A's images and flags, or now's again", P, "main", "A/now"),
    ActionSpec("restore_reference", "&Restore A's parameters", "decide.restore_reference",
               "Ctrl+Shift+P", "Put A's parameters back", P, "main", "Restore A"),
    ActionSpec("reset_zoom", "&Reset zoom", "grid.reset_view", "Home", "Fit the detector", V,
               "main", "Fit"),
    ActionSpec("toggle_flags", "Show &flags", "statistics.show_flags.toggle", "F",
               "Show or hide the flag overlay", V),
    *(ActionSpec(f"overlay_{key}", f"Overlay: {text}", "decide.set_overlay_mode",
                 _OVERLAY_KEYS[key], f"The overlay shows: {text.lower()}", V,
                 checkable=True, group="overlay", arguments=(key,))
      for key, text in OVERLAY_MODES),
    ActionSpec("blink", "&Blink: next exposure", "blink", "B",
               "Step the science panel through the exposures", V, arguments=(1,)),
    ActionSpec("blink_back", "Blink: previous exposure", "blink", "Shift+B", "", V,
               arguments=(-1,)),
    ActionSpec("leave_blink", "Leave blink", "leave_blink", "Escape",
               "Show the science exposure again", V),
    ActionSpec("invert_colormap", "&Invert colour map", "invert_colormap", "Ctrl+I",
               "Invert the colour map of every panel", V, separator=True, checkable=True),
    ActionSpec("reset_layout", "Reset &layout", "reset_layout", None,
               "Put the docks back where and as large as they start", V, separator=True),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "show_shortcuts", "F1", "", H),
    ActionSpec("about", "&About", "show_about", None, "", H),
)


def _resolve(window: QMainWindow, path: str) -> Callable:
    """Return ``window.a.b.c`` for the slot path ``"a.b.c"``."""
    target = window
    for name in path.split("."):
        target = getattr(target, name)
    return target


def _connect(action: QAction, slot: Callable, arguments: tuple) -> None:
    # `triggered` sends `checked`; it is swallowed here so that it can never fill an
    # optional parameter of the slot (the bug that saved products "in False").
    action.triggered.connect(lambda _checked=False: slot(*arguments))


def build_actions(window: QMainWindow,
                  specs: Iterable[ActionSpec] = ACTIONS) -> dict[str, QAction]:
    """Create the QActions of ``specs`` on ``window``, connected to its methods.

    The actions are added to the window, so their shortcuts work in the whole window.
    """
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        action = QAction(spec.text, window)
        action.setObjectName(f"action_{spec.name}")
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        plain = spec.text.replace("&", "").rstrip("…")
        action.setToolTip(f"{plain} ({keys})" if keys else plain)
        action.setStatusTip(spec.tip)
        if spec.short:
            action.setIconText(spec.short)
        action.setCheckable(spec.checkable)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(action)
        _connect(action, _resolve(window, spec.slot), spec.arguments)
        window.addAction(action)
        actions[spec.name] = action
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction],
                specs: Iterable[ActionSpec] = ACTIONS) -> dict[str, QMenu]:
    """Fill the window's menu bar from ``specs``; return the menus by path."""
    menus: dict[str, QMenu] = {}
    for path in MENUS:
        parent, _, title = path.rpartition("/")
        owner = menus[parent] if parent else window.menuBar()
        menus[path] = owner.addMenu(title)
        menus[path].setObjectName(f"menu_{title.replace('&', '').lower()}")
    for spec in specs:
        if spec.menu is None:
            continue
        menu = menus[spec.menu]
        if spec.separator and not menu.isEmpty():
            menu.addSeparator()
        menu.addAction(actions[spec.name])
    return menus


def build_toolbars(window: QMainWindow, actions: dict[str, QAction],
                   specs: Iterable[ActionSpec] = ACTIONS) -> dict[str, QToolBar]:
    """Create the toolbars from ``specs`` (buttons show the short texts)."""
    toolbars: dict[str, QToolBar] = {}
    for name, title in TOOLBARS:
        toolbar = QToolBar(title, objectName=f"{name}_toolbar")
        toolbar.setMovable(False)
        window.addToolBar(toolbar)
        toolbars[name] = toolbar
    for spec in specs:
        if spec.toolbar is not None:
            toolbars[spec.toolbar].addAction(actions[spec.name])
    return toolbars


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str]]:
    """Return (keys, what they do) for every action with a shortcut, in table order."""
    rows = []
    for action in actions.values():
        if not action.shortcut().isEmpty():
            rows.append((action.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
                         action.text().replace("&", "").rstrip("…")))
    return rows


def show_shortcuts_dialog(parent: QWidget, actions: dict[str, QAction]) -> QDialog:
    """Show the keyboard shortcuts as a two-column table (keys, action); return the dialog."""
    dialog = QDialog(parent, objectName="shortcuts_dialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows(actions)
    rows.append(("← → ↑ ↓", "Move the selected pixel (images or pixel inspector focused)"))
    table = QTableWidget(len(rows), 2, objectName="shortcuts_table")
    table.setHorizontalHeaderLabels(["Keys", "Action"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for number, (keys, text) in enumerate(rows):
        table.setItem(number, 0, QTableWidgetItem(keys))
        table.setItem(number, 1, QTableWidgetItem(text))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    note = QLabel("Single keys work whatever has the focus, except in a text field: a spin "
                  "box keeps digits, sign and decimal point; a note being edited keeps every "
                  "key.", wordWrap=True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(note)
    layout.addWidget(buttons)
    dialog.resize(560, 640)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()  # so that Escape closes it at once
    return dialog


#: Characters a spin box needs for a number; other single keys go to the shortcuts.
_NUMBER_CHARACTERS = set("0123456789.,-+eE")


def _keeps_key(widget: QWidget | None, text: str) -> bool:
    """Return True when the focused ``widget`` should receive the typed ``text``."""
    while widget is not None:
        if isinstance(widget, QAbstractSpinBox):  # editing keys (Home, Escape) have no text
            return not text.isprintable() or not text or text in _NUMBER_CHARACTERS
        if isinstance(widget, QComboBox):
            return widget.isEditable()
        if isinstance(widget, (QLineEdit, QTextEdit, QPlainTextEdit)):
            return not widget.isReadOnly()
        # A spin box's or editable combo's line edit reports its owner as parent.
        widget = widget.parentWidget() if isinstance(widget, QLineEdit) else None
    return False


class FocusedWheel(QObject):
    """The mouse wheel moves a value box, a list box or a slider only once it has the focus.

    Scrolling a dock with the wheel passed over its boxes and changed them on the way (a
    suspect rule's fraction, a kernel size), starting computations nobody asked for.
    Installed on the application, this filter hands a wheel event over such a widget of
    ``window`` that does not have the focus to its parent, which scrolls; a click gives
    the widget the focus, and the wheel then steps it as usual.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Pass an unfocused value widget's wheel event to its parent."""
        if event.type() != QEvent.Type.Wheel or not isinstance(
                watched, QAbstractSpinBox | QComboBox | QAbstractSlider):
            return False
        if isinstance(watched, QScrollBar) or watched.hasFocus():
            return False
        if watched.window() is not self.window or watched.parentWidget() is None:
            return False
        QApplication.sendEvent(watched.parentWidget(), event)
        return True


class SingleKeyShortcuts(QObject):
    """Let single-key shortcuts through whatever widget of the window has the focus.

    Item views and combo boxes take letter keys for keyboard search, and spin boxes every
    printable key, before a window's shortcut sees them. Installed on the application,
    this filter looks at key presses in ``window`` that match an unmodified (or
    Shift-only) shortcut: unless the focused widget keeps the key (see the module
    docstring), the action is triggered and the key goes no further.
    """

    def __init__(self, window: QMainWindow, actions: dict[str, QAction]) -> None:
        super().__init__(window)
        self.window = window
        self.keys: dict[int, QAction] = {}
        for action in actions.values():
            sequence = action.shortcut()
            if sequence.count() != 1:
                continue
            combination = sequence[0]
            modifiers = combination.keyboardModifiers()
            if modifiers & ~Qt.KeyboardModifier.ShiftModifier:
                continue
            self.keys[combination.toCombined()] = action

    def _action_for(self, event) -> QAction | None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers & ~Qt.KeyboardModifier.ShiftModifier:
            return None
        combined = event.keyCombination().toCombined() & ~int(
            Qt.KeyboardModifier.KeypadModifier.value)
        return self.keys.get(combined)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Trigger a single-key action for a key press a focused widget would swallow."""
        # Only presses: a key that Qt's shortcut map takes never arrives as a press, so an
        # action is never triggered twice.
        if event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self.window:
            return False
        action = self._action_for(event)
        if action is None or not action.isEnabled():
            return False
        focus = QApplication.focusWidget()
        if focus is not None and focus.window() is not self.window:
            return False
        if _keeps_key(focus, event.text()):
            return False
        action.trigger()
        return True
