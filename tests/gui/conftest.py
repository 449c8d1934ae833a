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
