"""tune() in a notebook (a fake IPython with %gui qt), on jwst datamodels in memory."""

import logging
import os
import sys
import types

import numpy as np
import pytest
from gui_helpers import wait_for_result
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QSpinBox

import badpix_inspector
from badpix_inspector.core import OTHER_BAD_PIXEL
from badpix_inspector.io import InputError, read_exposure
from jwst_models import simulated_models

os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")


@pytest.fixture
def notebook(monkeypatch):
    """An IPython shell whose Qt event loop is on (``%gui qt``), as IPython reports it."""
    shell = types.SimpleNamespace(active_eventloop="qt")
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    return shell


@pytest.fixture
def clean_tune(qapp, settings_dir, cache, dialogs, excepthook):
    """A private settings and cache folder; every tune window closed at the end."""
    from badpix_inspector.tune import _open_handles

    yield dialogs
    for handle in list(_open_handles):
        dialogs.buttons[:] = ["discard"] * 3
        handle.close()




def _type_kernel(qtbot, window, text):
    spin = window.findChild(QSpinBox, "kernel_size")
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, text)


def test_in_a_notebook_tune_returns_a_live_handle_on_models_in_memory(
        qtbot, notebook, clean_tune, small_nirspec, excepthook, caplog, cache, tmp_path):
    pytest.importorskip("jwst")
    from jwst import datamodels
    from jwst.badpix_selfcal import BadpixSelfcalStep

    dialogs = clean_tune
    models = simulated_models(small_nirspec)
    handle = badpix_inspector.tune(models, flagfrac_lower=0.004)
    # At once, with the window open: the notebook keeps running.
    assert isinstance(handle, badpix_inspector.TuneHandle)
    window = handle.window
    window.interactive = True  # offscreen, but answered as a person would (``dialogs``)
    assert window.isVisible() and not handle.closed
    assert window.session.in_memory
    assert handle.parameters["flagfrac_lower"] == 0.004
    assert "open" in repr(handle)
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.2)  # still open: it stays open
    assert window.isVisible()
    wait_for_result(qtbot, window)

    # The person types a kernel size; the handle follows.
    _type_kernel(qtbot, window, "7")
    shown = wait_for_result(qtbot, window)
    assert shown.parameters.kernel_size == 7
    assert handle.parameters == {
        "flagfrac_lower": 0.004, "flagfrac_upper": 0.001, "kernel_size": 7,
        "force_single": False, "save_flagged_bkg": False, "skip": False}

    # Saving products or a session needs the files: the window says what to do instead.
    out = tmp_path / "out"
    out.mkdir()
    dialogs.folders.append(out)
    window.named_actions["save"].trigger()
    dialogs.save_paths.append(out / "session.json")
    window.named_actions["save_session"].trigger()
    assert [title for title, _ in dialogs.errors] == ["Cannot save the products",
                                                      "Cannot save the session"]
    for _, text in dialogs.errors:
        assert "came from memory" in text and "save the models to files first" in text
    assert not list(out.iterdir())

    # A hand edit: not a pipeline parameter, and the warning says so when the window closes.
    window.session.edit_pixels([5], [6], 1)
    flags = shown.flags.copy()
    # Data from memory have no files to find again: no autosave is kept for them.
    assert window.recovery.autosave.key is None
    qtbot.wait(1300)  # past the autosave's delay
    assert not list(cache.rglob("*.json"))
    dialogs.buttons[:] = ["discard"]  # the unsaved-edits question on quitting
    with caplog.at_level(logging.WARNING, logger="badpix_inspector.tune"):
        window.named_actions["quit"].trigger()
        pars = handle.result(timeout=30)
    assert "hand edits (1 pixel) are not part of the pipeline's parameters" in caplog.text
    assert handle.closed and handle.window is None and pars == handle.parameters
    assert pars["kernel_size"] == 7 and pars["skip"] is False
    assert not any(widget.objectName() == "main_window" and widget.isVisible()
                   for widget in QApplication.topLevelWidgets())
    assert not excepthook.errors

    # The caller's models are untouched; jwst's step, given the dict, flags what the
    # window showed.
    for model, path in zip(models, small_nirspec.exposures, strict=True):
        np.testing.assert_array_equal(model.data, read_exposure(path).sci)
    science, _ = BadpixSelfcalStep.call(datamodels.ModelContainer(models), **pars)
    theirs = (np.asarray(science.dq) & OTHER_BAD_PIXEL) != 0
    assert flags.sum() > 10
    np.testing.assert_array_equal(theirs, flags)


def test_without_an_event_loop_in_ipython_tune_blocks_until_closed(
        qtbot, clean_tune, small_nirspec, monkeypatch):
    # IPython without %gui qt: tune() waits for the window (its events run meanwhile).
    shell = types.SimpleNamespace(active_eventloop=None)
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    seen = {}

    def person():
        window = next(widget for widget in QApplication.topLevelWidgets()
                      if widget.objectName() == "main_window" and widget.isVisible())
        seen["parameters"] = window.session.parameters
        window.named_actions["quit"].trigger()

    from PyQt6.QtCore import QTimer

    QTimer.singleShot(200, person)
    pars = badpix_inspector.tune([small_nirspec.association], kernel_size=21)
    assert seen["parameters"].kernel_size == 21
    assert pars["kernel_size"] == 21 and pars["skip"] is False


def test_an_unreadable_input_raises_and_leaves_no_window(clean_tune, notebook, tmp_path):
    missing = tmp_path / "missing_rate.fits"
    with pytest.raises(InputError, match=r"missing_rate\.fits"):
        badpix_inspector.tune(missing)
    from badpix_inspector.tune import _open_handles

    assert not _open_handles
    assert not any(widget.objectName() == "main_window" and widget.isVisible()
                   for widget in QApplication.topLevelWidgets())
