"""The output guard: never onto an input, atomic, all or none (issue 10)."""

import os

import numpy as np
import pytest

from badpix_inspector import SelfcalParameters
from badpix_inspector.io import (
    InputError,
    OutputGuard,
    check_input_file,
    remove_stale_temporaries,
    write_edits,
    write_file,
    write_flag_mask,
    write_flag_regions,
    write_parameter_file,
    write_session,
)


@pytest.fixture
def an_input(tmp_path):
    path = tmp_path / "in" / "x_rate.fits"
    path.parent.mkdir()
    path.write_bytes(b"precious")
    return path


def test_every_way_to_reach_an_input_is_refused(an_input, tmp_path):
    guard = OutputGuard([an_input])
    (tmp_path / "sub").mkdir()
    (tmp_path / "soft.fits").symlink_to(an_input)
    os.link(an_input, tmp_path / "hard.fits")
    for path in (an_input, tmp_path / "sub" / ".." / "in" / "x_rate.fits",
                 tmp_path / "soft.fits", tmp_path / "hard.fits"):
        with pytest.raises(InputError, match="would overwrite an input file"):
            guard.write(path, b"new")
    assert an_input.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["hard.fits", "in", "soft.fits", "sub"]


def test_non_files_are_not_written_over(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    guard = OutputGuard()
    with pytest.raises(InputError, match="is a FIFO"):
        guard.write(tmp_path / "pipe", b"x")
    with pytest.raises(InputError, match="is a folder"):
        guard.write(tmp_path / "folder", b"x")


def test_a_set_is_written_all_or_none(tmp_path):
    guard = OutputGuard()
    (tmp_path / "a").write_bytes(b"old a")
    with pytest.raises(RuntimeError), guard.batch() as outputs:
        outputs.stage(tmp_path / "a", b"new a")
        outputs.stage(tmp_path / "b", b"new b")
        raise RuntimeError("the third file failed")
    assert sorted(os.listdir(tmp_path)) == ["a"] and (tmp_path / "a").read_bytes() == b"old a"
    with guard.batch() as outputs:
        outputs.stage(tmp_path / "a", b"new a")
        outputs.stage(tmp_path / "b", lambda stream: stream.write(b"new b"))
        assert sorted(os.listdir(tmp_path)) != ["a", "b"]  # staged, not yet in place
    assert outputs.written == [tmp_path / "a", tmp_path / "b"]
    assert (tmp_path / "a").read_bytes() == b"new a" and (tmp_path / "b").read_bytes() == b"new b"
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    with pytest.raises(InputError, match="same file"), guard.batch() as outputs:
        outputs.stage(tmp_path / "c", b"1")
        outputs.stage(tmp_path / "." / "c", b"2")
    assert not (tmp_path / "c").exists()


def test_the_writers_take_the_inputs_to_protect(an_input, tmp_path):
    flags = np.zeros((4, 5), bool)
    writers = [
        lambda path, inputs: write_parameter_file(path, SelfcalParameters(), inputs),
        lambda path, inputs: write_edits(path, {"forced_bad": [], "forced_good": []}, None,
                                         inputs),
        lambda path, inputs: write_flag_mask(path, flags, flags, flags, flags, None, inputs),
        lambda path, inputs: write_flag_regions(path, {"high": flags}, inputs=inputs),
        lambda path, inputs: write_file(path, b"png bytes", inputs),
    ]
    for write in writers:
        with pytest.raises(InputError, match="would overwrite an input"):
            write(an_input, [an_input])
        with pytest.raises(InputError, match="would overwrite an input"):
            write(an_input, OutputGuard([an_input]))
        assert write(tmp_path / "fine.out", [an_input]) == tmp_path / "fine.out"
    assert an_input.read_bytes() == b"precious"


def test_a_session_never_replaces_its_own_exposures(an_input):
    state = {"exposures": [{"path": str(an_input), "role": "science"}], "association": None}
    with pytest.raises(InputError, match="would overwrite an input"):
        write_session(an_input, state)
    assert an_input.read_bytes() == b"precious"


def test_input_files_are_examined_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe_rate.fits")
    with pytest.raises(InputError, match="FIFO"):
        check_input_file(tmp_path / "pipe_rate.fits")  # would block if it were opened
    with pytest.raises(InputError, match="character device"):
        check_input_file("/dev/null")
    with pytest.raises(InputError, match="no such file"):
        check_input_file(tmp_path / "missing.fits")
    (tmp_path / "empty.fits").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        check_input_file(tmp_path / "empty.fits")


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    product = tmp_path / "x_badpix_selfcal.fits"
    stale = tmp_path / ".x_badpix_selfcal.fits.abc123.part"
    stale.write_bytes(b"half")
    other = tmp_path / ".y_badpix_selfcal.fits.abc123.part"
    other.write_bytes(b"not ours")
    assert remove_stale_temporaries([product]) == [stale]
    assert sorted(os.listdir(tmp_path)) == [other.name]


def test_messages_are_one_line():
    error = InputError("f.fits", "first\nsecond\n  third", "do\nthis")
    assert str(error) == "f.fits: first second third; do this"
