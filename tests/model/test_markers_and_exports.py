"""Markers, exports and the strun line from the Qt-free models."""

import shlex

import numpy as np
import pytest
from astropy.table import Table

from badpix_inspector.core import PARAMETER_SPECS
from badpix_inspector.io import InputError, read_parameter_file
from badpix_inspector.model import (
    MARKER_FIELDS,
    MarkersModel,
    describe_pixel,
    export_mask,
    export_parameters,
    export_regions,
    pixel_label,
    save_products,
    strun_command,
)
from badpix_inspector.session import Session


@pytest.fixture
def session(small_nirspec):
    made = Session()
    made.open_paths([small_nirspec.association])
    made.wait()
    yield made
    made.close()


def test_markers_store_both_conventions_and_export_them(session, tmp_path):
    markers = MarkersModel()
    changes = []
    markers.changed.connect(lambda: changes.append(1))
    record = markers.add_pixel(session.result, 5, 7)
    assert (record["row"], record["column"], record["x_fits"], record["y_fits"]) == (5, 7, 8, 6)
    assert record["note"] == "" and record["smoothed"] == pytest.approx(
        float(session.result.smoothed[5, 7]))
    assert markers.add_pixel(session.result, -1, 7) is None
    markers.set_note(0, "hot")
    markers.add_pixel(session.result, 1, 2)
    markers.remove([0])
    assert [r["row"] for r in markers.records] == [1] and len(changes) == 4
    table = Table.read(markers.export(tmp_path / "m.ecsv"), format="ascii.ecsv")
    assert list(table.colnames) == list(MARKER_FIELDS)
    assert table["x_fits"][0] == 3 and table["column"][0] == 2
    assert "1-based" in " ".join(table.meta["comments"])
    markers.set_records([])
    assert len(Table.read(markers.export(tmp_path / "e.csv"), format="ascii.csv")) == 0


def test_old_session_markers_are_read_with_their_convention():
    markers = MarkersModel()
    markers.set_records([{"x": 7, "y": 5, "filtered": 1.5, "note": False}])
    (record,) = markers.records
    assert (record["row"], record["column"], record["x_fits"], record["y_fits"]) == (5, 7, 8, 6)
    assert record["smoothed"] == 1.5 and record["note"] == ""


def test_readout_and_regions_agree_on_the_convention(session, tmp_path):
    result = session.result
    row, column = (int(v) for v in np.argwhere(result.final)[0])
    text = describe_pixel(result, row, column)
    assert text.startswith(pixel_label(row, column)) and "FLAGGED" in text
    regions = export_regions(session, tmp_path / "f.reg").read_text()
    assert f"box({column + 1:.1f},{row + 1:.1f},1.0,1.0,0.0)" in regions  # 1-based centre
    assert f"x={column + 1} y={row + 1} (FITS" in text
    assert describe_pixel(None, 0, 0) == ""


def test_exports_refuse_an_empty_session_with_one_line(tmp_path):
    empty = Session()
    try:
        for export in (export_mask, export_regions):
            with pytest.raises(InputError, match="no flags yet"):
                export(empty, tmp_path / "x")
        with pytest.raises(InputError, match="nothing to save"):
            save_products(empty, tmp_path)
    finally:
        empty.close()


def test_parameter_file_and_strun_line_carry_every_parameter(session, tmp_path):
    session.set_parameters(kernel_size=11, flagfrac_lower=0.003, force_single=True)
    assert read_parameter_file(export_parameters(session, tmp_path / "p.asdf")) == \
        session.parameters
    words = shlex.split(strun_command(session))
    assert words[:3] == ["strun", "calwebb_spec2", str(session.association)]
    given = dict(word.removeprefix("--steps.badpix_selfcal.").split("=") for word in words[3:])
    assert given.pop("skip") == "False"
    expected = {name: str(getattr(session.parameters, name)) for name, spec in
                PARAMETER_SPECS.items() if spec.kind is not bool or
                getattr(session.parameters, name) != spec.default}
    assert given == expected


def test_products_are_refused_when_a_file_changed_since_it_was_read(small_nirspec, tmp_path):
    import shutil

    copies = []
    for path in small_nirspec.exposures:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    session = Session()
    try:
        session.open_paths(copies)
        session.wait()
        copies[1].write_bytes(copies[1].read_bytes())  # rewritten: the flags shown are stale
        out = tmp_path / "out"
        with pytest.raises(InputError, match="changed on disk since it was opened"):
            save_products(session, out)
        assert not out.exists()
    finally:
        session.close()


def test_products_of_settings_whose_computation_failed_are_computed_anew(session, tmp_path,
                                                                         monkeypatch):
    from badpix_inspector.cli import main as command
    from badpix_inspector.io import read_exposure

    monkeypatch.setattr(session._cache, "compute", lambda snapshot, **_: 1 / 0)
    session.set_parameters(kernel_size=5)  # fails: the flags shown are kernel 15's
    session.wait()
    assert session.result.parameters.kernel_size == 15 and not session.is_up_to_date()
    (written, *_) = save_products(session, tmp_path / "window")
    science = session.members().science
    assert command([str(science), "--selfcal", *map(str, session.members().selfcals),
                    "--bkg", *map(str, session.members().backgrounds), "--kernel_size", "5",
                    "--output_dir", str(tmp_path / "command")]) == 0
    ours = read_exposure(written, with_dq=True)
    theirs = read_exposure(tmp_path / "command" / written.name, with_dq=True)
    np.testing.assert_array_equal(ours.dq, theirs.dq)  # kernel 5's flags, not 15's
