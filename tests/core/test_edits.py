import numpy as np
import pytest

from badpix_inspector.core import ManualEdits, final_flags


def test_edit_undo_redo_restores_the_same_flag_sets():
    edits = ManualEdits((10, 12))
    assert edits.apply([1, 2], [3, 4], 1) == 2
    assert edits.apply([5], [5], -1) == 1
    after = edits.state.copy()
    assert edits.n_forced_bad == 2 and edits.n_forced_good == 1
    assert edits.undo() and edits.n_forced_good == 0
    assert edits.undo() and not edits.state.any()
    assert not edits.undo()
    assert edits.redo() and edits.redo() and not edits.redo()
    np.testing.assert_array_equal(edits.state, after)


def test_a_gesture_is_one_undo_step_and_new_edits_drop_the_redo_history():
    edits = ManualEdits((8, 8))
    for column in range(5):
        edits.apply([2], [column], 1, gesture="stroke-1")
    assert edits.n_forced_bad == 5
    edits.undo()
    assert edits.n_forced_bad == 0
    edits.redo()
    edits.apply([7], [7], -1)
    edits.undo()
    edits.apply([0], [0], 1)
    assert not edits.can_redo


def test_overwriting_an_edit_and_undoing_it_brings_back_the_old_value():
    edits = ManualEdits((4, 4))
    edits.apply([1], [1], 1)
    edits.apply([1, 2], [1, 2], -1)  # turns the bad pixel good
    assert edits.state[1, 1] == -1
    edits.undo()
    assert edits.state[1, 1] == 1 and edits.state[2, 2] == 0


def test_outside_pixels_are_ignored_and_no_change_is_no_step():
    edits = ManualEdits((4, 4))
    assert edits.apply([-1, 4, 0], [0, 0, 9], 1) == 0
    assert not edits.can_undo
    edits.apply([0], [0], 1)
    assert edits.apply([0], [0], 1) == 0
    with pytest.raises(ValueError):
        edits.apply([0], [0], 2)


def test_final_flags_and_dict_round_trip():
    algorithm = np.array([[True, False], [True, False]])
    edits = ManualEdits((2, 2))
    edits.apply([0], [1], 1)
    edits.apply([1], [0], -1)
    final = final_flags(algorithm, edits.forced_bad, edits.forced_good)
    np.testing.assert_array_equal(final, [[True, True], [False, False]])
    copy = ManualEdits((2, 2))
    copy.load(edits.to_dict()["forced_bad"], edits.to_dict()["forced_good"])
    np.testing.assert_array_equal(copy.state, edits.state)
    edits.clear()
    assert not edits.state.any() and edits.undo() and edits.state.any()


def test_one_gesture_is_one_step_whatever_values_it_sets():
    edits = ManualEdits((4, 5))
    edits.apply([0], [0], 1)  # an earlier edit of its own
    before = edits.state.copy()
    # A region file read as edits: some pixels bad, others good, one pixel both (the good
    # region comes second), all with one gesture.
    assert edits.apply([1, 1, 2], [1, 2, 3], 1, gesture="regions") == 3
    assert edits.apply([2, 3], [3, 4], -1, gesture="regions") == 2
    after = edits.state.copy()
    assert after[1, 1] == 1 and after[2, 3] == -1 and after[3, 4] == -1
    assert edits.undo()  # the whole gesture
    np.testing.assert_array_equal(edits.state, before)
    assert edits.redo()
    np.testing.assert_array_equal(edits.state, after)
    assert edits.undo() and edits.undo() and not edits.state.any() and not edits.can_undo
