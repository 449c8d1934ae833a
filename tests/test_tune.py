"""tune() from scripts: light import, early errors, clean exits, and jwst's flags from its dict.

The window itself is driven in subprocesses (``tune_script.py``), as a user's script runs
it; the in-process window tests are in ``tests/gui/test_tune_window.py``.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from badpix_inspector.core import OTHER_BAD_PIXEL
from badpix_inspector.io import InputError, pipeline_parameters, read_exposure
from badpix_inspector.session import Session

SCRIPT = Path(__file__).with_name("tune_script.py")


def _environment(tmp_path):
    environment = dict(os.environ)
    environment.update(QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(tmp_path / "cache"),
                       XDG_CONFIG_HOME=str(tmp_path / "config"))
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    return environment


def _run(code, tmp_path):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_environment(tmp_path), timeout=120)


def test_importing_the_package_imports_neither_qt_nor_jwst(tmp_path):
    code = """
import sys, badpix_inspector
assert callable(badpix_inspector.tune) and badpix_inspector.tune.__name__ == "tune"
assert "tune" in dir(badpix_inspector) and "tune" in badpix_inspector.__all__
heavy = [name for name in ("PyQt6", "pyqtgraph", "jwst", "stdatamodels", "astropy")
         if name in sys.modules]
assert not heavy, heavy
"""
    finished = _run(code, tmp_path)
    assert finished.returncode == 0, finished.stderr


def test_the_submodule_imported_first_still_leaves_tune_callable(tmp_path):
    # Importing badpix_inspector.tune sets the package's "tune" to the module.
    code = """
import badpix_inspector
from badpix_inspector.tune import TuneHandle
try:
    badpix_inspector.tune(None, kernel_size=4)
except badpix_inspector.ParameterError as error:
    print(error)
"""
    finished = _run(code, tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert "kernel_size must be odd" in finished.stdout


def test_bad_parameters_raise_before_qt_starts(small_nirspec, tmp_path):
    code = f"""
import sys
import badpix_inspector
from badpix_inspector import ParameterError
asn = {str(small_nirspec.association)!r}
for parameters, expected in (
        ({{"kernel_size": 4}}, "kernel_size must be odd"),
        ({{"flagfrac_upper": 0.7}}, "flagfrac_upper must be a number from 0 to 0.5"),
        ({{"force_single": "yes"}}, "force_single must be true or false"),
        ({{"kernel": 5}}, "unknown parameter kernel: badpix_selfcal takes flagfrac_lower"),
        ({{"skip": True}}, "skip must be False")):
    try:
        badpix_inspector.tune(asn, **parameters)
    except ParameterError as error:
        assert expected in str(error), (expected, str(error))
    else:
        raise AssertionError(f"{{parameters}} was accepted")
assert "PyQt6" not in sys.modules
"""
    finished = _run(code, tmp_path)
    assert finished.returncode == 0, finished.stderr


def _script(mode, association, tmp_path, *more):
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), mode, str(association), *more], capture_output=True,
        text=True, env=_environment(tmp_path), timeout=180)
    return finished


@pytest.mark.slow
def test_a_script_that_tunes_exits_cleanly_every_time(small_nirspec, tmp_path):
    # Blocking (the script's own QApplication) and through a handle (tune() makes the
    # QApplication, a fake IPython with %gui qt): three runs catch a crash at exit that
    # only happens sometimes. The last run tunes twice, the second time from the dict the
    # first returned (a second window in the same QApplication).
    outputs = []
    for run, mode in enumerate(("blocking", "handle", "blocking")):
        more = ("again",) if run == 2 else ()
        finished = _script(mode, small_nirspec.association, tmp_path / str(run), *more)
        assert finished.returncode == 0, (mode, finished.returncode, finished.stderr)
        for bad in ("Segmentation fault", "Aborted", "QObject::", "Traceback", "core dumped"):
            assert bad not in finished.stderr, (mode, finished.stderr)
        outputs.append(json.loads(finished.stdout.strip().splitlines()[-1]))
    for output in outputs:
        # The person's kernel, the caller's fraction, the rest at jwst's defaults.
        assert output["parameters"] == {
            "flagfrac_lower": 0.001, "flagfrac_upper": 0.005, "kernel_size": 9,
            "force_single": False, "save_flagged_bkg": False, "skip": False}
        assert output["shown"] == outputs[0]["shown"]
    assert outputs[0]["shown"]["count"] > 10


@pytest.mark.slow
def test_jwst_gives_the_flags_the_window_showed_with_the_returned_dict(small_nirspec,
                                                                        tmp_path):
    os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
    pytest.importorskip("jwst")
    from jwst.badpix_selfcal import BadpixSelfcalStep

    finished = _script("blocking", small_nirspec.association, tmp_path)
    assert finished.returncode == 0, finished.stderr
    output = json.loads(finished.stdout.strip().splitlines()[-1])
    pars = output["parameters"]
    science, _backgrounds = BadpixSelfcalStep.call(str(small_nirspec.association), **pars)
    flags = (np.asarray(science.dq) & OTHER_BAD_PIXEL) != 0
    assert science.meta.cal_step.badpix_selfcal == "COMPLETE"
    assert int(flags.sum()) == output["shown"]["count"]
    assert hashlib.sha256(flags.tobytes()).hexdigest() == output["shown"]["digest"]


# -- the session model with exposures from memory (no Qt) -----------------------------------


def _exposures(made):
    roles = (["science"] + ["background"] * len(made.backgrounds)
             + ["selfcal"] * len(made.selfcals))
    exposures = [read_exposure(path, role, with_dq=True)
                 for path, role in zip(made.exposures, roles, strict=True)]
    for exposure in exposures:
        exposure.path = Path(exposure.path.name)  # a name, as a datamodel's meta.filename
    return exposures


def test_a_session_on_exposures_from_memory_flags_as_on_the_files(small_nirspec, tmp_path):
    from badpix_inspector import model

    on_files, in_memory = Session(), Session()
    try:
        on_files.open_paths([small_nirspec.association])
        added = in_memory.open_exposures(_exposures(small_nirspec))
        assert [entry.role for entry in added] == ["science", "background", "selfcal",
                                                   "selfcal"]
        assert in_memory.in_memory and not on_files.in_memory
        for session in (on_files, in_memory):
            session.set_parameters(kernel_size=7, flagfrac_upper=0.01)
            session.wait()
        assert in_memory.result.status == "complete"
        np.testing.assert_array_equal(in_memory.result.flags, on_files.result.flags)
        # What needs the files says what to do instead.
        for attempt in (in_memory.state, in_memory.members,
                        lambda: model.save_products(in_memory, tmp_path)):
            with pytest.raises(InputError, match=r"came from memory.*save the models to "
                               r"files first.*Spec2Pipeline\.call"):
                attempt()
        assert not list(tmp_path.iterdir())
        assert on_files.state()["exposures"]  # files: unchanged
    finally:
        on_files.close()
        in_memory.close()


def test_exposures_from_memory_are_checked_before_anything_is_added(small_nirspec):
    session = Session()
    try:
        exposures = _exposures(small_nirspec)
        exposures[1].role = "science"
        with pytest.raises(InputError, match="second science exposure"):
            session.open_exposures(exposures)
        exposures[1].role = "flat"
        with pytest.raises(InputError, match="has the role 'flat'"):
            session.open_exposures(exposures)
        exposures[1].role = "background"
        exposures[2].sci = exposures[2].sci[:, :64]
        with pytest.raises(InputError, match="unlike the other exposures"):
            session.open_exposures(exposures)
        assert session.entries == []
    finally:
        session.close()


def test_the_dict_is_the_pipelines():
    # What tune() returns for a session's parameters: jwst's names and skip=False.
    session = Session()
    try:
        session.set_parameters(kernel_size=11)
        assert pipeline_parameters(session.parameters) == {
            "flagfrac_lower": 0.001, "flagfrac_upper": 0.001, "kernel_size": 11,
            "force_single": False, "save_flagged_bkg": False, "skip": False}
    finally:
        session.close()
