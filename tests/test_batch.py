"""badpix-selfcal batch on Dask: same products as the single command, failures, resume."""

import csv
import os
import subprocess
import sys
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


# -- issue 10: what reaches the CSV and HTML, odd names, unreachable schedulers ----------


def exposure_named(folder, name, seed=0):
    """One small NIRSpec exposure under an arbitrary (str or bytes) file name."""
    made = make_association(folder / f"src{seed}", "NRS1", n_background=0, n_selfcal=0,
                            shape=(48, 64), seed=seed)
    target = os.path.join(os.fsencode(folder), os.fsencode(name))
    os.rename(made.exposures[0], target)
    return os.fsdecode(target)


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_are_escaped_against_formulas(prefix, tmp_path):
    from badpix_inspector.batch import SUMMARY_FIELDS, write_summary

    text = f'{prefix}HYPERLINK("http://example.invalid","x")'
    row = {key: "" for key in SUMMARY_FIELDS}
    row.update(association=text, science=text, reason=text, status="failed",
               threshold_low=-0.25, flags_total=3)
    write_summary([row], tmp_path / "s.csv")
    with open(tmp_path / "s.csv", newline="") as stream:
        read = next(iter(csv.DictReader(stream)))
    for key in ("association", "science", "reason"):
        assert read[key] == "'" + text  # shown as text by a spreadsheet, not run
    assert read["threshold_low"] == "-0.25"  # numbers stay numbers
    assert read["flags_total"] == "3"


def test_formula_file_name_through_a_batch(cluster, tmp_path):
    name = '=HYPERLINK("evil")_rate.fits'
    science = exposure_named(tmp_path, name)
    out = tmp_path / "out"
    assert batch(cluster, science, "--force_single", "--output_dir", out) == 0
    row = read_summary(out)[0]
    assert row["science"] == "'" + name and row["status"] == "complete"
    page = (out / "badpix_selfcal_summary.html").read_text()
    assert "=HYPERLINK(&quot;evil&quot;)" in page and '("evil' not in page


def test_overview_escapes_html(tmp_path):
    from badpix_inspector import SelfcalParameters
    from badpix_inspector.batch import SUMMARY_FIELDS, write_overview

    evil = '<script>alert("x")</script>&<img src=x onerror=1>'
    row = {key: "" for key in SUMMARY_FIELDS}
    row.update(association=f"/data/{evil}.json", product=0, science=evil, status="failed",
               reason=evil)
    page = write_overview([row], tmp_path / "o.html", SelfcalParameters()).read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page


def test_non_utf8_file_names_reach_csv_html_and_log(cluster, tmp_path, capsys):
    science = exposure_named(tmp_path, b"caf\xe9_rate.fits")
    broken = exposure_named(tmp_path, b"na\xefve_rate.fits", seed=1)
    with open(broken, "r+b") as stream:  # the second fails: its name reaches the log
        stream.truncate(5000)
    out = tmp_path / "out"
    assert batch(cluster, science, broken, "--force_single", "--output_dir", out) == 1
    raw = (out / "badpix_selfcal_summary.csv").read_bytes()
    assert b"caf\xe9_rate.fits" in raw and b"na\xefve_rate.fits" in raw  # the bytes on disk
    with open(out / "badpix_selfcal_summary.csv", newline="", encoding="utf-8",
              errors="surrogateescape") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["status"] for row in rows] == ["complete", "failed"]
    assert os.path.exists(rows[0]["science_product"])  # the name leads back to the file
    page = (out / "badpix_selfcal_summary.html").read_text(encoding="utf-8")  # valid UTF-8
    assert "caf\\xe9_rate.fits" in page
    err = capsys.readouterr().err
    assert "na\\udcefve_rate.fits" in err or "na\\xefve_rate.fits" in err
    assert "Traceback" not in err and "UnicodeEncodeError" not in err


def test_unreachable_scheduler_is_one_line(associations, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "badpix_inspector.cli", "batch", str(associations[0]),
         "--output_dir", str(tmp_path / "out"), "--scheduler", "foo://nowhere:1"],
        capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "cannot reach the Dask scheduler foo://nowhere:1" in lines[0]
    assert "check the address" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing made, not even the folder


def test_thumbnails_are_pngs_pillow_can_read():
    import io

    from PIL import Image

    from badpix_inspector.batch import flag_thumbnail

    flags = np.zeros((300, 200), bool)
    flags[0, 0] = flags[299, 199] = True
    png = flag_thumbnail(flags, np.zeros_like(flags))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGB"
    pixels = np.asarray(image)
    assert pixels.shape[0] == 150 and pixels.shape[1] == 100  # 2x2 blocks
    assert tuple(pixels[-1, 0]) == (255, 60, 40)  # row 0 at the bottom, flagged
    assert tuple(pixels[0, -1]) == (255, 60, 40)
    assert tuple(pixels[70, 50]) == (20, 20, 20)


def test_progress_bar_and_dashboard_address(associations, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "badpix_inspector.cli", "batch", str(associations[1]),
         "--output_dir", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1/1" in done.stderr  # tqdm's count
    assert "Dask dashboard at http" in done.stderr
