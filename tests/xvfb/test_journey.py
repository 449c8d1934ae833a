"""The user journey (journey.py) on a real X server: Xvfb, real key presses and mouse drags.

It needs ``Xvfb`` and ``xdotool`` (Debian: ``apt-get install xvfb xdotool``); ``.ci/run``
installs them. Without them the test is skipped on a workstation and fails in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main as selfcal_main
from badpix_inspector.io.qa_files import EDITS_FORMAT

HERE = Path(__file__).parent
TOOLS = ("Xvfb", "xdotool")


def _missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@pytest.fixture
def xserver(tmp_path):
    """A private Xvfb server at 1600x1000; yields its DISPLAY."""
    missing = _missing_tools()
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install xvfb xdotool)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, "Xvfb did not report a display"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_a_user_journey_under_x(xserver, small_copy, tmp_path):
    _folder, association = small_copy
    workdir = tmp_path / "journey"
    workdir.mkdir()
    environment = {
        **os.environ, "DISPLAY": xserver, "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }  # fmt: skip
    run = subprocess.run(
        [sys.executable, str(HERE / "journey.py"), str(association), str(workdir)],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report_path = workdir / "journey.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    context = f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}\nreport: {report}"
    assert not report.get("errors"), context
    assert run.returncode == 0, context
    assert "Traceback" not in run.stderr, context
    assert report.get("quit"), context
    assert report["pictures_during_drag"] >= 2, context

    # What the window saved is what the command makes with the same parameters and edits.
    products = sorted((workdir / "products").glob("*_badpix_selfcal.fits"))
    assert len(products) == 1, context
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps({
        "format": EDITS_FORMAT, "version": 1, "shape": report["shape"],
        "forced_bad": report["forced_bad"], "forced_good": report["forced_good"],
    }))  # fmt: skip
    parameters = report["parameters"]
    reference = tmp_path / "reference"
    code = selfcal_main([
        str(association), "--output_dir", str(reference), "--edits", str(edits),
        "--kernel_size", str(parameters["kernel_size"]),
        "--flagfrac_lower", repr(parameters["flagfrac_lower"]),
        "--flagfrac_upper", repr(parameters["flagfrac_upper"]), "-q",
    ])  # fmt: skip
    assert code == 0
    with fits.open(products[0]) as saved, fits.open(reference / products[0].name) as expected:
        for name in ("DQ", "SCI"):
            np.testing.assert_array_equal(saved[name].data, expected[name].data)
        assert saved[0].header["S_BPXSLF"] == "COMPLETE"
        assert np.count_nonzero(saved["DQ"].data & 1) >= report["n_final"]

    # The parameter file says what the window showed.
    tuned = (workdir / "tuned.asdf").read_bytes()
    assert b"BadpixSelfcalStep" in tuned
    assert f"kernel_size: {parameters['kernel_size']}".encode() in tuned
