"""badpix-selfcal batch on Dask: same products as the single command, failures, resume."""

import csv
import os
import time

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main
from badpix_inspector.simulate import make_association

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """An in-process Dask cluster that batch runs reach through --scheduler."""
    made = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                    dashboard_address=":0")
    yield made
    made.close()


@pytest.fixture(scope="module")
def associations(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_inputs")
    return [
        make_association(folder / f"a{number}", "NRS1", n_background=1, n_selfcal=1,
                         shape=(96, 128), seed=number, program=f"0100{number}").association
        for number in range(3)
    ]


def batch(cluster, *arguments):
    return main(["batch", *map(str, arguments), "--scheduler", cluster.scheduler_address, "-q"])


def read_summary(folder):
    with open(folder / "badpix_selfcal_summary.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def products(folder):
    return sorted(folder.glob("*_badpix_selfcal*.fits"))


def test_batch_equals_the_single_command(cluster, associations, tmp_path):
    out = tmp_path / "batch"
    assert batch(cluster, *associations, "--output_dir", out, "--kernel_size", "7",
                 "--save_flagged_bkg") == 0
    for association in associations:
        assert main([str(association), "--output_dir", str(tmp_path / "single"),
                     "--kernel_size", "7", "--save_flagged_bkg", "-q"]) == 0
    made = products(out)
    assert [p.name for p in made] == [p.name for p in products(tmp_path / "single")]
    assert len(made) == 6  # science and background for each association
    for path in made:
        with fits.open(path) as ours, fits.open(tmp_path / "single" / path.name) as theirs:
            for name in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE"):
                assert np.array_equal(ours[name].data, theirs[name].data, equal_nan=True)
    rows = read_summary(out)
    assert [row["status"] for row in rows] == ["complete"] * 3
    for row in rows:
        assert row["detector"] == "NRS1"
        assert int(row["flags_low"]) + int(row["flags_high"]) == int(row["flags_total"])
        dq = fits.getdata(row["science_product"], "DQ")
        assert int(row["flags_total"]) == int(((dq & (1 << 30)) != 0).sum())
        assert float(row["threshold_low"]) < float(row["threshold_high"])
    overview = (out / "badpix_selfcal_summary.html").read_text()
    assert overview.count("data:image/png;base64,") == 3


def test_a_failing_association_does_not_stop_the_others(cluster, associations, tmp_path,
                                                         capsys):
    broken = tmp_path / "broken_asn.json"
    broken.write_text(associations[0].read_text().replace("_00002_", "_99999_"))
    out = tmp_path / "out"
    assert batch(cluster, associations[1], broken, associations[2], "--output_dir", out) == 1
    rows = read_summary(out)
    assert [row["status"] for row in rows] == ["complete", "failed", "complete"]
    assert "does not exist" in rows[1]["reason"]
    err = capsys.readouterr().err
    assert "1 failed" in err and "broken_asn.json" in err
    assert "failed" in (out / "badpix_selfcal_summary.html").read_text()


def test_resume_skips_finished_products_and_overwrite_redoes_them(cluster, associations,
                                                                  tmp_path):
    out = tmp_path / "out"
    # An interrupted run: only the first association got done.
    assert batch(cluster, associations[0], "--output_dir", out) == 0
    first = products(out)[0]
    stamp = first.stat().st_mtime_ns
    assert batch(cluster, *associations, "--output_dir", out) == 0
    assert [row["status"] for row in read_summary(out)] == ["up to date", "complete", "complete"]
    assert first.stat().st_mtime_ns == stamp  # not rewritten
    # A newer input makes its product stale.
    science = associations[2].parent / read_summary(out)[2]["science"]
    later = time.time() + 5
    os.utime(science, (later, later))
    assert batch(cluster, *associations, "--output_dir", out) == 0
    assert [row["status"] for row in read_summary(out)] == ["up to date", "up to date",
                                                           "complete"]
    assert batch(cluster, *associations, "--output_dir", out, "--overwrite") == 0
    assert [row["status"] for row in read_summary(out)] == ["complete"] * 3
    assert not list(out.rglob("*.part"))  # nothing half-written anywhere


def test_parameter_file_and_collisions(cluster, associations, tmp_path, capsys):
    from badpix_inspector import SelfcalParameters
    from badpix_inspector.io import write_parameter_file

    pars = write_parameter_file(tmp_path / "p.asdf", SelfcalParameters(kernel_size=5))
    out = tmp_path / "out"
    assert batch(cluster, associations[0], "--pars", pars, "--output_dir", out) == 0
    assert "kernel_size=5" in str(fits.getheader(products(out)[0])["HISTORY"])
    # The same association twice would write the same product twice: the second fails.
    assert batch(cluster, associations[0], associations[0], "--output_dir",
                 tmp_path / "twice", "--overwrite") == 0  # the same path is listed once
    copy = tmp_path / "copy" / associations[0].name
    copy.parent.mkdir()
    copy.write_text(associations[0].read_text().replace('"expname": "',
                                                        f'"expname": "{associations[0].parent}/'))
    assert batch(cluster, associations[0], copy, "--output_dir", tmp_path / "clash") == 1
    assert "is also the product of" in read_summary(tmp_path / "clash")[1]["reason"]


@pytest.mark.parametrize(("arguments", "code"), [
    (["--workers", "0"], 2), (["--kernel_size", "4"], 2), (["--flagfrac_upper", "0.9"], 2),
])
def test_usage_errors(associations, arguments, code, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["batch", str(associations[0]), *arguments])
    assert caught.value.code == code
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_inputs_become_absolute_and_zero_overrides_the_parameter_file(cluster, associations,
                                                                      tmp_path, monkeypatch):
    from badpix_inspector import SelfcalParameters
    from badpix_inspector.batch import expand_inputs
    from badpix_inspector.io import write_parameter_file

    monkeypatch.chdir(associations[0].parent.parent)
    relative = f"{associations[0].parent.name}/*_asn.json"
    assert expand_inputs([relative]) == [associations[0].resolve()]
    pars = write_parameter_file(tmp_path / "p.asdf", SelfcalParameters(flagfrac_lower=0.01))
    out = tmp_path / "out"
    assert batch(cluster, relative, "--pars", pars, "--flagfrac_lower", "0",
                 "--output_dir", out) == 0
    assert "flagfrac_lower=0 " in str(fits.getheader(products(out)[0])["HISTORY"])


def test_nothing_matches(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "*_asn.json")]) == 1
    assert "matches no file" in capsys.readouterr().err


def test_default_local_cluster_of_processes(associations, tmp_path):
    out = tmp_path / "out"
    assert main(["batch", str(associations[1]), "--output_dir", str(out), "--workers", "1",
                 "-q"]) == 0
    assert [row["status"] for row in read_summary(out)] == ["complete"]
