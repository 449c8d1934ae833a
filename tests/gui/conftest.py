"""GUI tests run offscreen, with settings in a temporary folder."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
def window(qtbot, settings_dir, cache, small_nirspec):
    """The window on the small NIRSpec association, first result drawn."""
    from gui_helpers import wait_for_result

    from badpix_inspector.gui import create_main_window

    made = create_main_window([small_nirspec.association])
    qtbot.addWidget(made)
    made.show()
    wait_for_result(qtbot, made)
    yield made
    made.close()
