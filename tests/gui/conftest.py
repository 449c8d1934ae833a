"""GUI tests run offscreen, with settings and the autosave in a temporary folder."""

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def delete_closed_windows():
    """After each test, delete the windows pytest-qt closed, in Qt's order, at a known time.

    pytest-qt only calls ``deleteLater`` on them, which outside a running event loop Qt
    never carries out; the windows then die whenever Python's garbage collector reaches
    them, in a later test, tearing their graphics scenes down in an arbitrary order.
    That aborted a later test now and then ("pure virtual method called").
    """
    yield
    from PyQt6.QtCore import QEvent
    from PyQt6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    gc.collect()


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    """Point QSettings at a fresh folder, so tests neither read nor write the user's."""
    from PyQt6.QtCore import QSettings

    folder = tmp_path / "settings"
    folder.mkdir()
    for settings_format in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(settings_format, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder (the autosave lives there)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


@pytest.fixture
def dialogs(monkeypatch):
    """The static file dialogs and message boxes, answered as queued (Cancel otherwise)."""
    from gui_helpers import Dialogs

    return Dialogs(monkeypatch)


@pytest.fixture
def excepthook(monkeypatch):
    """Exceptions raised in slots, recorded."""
    from gui_helpers import ExceptHook

    return ExceptHook(monkeypatch)


@pytest.fixture
def window(qtbot, settings_dir, cache, small_nirspec, dialogs):
    """The window on the small NIRSpec association, first result drawn, shown and active.

    It behaves as with a person there (``interactive``): its dialogs are the ``dialogs``
    fixture's answers.
    """
    from gui_helpers import wait_for_result

    from badpix_inspector.gui import create_main_window

    made = create_main_window([small_nirspec.association])
    made.interactive = True
    qtbot.addWidget(made)
    made.resize(1400, 900)
    made.show()
    made.activateWindow()
    qtbot.waitExposed(made)
    wait_for_result(qtbot, made)
    yield made
    dialogs.buttons[:] = ["discard"] * 3  # quitting: let unsaved edits go
    made.close()


@pytest.fixture
def samp_receiver(samp_hub):
    """A client on the private hub that takes images and tables, as DS9 or TOPCAT do."""
    from samp_helpers import SampReceiver

    receiver = SampReceiver()
    try:
        yield receiver
    finally:
        receiver.client.disconnect()
