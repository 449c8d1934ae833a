"""The per-dataset autosave and its lock, without Qt."""

import json
import os
import subprocess
import sys

import numpy as np

from badpix_inspector.core import ManualEdits
from badpix_inspector.model import Autosave, DatasetLock, UnsavedEdits, dataset_key


def test_the_key_is_the_set_of_files(tmp_path):
    a, b = tmp_path / "a_rate.fits", tmp_path / "b_rate.fits"
    assert dataset_key([a, b]) == dataset_key([b, a, a])
    assert dataset_key([a]) != dataset_key([a, b])
    assert dataset_key([]) is None
    assert len(dataset_key([a])) == 20 and dataset_key([a]).isalnum()


def test_one_lock_per_dataset_until_released(tmp_path):
    first, second = DatasetLock(tmp_path / "k.lock"), DatasetLock(tmp_path / "k.lock")
    assert first.acquire() and first.held
    assert not second.acquire() and not second.is_free()
    first.release()
    assert not (tmp_path / "k.lock").exists()
    assert second.acquire()
    second.release()


def test_a_dead_process_lock_is_taken_over_an_unreadable_young_one_is_not(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = tmp_path / "k.lock"
    path.write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename, "token": "x"}))
    lock = DatasetLock(path)
    assert lock.is_free() and lock.acquire()
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()
    path.write_text("{half written")
    assert not DatasetLock(path).acquire()  # being written right now, perhaps
    os.utime(path, (0, 0))
    assert DatasetLock(path).acquire()  # an old leftover


def test_a_live_process_lock_is_respected(tmp_path):
    path = tmp_path / "k.lock"
    path.write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename,
                                "token": "other"}))
    assert not DatasetLock(path).acquire()
    path.write_text(json.dumps({"pid": 1, "host": "another-machine", "token": "t"}))
    assert not DatasetLock(path).acquire()


def test_autosaves_follow_the_dataset_and_never_touch_anothers(tmp_path):
    folder = tmp_path / "autosave"
    mine, theirs = Autosave(folder), Autosave(folder)
    assert mine.switch("aaaa") and theirs.switch("bbbb")
    state = {"exposures": [], "parameters": {}, "edits": None}
    assert mine.write(state) is not None and theirs.write(state) is not None
    other_window = Autosave(folder)
    assert not other_window.switch("aaaa")  # the same data, held by `mine`
    assert other_window.write(state) is None and not other_window.available()
    other_window.remove()
    assert mine.available()
    assert other_window.orphans() == []  # both are held by live windows
    mine.release()  # as at a crash's end: the file stays, nobody holds it
    empty_window = Autosave(folder)
    assert [p.stem for p in empty_window.orphans()] == ["aaaa"]
    assert empty_window.discard_orphan(folder / "aaaa.json")
    assert not (folder / "aaaa.json").exists() and theirs.available()
    theirs.switch("cccc")  # moving to other data removes the old autosave it owned
    assert not (folder / "bbbb.json").exists() and not (folder / "bbbb.lock").exists()


def test_unsaved_edits_follow_the_revision():
    edits = ManualEdits((4, 5))
    unsaved = UnsavedEdits()
    assert not unsaved.pending(edits) and not unsaved.pending(None)
    edits.apply(np.array([1]), np.array([2]), 1)
    assert unsaved.pending(edits)
    unsaved.mark_saved(edits)
    assert not unsaved.pending(edits)
    unsaved.mark_unsaved()
    assert unsaved.pending(edits)
    edits.clear()
    assert not unsaved.pending(edits)  # nothing edited is nothing to lose
