"""The harder inputs of issue 10 (SPEC §3): each ends in a correct product or one clear line.

Nothing lost (no input replaced, through any option, path or link), nothing half-written
(no ``.part`` file, no orphan product), no traceback, no warning text.
"""

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main
from badpix_inspector.core import FLAG_BITS
from badpix_inspector.io import InputError, OutputGuard
from badpix_inspector.simulate import make_association

SCIENCE = "jw01523003001_03102_00001_nrs1_rate.fits"
BACKGROUND = "jw01523004001_03102_00002_nrs1_rate.fits"


def run(capsys, *arguments):
    # -q: the step's INFO log lines are not what is promised to be one line; the error is.
    quiet = [] if "batch" in arguments or "-q" in arguments else ["-q"]
    status = main([str(argument) for argument in arguments] + quiet)
    captured = capsys.readouterr()
    # For the report: the exit code and the line seen, with -s.
    print(f"\nCASE {status}: {captured.err.strip()[:300]}", file=sys.__stderr__)
    return status, captured.out, captured.err


def one_line(err, *words):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("badpix-selfcal")
    assert "Traceback" not in err and "Warning" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def listing(folder):
    return sorted(os.listdir(folder))


def no_part_files(*folders):
    for folder in folders:
        assert not [name for name in os.listdir(folder) if name.endswith((".part", ".old"))]


# -- outputs onto inputs ---------------------------------------------------------------


def test_save_parameters_onto_an_input_is_refused(small_copy, tmp_path, capsys, digests):
    folder, asn = small_copy
    before = digests(folder)
    out = tmp_path / "out"
    for target in (folder / BACKGROUND, asn, folder / "sub" / ".." / SCIENCE):
        if "sub" in str(target):
            (folder / "sub").mkdir(exist_ok=True)
        status, _, err = run(capsys, asn, "--output_dir", out, "--save-parameters", target)
        assert status == 1
        one_line(err, "would overwrite an input file", str(target))
    # The issue's own case: a hand-given background as the parameter file.
    status, _, err = run(capsys, folder / SCIENCE, "--bkg", folder / BACKGROUND,
                         "--output_dir", out, "--save-parameters", folder / BACKGROUND)
    assert status == 1
    one_line(err, "would overwrite an input file", BACKGROUND)
    assert digests(folder) == before
    assert not out.exists() or listing(out) == []


def test_links_to_inputs_are_refused(small_copy, tmp_path, capsys, digests):
    folder, asn = small_copy
    before = digests(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pars.asdf").symlink_to(folder / SCIENCE)
    os.link(folder / BACKGROUND, elsewhere / "hard.asdf")
    for target in ("pars.asdf", "hard.asdf"):
        status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out",
                             "--save-parameters", elsewhere / target)
        assert status == 1
        one_line(err, "would overwrite an input file", "the same file through a link")
    # A product name that is a link to an input: refused before any work.
    (elsewhere / "x_badpix_selfcal.fits").symlink_to(folder / SCIENCE)
    status, _, err = run(capsys, asn, "--output_dir", elsewhere, "--output_file", "x")
    assert status == 1
    one_line(err, "would overwrite an input file")
    assert digests(folder) == before


def test_batch_summary_onto_an_input_is_refused(small_copy, tmp_path, capsys, digests):
    folder, _ = small_copy
    before = digests(folder)
    out = tmp_path / "out"
    for summary in (folder / SCIENCE, folder / BACKGROUND.replace(".fits", ".csv")):
        # The second is the overview (.html beside it) check: a .csv beside a FITS input
        # is fine, so make the overview name collide with an input instead.
        if summary.suffix == ".csv":
            html = summary.with_suffix(".html")
            html.symlink_to(folder / SCIENCE)
        status, _, err = run(capsys, "batch", folder / SCIENCE, "--force_single",
                             "--output_dir", out, "--summary", summary, "--workers", "1", "-q")
        assert status == 1
        one_line(err, "would overwrite an input file")
        if summary.suffix == ".csv":
            html.unlink()
    assert digests(folder) == before
    assert not out.exists() or listing(out) == []


# -- stored differently: compressed, integer, scaled ----------------------------------


def rewrite_sci(path, make_hdu):
    with fits.open(path) as hdulist:
        hdus = [hdu.copy() for hdu in hdulist]
    sci = hdus[1]
    sci.data = np.nan_to_num(sci.data)  # integers have no NaN
    assert sci.name == "SCI"
    hdus[1] = make_hdu(sci.data, sci.header)
    fits.HDUList(hdus).writeto(path, overwrite=True)


def science_read(path):
    """SCI as jwst's datamodels present it: decompressed, scaled, float32."""
    with fits.open(path, memmap=False) as hdulist:
        return np.asarray(hdulist["SCI"].data, dtype=np.float32)


def check_product_keeps_unflagged(product, expected):
    with fits.open(product) as hdulist:
        sci = hdulist["SCI"]
        assert type(sci) is fits.ImageHDU and sci.header["BITPIX"] == -32
        assert "BSCALE" not in sci.header and "BZERO" not in sci.header
        data, dq = sci.data, hdulist["DQ"].data
        changed = (data != expected) & ~(np.isnan(data) & np.isnan(expected))
        # Only flagged pixels changed, to NaN; every other value is exactly as read.
        assert 0 < changed.sum() < 0.05 * changed.size
        assert np.isnan(data[changed]).all()
        assert ((dq[changed] & FLAG_BITS) == FLAG_BITS).all()


def test_lossy_tile_compressed_sci_is_written_without_loss(small_copy, tmp_path, capsys):
    folder, asn = small_copy
    science = folder / SCIENCE

    def compressed(data, header):
        return fits.CompImageHDU(data, header=header, name="SCI", compression_type="RICE_1",
                                 quantize_level=4.0)

    rewrite_sci(science, compressed)
    expected = science_read(science)
    with fits.open(science) as hdulist:
        assert isinstance(hdulist["SCI"], fits.CompImageHDU)
    status, _, err = run(capsys, asn, "--output_dir", tmp_path, "-q")
    assert status == 0, err
    check_product_keeps_unflagged(tmp_path / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits",
                                  expected)


def test_integer_sci_is_read_and_written_as_the_pipeline_does(small_copy, tmp_path, capsys):
    folder, asn = small_copy
    science = folder / SCIENCE
    rewrite_sci(science, lambda data, header: fits.ImageHDU(
        np.round(data * 100).astype(np.int32), header=header, name="SCI"))
    expected = science_read(science)
    status, _, err = run(capsys, asn, "--output_dir", tmp_path, "-q")
    assert status == 0, err
    check_product_keeps_unflagged(tmp_path / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits",
                                  expected)


def test_scaled_integer_sci_is_read_as_datamodels_scale_it(small_copy, tmp_path, capsys):
    folder, asn = small_copy
    science = folder / SCIENCE

    def scaled(data, header):
        hdu = fits.ImageHDU(np.round((data - 5) * 100).astype(np.int16), header=header,
                            name="SCI")
        hdu.header["BSCALE"] = 0.01
        hdu.header["BZERO"] = 5.0
        return hdu

    rewrite_sci(science, scaled)
    expected = science_read(science)
    assert expected.dtype == np.float32 and np.abs(expected).max() > 1  # really scaled
    status, _, err = run(capsys, asn, "--output_dir", tmp_path, "-q")
    assert status == 0, err
    check_product_keeps_unflagged(tmp_path / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits",
                                  expected)


# -- all or none, signals, disk full ---------------------------------------------------


def test_failure_after_the_first_product_leaves_no_orphan(small_copy, tmp_path, capsys):
    folder, asn = small_copy
    background = folder / BACKGROUND
    with fits.open(background) as hdulist:
        hdus = [hdu.copy() for hdu in hdulist]
    for index, hdu in enumerate(hdus):
        if hdu.name == "DQ":
            hdus[index] = fits.ImageHDU(np.zeros((10, 10), np.uint32), name="DQ")
    fits.HDUList(hdus).writeto(background, overwrite=True)
    out = tmp_path / "out"
    out.mkdir()
    old = out / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits"
    old.write_bytes(b"the product of an earlier run")
    status, _, err = run(capsys, asn, "--output_dir", out, "--save_flagged_bkg",
                         "--save-parameters", out / "pars.asdf")
    assert status == 1
    one_line(err, BACKGROUND, "DQ is (10, 10), unlike SCI")
    # No science product, no parameter file, no temporary file; the old product is intact.
    assert listing(out) == [old.name]
    assert old.read_bytes() == b"the product of an earlier run"


def test_rename_failure_puts_back_what_was_renamed(tmp_path, monkeypatch):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old a")
    real_replace = os.replace
    calls = []

    def replace(source, destination):
        calls.append(destination)
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match="cannot be written"), OutputGuard().batch() as outputs:
        outputs.stage(first, b"new a")
        outputs.stage(second, b"new b")
    monkeypatch.undo()
    assert first.read_text() == "old a" and listing(tmp_path) == ["a.txt"]


SLOW_WRITER = textwrap.dedent("""
    import pathlib, sys, time
    from astropy.io import fits
    real = fits.HDUList.writeto

    def slow(self, fileobj, *args, **kwargs):
        real(self, fileobj, *args, **kwargs)  # half the product is on disk...
        fileobj.flush()
        pathlib.Path(sys.argv[1]).write_text("writing")
        time.sleep(60)  # ...when the signal comes

    fits.HDUList.writeto = slow
    from badpix_inspector.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.parametrize(("signum", "code"), [("SIGTERM", -15), ("SIGINT", 130)])
def test_signal_during_a_product_write_leaves_nothing(small_copy, tmp_path, signum, code,
                                                      digests):
    import signal

    folder, asn = small_copy
    before = digests(folder)
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "marker"
    script = tmp_path / "slow.py"
    script.write_text(SLOW_WRITER)
    process = subprocess.Popen(
        [sys.executable, str(script), str(marker), str(asn), "--output_dir", str(out),
         "--save_flagged_bkg", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.communicate()[1]
        assert [name for name in os.listdir(out) if name.endswith(".part")]  # really mid-write
        process.send_signal(getattr(signal, signum))
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    print(f"\nCASE {process.returncode}: {err.strip()}", file=sys.__stderr__)
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert listing(out) == []
    assert digests(folder) == before


def test_disk_full_on_a_small_tmpfs(small_copy, tmp_path, capsys, digests):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder, asn = small_copy
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        before = digests(folder)
        status, _, err = run(capsys, asn, "--output_dir", mount, "--save_flagged_bkg")
        assert status == 1
        one_line(err, "cannot be written (the disk is full)", "free some space")
        assert listing(mount) == []
        assert digests(folder) == before
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_while_writing_a_product(small_copy, tmp_path, capsys, monkeypatch):
    _, asn = small_copy
    real = fits.HDUList.writeto

    def full(self, fileobj, *args, **kwargs):
        fileobj.write(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fits.HDUList, "writeto", full)
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out")
    monkeypatch.setattr(fits.HDUList, "writeto", real)
    assert status == 1
    one_line(err, "_badpix_selfcal.fits: cannot be written (the disk is full)")
    assert listing(tmp_path / "out") == []


# -- names, files that are not files, permissions --------------------------------------


def test_output_file_name_too_long(small_copy, tmp_path, capsys):
    _, asn = small_copy
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out", "--output_file",
                         "x" * 300)
    assert status == 1
    one_line(err, "the file name is 320 bytes long", "choose a shorter name")
    assert not (tmp_path / "out").exists() or listing(tmp_path / "out") == []


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifo_and_device_are_refused_without_being_opened(tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "x_rate.fits"
        os.mkfifo(target)
        expected = "is a FIFO (named pipe), not a regular file"
    else:
        target = "/dev/zero"
        expected = "is a character device, not a regular file"
    # A subprocess with a time limit: the bug was a hang, forever.
    done = subprocess.run([sys.executable, "-m", "badpix_inspector.cli", str(target),
                           "--output_dir", str(tmp_path / "out"), "-q"],
                          capture_output=True, text=True, timeout=60)
    print(f"\nCASE {done.returncode}: {done.stderr.strip()}", file=sys.__stderr__)
    assert done.returncode == 1
    one_line(done.stderr, expected, str(target))


def test_fifo_as_an_association_member(small_copy, tmp_path):
    folder, asn = small_copy
    (folder / BACKGROUND).unlink()
    os.mkfifo(folder / BACKGROUND)
    done = subprocess.run([sys.executable, "-m", "badpix_inspector.cli", str(asn),
                           "--output_dir", str(tmp_path / "out"), "-q"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    one_line(done.stderr, BACKGROUND, "FIFO")


def test_unreadable_file_is_said_to_be_unreadable(small_copy, tmp_path, capsys, monkeypatch):
    folder, _ = small_copy
    science = folder / SCIENCE
    science.chmod(0)
    if os.geteuid() == 0:
        # root reads anything (and nobody cannot run this venv's Python): show the command
        # what another user sees, a refusal by access() and by open().
        import builtins

        from badpix_inspector.io import exposures

        real_access = os.access

        def access(path, mode, **kwargs):
            return False if Path(path) == science else real_access(path, mode, **kwargs)

        def refuse(path, *args, **kwargs):
            if Path(path) == science:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return builtins.open(path, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
        monkeypatch.setattr(exposures, "open", refuse, raising=False)
    status, _, err = run(capsys, science, "--output_dir", tmp_path / "out", "--force_single")
    assert status == 1
    line = one_line(err, "permission denied", str(science))
    assert "not a FITS file" not in line
    assert not (tmp_path / "out").exists()
    if os.geteuid() == 0:
        # The second line of defence: open() refused although access() said yes.
        monkeypatch.setattr(os, "access", real_access)
        status, _, err = run(capsys, science, "--output_dir", tmp_path / "out",
                             "--force_single")
        assert status == 1
        one_line(err, "permission denied", str(science))


# -- damaged side files ----------------------------------------------------------------


def test_association_nested_100000_levels(tmp_path, capsys):
    asn = tmp_path / "deep_asn.json"
    asn.write_text('{"products": ' + "[" * 100_000 + "]" * 100_000 + "}")
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out")
    assert status == 1
    one_line(err, "nested too deeply", str(asn))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shape": "96x128"}, "shape is '96x128', not [rows, columns]"),
        ({"shape": [96, 128], "forced_bad": [[10**30, 3]]},
         "forced_bad is not a list of [row, column] pairs of pixel indices"),
        ({"shape": [96, 128], "forced_good": [[2, -(10**30)]]}, "forced_good is not a list"),
    ],
)
def test_damaged_edits_file(small_copy, tmp_path, capsys, change, message):
    _, asn = small_copy
    edits = tmp_path / "edits.json"
    document = {"format": "badpix-inspector edits", "version": 1, "forced_bad": [],
                "forced_good": [], **change}
    edits.write_text(json.dumps(document))
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out", "--edits", edits)
    assert status == 1
    one_line(err, message, str(edits))


# -- absurd parameters, warnings -------------------------------------------------------


def test_kernel_larger_than_the_image(small_copy, tmp_path, capsys):
    _, asn = small_copy
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "out", "--kernel_size",
                         "100000001")
    assert status == 1
    line = one_line(err, "kernel_size 100000001 is larger than the 96x128 image",
                    "at most 127")
    assert "memory" not in line


def test_twenty_digit_kernel_is_absurd(small_copy, tmp_path, capsys):
    _, asn = small_copy
    with pytest.raises(SystemExit) as caught:
        main([str(asn), "--kernel_size", "12345678901234567891"])
    err = capsys.readouterr().err
    print(f"\nCASE {caught.value.code}: {err.strip()}", file=sys.__stderr__)
    assert caught.value.code == 2
    line = one_line(err, "kernel_size 12345678901234567891 is absurd")
    assert "use 1234" not in line


def run_quietly_in_a_process(*arguments):
    done = subprocess.run([sys.executable, "-m", "badpix_inspector.cli",
                           *map(str, arguments)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "default"})
    return done


def test_almost_all_nan_image_leaks_no_warning(small_copy, tmp_path):
    folder, asn = small_copy
    for name in os.listdir(folder):
        if name.endswith(".fits"):
            with fits.open(folder / name, mode="update") as hdulist:
                sci = hdulist["SCI"].data
                keep = sci[5, 7]
                sci[...] = np.nan
                sci[5, 7] = keep
    done = run_quietly_in_a_process(asn, "--output_dir", tmp_path / "out", "-q")
    print(f"\nCASE {done.returncode}: {done.stderr.strip()}", file=sys.__stderr__)
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits").is_file()


def test_miri_frame_smaller_than_the_pedestal_region(tmp_path):
    made = make_association(tmp_path / "in", "MIRIFULONG", n_background=1, n_selfcal=0,
                            shape=(40, 60), seed=2)
    done = run_quietly_in_a_process(made.association, "--output_dir", tmp_path / "out",
                                    "--kernel_size", "7", "-q")
    print(f"\nCASE {done.returncode}: {done.stderr.strip()}", file=sys.__stderr__)
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr


def test_sigterm_while_a_full_frame_product_is_written(tmp_path):
    """No hook: a real 2048x2048 product, SIGTERM as soon as its temporary file appears."""
    import signal

    made = make_association(tmp_path / "in", "NRS1", n_background=0, n_selfcal=0, seed=30)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "badpix_inspector.cli", str(made.science), "--output_dir",
         str(out), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if any(name.endswith(".part") for name in os.listdir(out)):
                process.send_signal(signal.SIGTERM)
                break
            time.sleep(0.002)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    print(f"\nCASE {process.returncode}: {err.strip()}", file=sys.__stderr__)
    assert "Traceback" not in err
    # Whatever the moment: the whole product, or nothing; never a temporary file.
    if process.returncode == 0:
        assert listing(out) == ["jw01523003001_03102_00001_nrs1_badpix_selfcal.fits"]
    else:
        assert process.returncode == -signal.SIGTERM
        assert listing(out) == []
