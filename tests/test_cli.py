"""The badpix-selfcal command: products, logs, exit codes and every bad input of SPEC §3."""

import json
import os
import subprocess
import sys

import asdf
import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector import badpix_selfcal
from badpix_inspector.cli import main
from badpix_inspector.core import FLAG_BITS, combine
from badpix_inspector.io import read_exposure


def run(capsys, *arguments):
    status = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_association_products_and_log(small_copy, tmp_path, capsys):
    folder, asn = small_copy
    out = tmp_path / "out"
    status, _, err = run(capsys, asn, "--output_dir", out, "--save_flagged_bkg",
                         "--kernel_size", "5", "--flagfrac_upper", "0.01")
    assert status == 0
    assert sorted(os.listdir(out)) == [
        "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits",
        "jw01523003001_03102_00001_nrs1_badpix_selfcal_bkg_0.fits",
    ]
    # The flags are those of the core on the same exposures.
    exposures = [read_exposure(p) for p in sorted(folder.glob("*_rate.fits"))]
    combined = combine([e.sci for e in exposures], "NRS1").image
    expected = np.zeros(combined.shape, dtype=bool)
    expected[badpix_selfcal(combined, 0.001, 0.01, 5, 1)] = True
    assert f"Number of new bad pixels flagged: {expected.sum()}" in err
    with fits.open(out / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits") as product:
        assert product[0].header["S_BPXSLF"] == "COMPLETE"
        assert ((product["DQ"].data & FLAG_BITS) == FLAG_BITS)[expected].all()
        np.testing.assert_array_equal(np.isnan(product["SCI"].data) & ~np.isnan(
            exposures[0].sci), expected & ~np.isnan(exposures[0].sci))
        history = str(product[0].header["HISTORY"])
        assert "badpix-inspector" in history and "kernel_size=5" in history


def test_skip_rule_and_force_single(small_copy, tmp_path, capsys):
    folder, _ = small_copy
    science = folder / "jw01523003001_03102_00001_nrs1_rate.fits"
    status, _, err = run(capsys, science, "--output_dir", tmp_path)
    assert status == 0
    assert "Skipping step" in err and "--force_single" in err
    product = tmp_path / "jw01523003001_03102_00001_nrs1_badpix_selfcal.fits"
    with fits.open(product) as skipped, fits.open(science) as original:
        assert skipped[0].header["S_BPXSLF"] == "SKIPPED"
        for name in ("SCI", "DQ", "ERR"):
            np.testing.assert_array_equal(skipped[name].data, original[name].data)
    status, _, err = run(capsys, science, "--output_dir", tmp_path, "--force-single")
    assert status == 0 and "Number of new bad pixels flagged" in err
    with fits.open(product) as forced:
        assert forced[0].header["S_BPXSLF"] == "COMPLETE"


def test_hand_given_lists_and_output_file(small_copy, tmp_path, capsys):
    folder, _ = small_copy
    science, *selfcals, background = sorted(folder.glob("*_rate.fits"))
    out = tmp_path / "out"
    status, _, _ = run(capsys, science, "--bkg", background, "--selfcal", *selfcals,
                       "--output_dir", out, "--output_file", "mine.fits",
                       "--save-flagged-bkg", "-q")
    assert status == 0
    assert sorted(os.listdir(out)) == ["mine_badpix_selfcal.fits",
                                            "mine_badpix_selfcal_bkg_0.fits"]


def test_save_parameters(small_copy, tmp_path, capsys):
    _, asn = small_copy
    pars = tmp_path / "tuned.asdf"
    status, _, _ = run(capsys, asn, "--output_dir", tmp_path, "--kernel-size", "21",
                       "--save-parameters", pars, "-q")
    assert status == 0
    with asdf.open(pars) as handle:
        assert handle.tree["parameters"]["kernel_size"] == 21


def test_existing_outputs_are_replaced(small_copy, tmp_path, capsys):
    _, asn = small_copy
    assert run(capsys, asn, "--output_dir", tmp_path, "-q")[0] == 0
    assert run(capsys, asn, "--output_dir", tmp_path, "-q", "--kernel_size", "3")[0] == 0
    (product,) = tmp_path.glob("*.fits")
    assert "kernel_size=3" in str(fits.getheader(product)["HISTORY"])


# --- every bad input ends in one clear line, inputs unchanged, nothing left behind -----------


def damage(folder, asn, how):
    """Make one kind of bad input; return the arguments that use it."""
    science = folder / "jw01523003001_03102_00001_nrs1_rate.fits"
    background = folder / "jw01523004001_03102_00002_nrs1_rate.fits"
    if how == "not fits":
        science.write_text("this is not FITS " * 300)
    elif how == "truncated":
        science.write_bytes(science.read_bytes()[:50000])
    elif how == "empty":
        science.write_bytes(b"")
    elif how == "no sci":
        fits.HDUList([fits.PrimaryHDU()]).writeto(science, overwrite=True)
    elif how == "3-d sci":
        cube = fits.ImageHDU(np.zeros((2, 96, 128), np.float32), name="SCI")
        fits.HDUList([fits.PrimaryHDU(), cube]).writeto(science, overwrite=True)
    elif how == "shapes differ":
        smaller = fits.ImageHDU(np.zeros((90, 128), np.float32), name="SCI")
        fits.HDUList([fits.PrimaryHDU(), smaller]).writeto(background, overwrite=True)
    elif how == "asn not json":
        asn.write_text("products: [science]")
    elif how == "no science":
        document = json.loads(asn.read_text())
        document["products"][0]["members"] = document["products"][0]["members"][1:]
        asn.write_text(json.dumps(document))
    elif how == "two sciences":
        document = json.loads(asn.read_text())
        for member in document["products"][0]["members"][:2]:
            member["exptype"] = "science"
        asn.write_text(json.dumps(document))
    elif how == "missing member":
        background.unlink()
    return [asn]


DATA_ERRORS = {
    "not fits": "not a FITS file",
    "truncated": "truncated",
    "empty": "the file is empty",
    "no sci": "has no SCI extension",
    "3-d sci": "per-integration products",
    "shapes differ": "SCI is 90x128, unlike the science exposure",
    "asn not json": "not a JSON association",
    "no science": "has no science member",
    "two sciences": "has 2 science members",
    "missing member": "does not exist",
}


@pytest.mark.parametrize("how", list(DATA_ERRORS))
def test_bad_data_inputs_exit_1_cleanly(small_copy, tmp_path, capsys, digests, how):
    folder, asn = small_copy
    arguments = damage(folder, asn, how)
    before = digests(folder)
    out = tmp_path / "out"
    status, stdout, err = run(capsys, *arguments, "--output_dir", out, "-q")
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("badpix-selfcal: error: ")
    assert DATA_ERRORS[how] in lines[0]
    assert "Traceback" not in err and stdout == ""
    assert digests(folder) == before
    assert not out.exists() or os.listdir(out) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--flagfrac_lower", "0.6"], "flagfrac_lower must be a number from 0 to 0.5"),
        (["--flagfrac_upper", "-0.1"], "flagfrac_upper must be a number from 0 to 0.5"),
        (["--flagfrac_upper", "nan"], "flagfrac_upper must be"),
        (["--kernel_size", "0"], "kernel_size must be an odd integer >= 1"),
        (["--kernel_size", "14"], "kernel_size must be odd, not 14"),
        (["--kernel_size", "seven"], "kernel_size must be"),
        (["--no-such-option"], "unrecognized arguments"),
        (["-v", "-q"], "not allowed with"),
    ],
)
def test_usage_errors_exit_2_in_one_line(small_copy, tmp_path, capsys, digests, arguments,
                                        message):
    folder, asn = small_copy
    before = digests(folder)
    with pytest.raises(SystemExit) as caught:
        main([str(asn), "--output_dir", str(tmp_path / "out"), *arguments])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert digests(folder) == before and not (tmp_path / "out").exists()


def test_output_folder_that_cannot_be_written(small_copy, tmp_path, capsys):
    _folder, asn = small_copy
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    status, _, err = run(capsys, asn, "--output_dir", blocker / "sub", "-q")
    assert status == 1 and "cannot be written" in err and len(err.strip().splitlines()) == 1


def test_output_over_an_input_is_refused(small_copy, capsys, digests):
    folder, _ = small_copy
    science = folder / "jw01523003001_03102_00001_nrs1_rate.fits"
    target = folder / "x_badpix_selfcal.fits"
    target.write_bytes(science.read_bytes())
    before = digests(folder)
    status, _, err = run(capsys, target, "--force_single", "--output_dir", folder, "-q")
    assert status == 1 and "would overwrite an input file" in err
    assert digests(folder) == before


def test_output_file_with_several_products_is_a_usage_error(small_copy, capsys):
    _folder, asn = small_copy
    document = json.loads(asn.read_text())
    document["products"].append(document["products"][0])
    asn.write_text(json.dumps(document))
    with pytest.raises(SystemExit) as caught:
        main([str(asn), "--output_file", "one"])
    assert caught.value.code == 2 and "names one product" in capsys.readouterr().err


def test_missing_input(tmp_path, capsys):
    status, _, err = run(capsys, tmp_path / "nothing_rate.fits", "-q")
    assert status == 1 and "no such file" in err


def test_console_script_runs_as_a_process(small_copy, tmp_path):
    _, asn = small_copy
    result = subprocess.run(
        [sys.executable, "-m", "badpix_inspector.cli", str(asn), "--output_dir", str(tmp_path)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Number of new bad pixels flagged" in result.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "badpix_inspector.cli", "--help"], capture_output=True, text=True,
        timeout=60,
    ).stdout
    for option in ("--flagfrac_lower", "--kernel_size", "--save_flagged_bkg", "--output_dir"):
        assert option in help_text


def test_edits_file_overrules_the_algorithm(small_copy, tmp_path, capsys):
    from badpix_inspector.io import write_edits

    _, asn = small_copy
    assert run(capsys, asn, "--output_dir", tmp_path / "plain", "-q")[0] == 0
    (plain,) = (tmp_path / "plain").glob("*.fits")
    algorithm = (fits.getdata(plain, "DQ") & (1 << 30)) != 0
    flagged_pixel = np.argwhere(algorithm)[0].tolist()
    clean_pixel = np.argwhere(~algorithm)[0].tolist()
    edits = write_edits(tmp_path / "edits.json", {
        "shape": list(algorithm.shape), "forced_bad": [clean_pixel],
        "forced_good": [flagged_pixel]})
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "edited", "--edits", edits)
    assert status == 0 and "1 forced bad, 1 forced good" in err
    (edited,) = (tmp_path / "edited").glob("*.fits")
    final = (fits.getdata(edited, "DQ") & (1 << 30)) != 0
    expected = algorithm.copy()
    expected[tuple(clean_pixel)] = True
    expected[tuple(flagged_pixel)] = False
    np.testing.assert_array_equal(final, expected)
    assert "manual edits: 1 pixels forced bad" in str(fits.getheader(edited)["HISTORY"])
    # Edits for another detector are refused in one line, and nothing is written.
    wrong = write_edits(tmp_path / "wrong.json", {"shape": [5, 5], "forced_bad": [[4, 4]],
                                                 "forced_good": []})
    status, _, err = run(capsys, asn, "--output_dir", tmp_path / "wrong", "--edits", wrong,
                         "-q")
    assert status == 1 and "the edits are for 5x5 pixels" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "wrong").exists()


def test_history_names_every_parameter_exactly_one_card_a_line(small_copy, tmp_path):
    _folder, association = small_copy
    assert main([str(association), "--output_dir", str(tmp_path / "out"), "-q",
                 "--flagfrac_upper", "0.0053911315129430695"]) == 0
    product = next((tmp_path / "out").glob("*_badpix_selfcal.fits"))
    cards = list(fits.getheader(product)["HISTORY"])
    # Seen cut mid-number by astropy ("flagfrac_lower=0.0" / "01 …") when a line was long.
    assert all(len(card) <= 72 for card in cards)
    text = " ".join(cards)
    for word in ("kernel_size=15", "flagfrac_lower=0.001", "force_single=False",
                 "flagfrac_upper=0.0053911315129430695", "save_flagged_bkg=False"):
        assert f" {word} " in f" {text} ", text
