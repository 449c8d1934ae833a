"""The window's Qt-free model: roles, parameters, staged recomputation, newest-wins."""

import threading

import numpy as np
import pytest

from badpix_inspector import badpix_selfcal
from badpix_inspector.core import ParameterError, combine
from badpix_inspector.inspection import is_provisional
from badpix_inspector.io import InputError, read_exposure
from badpix_inspector.session import LABEL_ALREADY_BAD, LABEL_HIGH, LABEL_LOW, Session
from oracles import source_index


@pytest.fixture
def session():
    made = Session()
    yield made
    made.close()


def results_of(session):
    received = []
    session.result_ready.connect(received.append)
    return received


def test_association_roles_and_flags_equal_the_core(session, small_nirspec):
    received = results_of(session)
    session.open_paths([small_nirspec.association])
    session.wait()
    assert [e.role for e in session.entries] == ["science", "background", "selfcal", "selfcal"]
    result = received[-1]
    assert result.status == "complete" and session.result is result
    scis = [e.exposure.read_sci() for e in session.entries]
    expected = np.zeros(scis[0].shape, dtype=bool)
    expected[badpix_selfcal(combine(scis, "NRS1").image, kernel_size=15, dispaxis=1)] = True
    np.testing.assert_array_equal(result.flags, expected)
    stats = result.statistics
    assert stats.n_total == expected.sum() == stats.n_low + stats.n_high
    assert (result.labels == LABEL_LOW).sum() == stats.n_low
    assert (result.labels == LABEL_HIGH).sum() == stats.n_high
    already_bad = (np.asarray(session.entries[0].exposure.dq) & 1) != 0
    assert stats.n_already_bad == already_bad.sum()
    assert ((result.labels == LABEL_ALREADY_BAD) == (already_bad & ~expected)).all()
    assert stats.n_finite == np.isfinite(result.difference).sum()
    assert 0 < stats.sigma < np.nanstd(result.difference) * 3
    # Which exposure supplied the minimum, pixel by pixel, is what the whole-image
    # function of the combine stage says (ties to the first exposure, -1 for all-NaN).
    combined = combine(scis, "NRS1")
    everywhere = source_index(combined, scis)
    rows, columns = scis[0].shape
    assert (everywhere == -1).any() and len(np.unique(everywhere)) == 5
    by_pixel = [[result.source_of(row, column) for column in range(columns)]
                for row in range(rows)]
    np.testing.assert_array_equal(by_pixel, everywhere)


def test_fraction_change_reuses_the_smoothed_image_kernel_change_does_not(session,
                                                                          small_nirspec):
    received = results_of(session)
    session.open_paths([small_nirspec.association])
    session.wait()
    first = received[-1]
    session.set_parameters(flagfrac_upper=0.01)
    session.wait()
    second = received[-1]
    assert second.smoothed is first.smoothed and second.combined is first.combined
    assert second.statistics.n_high > first.statistics.n_high
    session.set_parameters(kernel_size=7)
    session.wait()
    third = received[-1]
    assert third.smoothed is not first.smoothed and third.combined is first.combined
    session.set_role(1, "ignored")  # roles: recompute from the start
    session.wait()
    assert received[-1].combined is not first.combined


def test_dispersion_axis_override_and_defaults(session, small_nirspec):
    session.open_paths([small_nirspec.association])
    assert session.dispaxis == 1 and session.file_dispaxis == 1
    session.set_dispaxis_choice(None)
    session.wait()
    assert session.dispaxis is None and session.result.dispaxis is None
    session.set_dispaxis_choice(2)
    session.set_parameters(kernel_size=21, flagfrac_lower=0.01)
    session.reset_parameters()
    session.wait()
    assert session.dispaxis == 1 and session.parameters.kernel_size == 15
    with pytest.raises(ParameterError):
        session.set_parameters(kernel_size=4)
    with pytest.raises(ValueError):
        session.set_dispaxis_choice(3)


def test_skipped_and_empty(session, small_nirspec):
    session.open_paths([small_nirspec.science])
    session.wait()
    assert session.result.status == "skipped" and "force_single" in session.result.message
    session.set_parameters(force_single=True)
    session.wait()
    assert session.result.status == "complete"
    session.set_role(0, "ignored")
    session.wait()
    assert session.result.status == "empty"


def test_loose_files_become_science_then_selfcal_and_shapes_must_agree(session, small_nirspec,
                                                                       tmp_path):
    session.open_paths([small_nirspec.science, small_nirspec.backgrounds[0]])
    assert [e.role for e in session.entries] == ["science", "selfcal"]
    session.set_role(1, "science")
    assert [e.role for e in session.entries] == ["selfcal", "science"]
    from badpix_inspector.simulate import simulate_exposure, write_exposure

    planes, _, _ = simulate_exposure("NRS1", shape=(50, 60))
    other = write_exposure(tmp_path / "other_rate.fits", planes, "NRS1")
    with pytest.raises(InputError, match="unlike the other exposures"):
        session.open_paths([other])
    assert len(session.entries) == 2  # nothing added
    session.remove(0)
    assert len(session.entries) == 1
    members = session.members()
    assert members.science == small_nirspec.backgrounds[0]


def test_newest_request_wins(small_nirspec):
    release = threading.Event()
    delivered = []

    def slow_dispatch(function):
        release.wait(10)
        function()

    session = Session(dispatch=slow_dispatch)
    try:
        session.result_ready.connect(delivered.append)
        session.open_paths([small_nirspec.association])
        for upper in (0.002, 0.003, 0.004, 0.005):
            session.set_parameters(flagfrac_upper=upper)
        release.set()
        session.wait()
        # The requests overtaken before they started were skipped: the newest was computed
        # next. The first result, overtaken while it was computed, is shown all the same,
        # since nothing had been shown yet (results follow a stream of requests).
        # (A new kernel's result may come first provisional, then complete: counted once.)
        fractions = [r.parameters.flagfrac_upper for r in delivered]
        assert sorted(set(fractions)) == [0.001, 0.005] and fractions[-1] == 0.005
        assert session.result is delivered[-1] and not is_provisional(delivered[-1])
        assert delivered[-1].sorted_difference is not None
        assert session.busy is False
    finally:
        session.close()


def test_failures_are_reported_not_raised(small_nirspec, monkeypatch):
    messages = []
    later = []
    # Deliveries run later, as on the GUI thread, not inside the worker's except block.
    session = Session(dispatch=later.append)
    session.failed.connect(messages.append)
    session.open_paths([small_nirspec.association])
    session.wait()
    monkeypatch.setattr(session._cache, "compute", lambda snapshot, **_: 1 / 0)
    session.set_parameters(kernel_size=5)
    session.wait()
    for function in later:
        function()
    session.close()
    assert messages and "ZeroDivisionError" in messages[0]
    assert session.busy is False


def test_edits_survive_parameter_changes_and_undo_restores(session, small_nirspec):
    session.open_paths([small_nirspec.association])
    session.wait()
    algorithm = session.result.flags
    flagged = tuple(np.argwhere(algorithm)[0])
    clean = tuple(np.argwhere(~algorithm)[0])
    session.edit_pixels([clean[0]], [clean[1]], 1)
    session.edit_pixels([flagged[0]], [flagged[1]], -1)
    session.wait()
    result = session.result
    assert result.final[clean] and not result.final[flagged]
    assert result.statistics.n_forced_bad == 1 and result.statistics.n_forced_good == 1
    assert result.labels[clean] == 4 and result.labels[flagged] == 5
    session.set_parameters(kernel_size=9)
    session.wait()
    assert session.result.final[clean] and session.result.forced_good[flagged]
    before = session.result.final.copy()
    session.undo()
    session.undo()
    session.wait()
    np.testing.assert_array_equal(session.result.final, session.result.flags)
    session.redo()
    session.redo()
    session.wait()
    np.testing.assert_array_equal(session.result.final, before)
    session.clear_edits()
    session.wait()
    assert session.result.statistics.n_forced_bad == 0
    session.undo()  # clearing is one step
    assert session.edits.n_forced_bad == 1 and session.edits.n_forced_good == 1


def test_state_round_trip(session, small_nirspec):
    session.open_paths([small_nirspec.association])
    session.set_role(3, "ignored")
    session.set_parameters(kernel_size=5, flagfrac_upper=0.02)
    session.set_dispaxis_choice(None)
    session.edit_pixels([3, 4], [5, 6], 1)
    state = session.state()
    other = Session()
    try:
        other.restore([(e["path"], e["role"]) for e in state["exposures"]], state["parameters"],
                      state["dispaxis"], state["edits"], state["association"])
        assert other.state() == state
        assert not other.edits.can_undo  # loading is not an edit to undo
        other.wait()
        assert other.result.statistics.n_forced_bad == 2
    finally:
        other.close()


def test_a_provisional_result_has_the_complete_results_flags_and_counts(session, small_nirspec):
    from badpix_inspector.inspection import Snapshot, StageCache

    session.open_paths([small_nirspec.association])
    session.wait()
    cache = StageCache()
    for kernel_size in (5, 15, 31):
        snapshot = Snapshot(1, tuple(session.entries),
                            session.parameters.replace(kernel_size=kernel_size),
                            session.dispaxis, None)
        quick = cache.compute(snapshot, provisional=True)
        assert is_provisional(quick) and np.isnan(quick.statistics.sigma)
        complete = cache.compute(snapshot)
        assert not is_provisional(complete) and np.isfinite(complete.statistics.sigma)
        np.testing.assert_array_equal(quick.flags, complete.flags)
        np.testing.assert_array_equal(quick.labels, complete.labels)
        for name in ("n_low", "n_high", "n_total", "n_finite", "thresholds", "n_edge"):
            assert getattr(quick.statistics, name) == getattr(complete.statistics, name), name
        # Once sorted, a new fraction on the same kernel is complete at once.
        again = cache.compute(Snapshot(2, snapshot.entries,
                                       snapshot.parameters.replace(flagfrac_upper=0.01),
                                       snapshot.dispaxis, None), provisional=True)
        assert not is_provisional(again)


def test_only_the_science_dq_is_kept_and_a_new_science_gets_its_dq(session, small_nirspec):
    from astropy.io import fits

    from badpix_inspector.io import read_dq_pixel

    session.open_paths([small_nirspec.association])
    session.wait()
    science, *others = session.entries
    assert science.exposure.dq is not None
    assert all(entry.exposure.dq is None for entry in others)  # not kept in memory
    other = others[0].exposure
    on_disk = fits.getdata(other.path, "DQ")
    assert read_dq_pixel(other.path, 5, 7) == int(on_disk[5, 7])
    # Giving another exposure the science role reads its DQ: its DO_NOT_USE pixels count.
    session.set_role(1, "science")
    session.wait()
    assert other.dq is not None
    np.testing.assert_array_equal(other.dq, on_disk.astype(np.uint32))
    assert session.result.statistics.n_already_bad == int(np.count_nonzero(on_disk & 1))
    # ... and the old science exposure, now a selfcal one, lets its arrays go.
    assert science.exposure.sci is None and science.exposure.dq is None


def test_only_the_science_sci_stays_in_memory_and_a_new_combination_reads_the_files(
        session, small_nirspec):
    session.open_paths([small_nirspec.association])
    session.wait()
    science, *others = session.entries
    assert science.exposure.sci is not None
    assert all(entry.exposure.released for entry in others)
    first = session.result
    # A new science exposure: its SCI is read and kept, the combination made anew from
    # the files, and the flags are the core's on the same arrays.
    session.set_role(2, "science")
    session.wait()
    result = session.result
    assert result.used[0].exposure is others[1].exposure and not others[1].exposure.released
    assert science.exposure.released and result.combined is not first.combined
    scis = [entry.exposure.read_sci() for entry in result.used]
    expected = np.zeros(scis[0].shape, dtype=bool)
    expected[badpix_selfcal(combine(scis, "NRS1").image, kernel_size=15, dispaxis=1)] = True
    np.testing.assert_array_equal(result.flags, expected)
    np.testing.assert_array_equal(result.science, read_exposure(others[1].exposure.path).sci)


def test_a_file_changed_under_the_session_is_said_not_used(session, small_nirspec, tmp_path):
    import shutil

    made = {path: tmp_path / path.name for path in small_nirspec.exposures}
    for source, copy in made.items():
        shutil.copy(source, copy)
    session.open_paths(list(made.values()))
    session.wait()
    failures = []
    session.failed.connect(failures.append)
    selfcal = session.entries[2].exposure
    selfcal.path.write_bytes(selfcal.path.read_bytes())  # rewritten since it was read
    session.set_role(2, "ignored")
    session.wait()
    assert not failures  # the others are read again and have not changed
    session.set_role(2, "selfcal")  # combined anew: the file is read again
    session.wait()
    assert failures and "changed on disk since it was opened" in failures[-1]
    assert selfcal.path.name in failures[-1]


def _run_until(later, condition, timeout=20.0):
    """Run the deliveries dispatched so far, as an event loop would, until ``condition()``."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        while later:
            later.pop(0)()
        if time.monotonic() > deadline:
            raise TimeoutError("the session did not answer")
        time.sleep(0.005)


def test_a_new_kernel_is_completed_once_its_provisional_result_is_drawn(small_nirspec,
                                                                         monkeypatch):
    import time

    import badpix_inspector.session as session_module

    monkeypatch.setattr(session_module, "DISPLAY_WAIT", 60.0)  # only the drawing ends it
    later = []
    session = Session(dispatch=later.append)
    session.awaits_display = True
    computed = []
    compute = session._cache.compute
    monkeypatch.setattr(session._cache, "compute", lambda snapshot, **keywords: (
        computed.append(keywords.get("provisional", False)) or compute(snapshot, **keywords)))
    try:
        session.open_paths([small_nirspec.association])
        _run_until(later, lambda: session.result is not None and is_provisional(session.result))
        first = session.result
        time.sleep(0.3)
        assert computed == [True]  # the sort waits for the window's word
        session.displayed(first)
        _run_until(later, lambda: not session.busy)
        assert computed == [True, False] and not is_provisional(session.result)
        # A newer request ends the wait: the overtaken kernel is never sorted.
        session.set_parameters(kernel_size=7)
        _run_until(later, lambda: session.result.parameters.kernel_size == 7)
        session.set_parameters(kernel_size=9)
        _run_until(later, lambda: session.result.parameters.kernel_size == 9)
        assert computed[2:] == [True, True]
        # A script waiting on the session is not held: nothing can be drawn meanwhile.
        session.set_parameters(kernel_size=11)
        session.wait(timeout=10)
        assert computed[-2:] == [True, False]
    finally:
        session.close()  # ends a wait under way too


def test_the_science_dq_follows_role_changes_back_and_forth(session, small_nirspec):
    # A released exposure lets its DQ go: made the science one again, it reads it again.
    from astropy.io import fits

    session.open_paths(small_nirspec.exposures[:2])
    session.wait()
    second = session.entries[1].exposure
    expected = int(np.count_nonzero(fits.getdata(second.path, "DQ") & 1))
    session.set_role(1, "science")
    session.wait()
    # An exposure from memory (as tune() gets from a notebook) comes with its DQ.
    in_memory = read_exposure(small_nirspec.exposures[2], "selfcal", with_dq=True)
    in_memory.stamp = None
    session.open_exposures([in_memory])
    session.set_role(2, "science")  # the file's exposure is let go, its DQ with it
    session.wait()
    assert second.dq is None
    session.set_role(1, "science")
    session.wait()
    assert session.result.used[0].exposure is second
    assert session.result.statistics.n_already_bad == expected > 0


def test_closing_every_exposure_lets_the_stages_go(session, small_nirspec):
    session.open_paths([small_nirspec.association])
    session.wait()
    science = session.entries[0].exposure
    session.clear()
    session.wait()
    assert session.result.status == "empty"
    cache = session._cache
    assert cache._stages is None and cache._science is None
    assert cache._derived.already_bad is None and science is not None


def test_a_result_is_up_to_date_only_while_it_answers_the_newest_request(session,
                                                                         small_nirspec,
                                                                         monkeypatch):
    session.open_paths([small_nirspec.association])
    session.wait()
    assert session.is_up_to_date()
    monkeypatch.setattr(session._cache, "compute", lambda snapshot, **_: 1 / 0)
    session.set_parameters(kernel_size=5)  # fails: the result shown is the old kernel's
    session.wait()
    assert session.result.parameters.kernel_size == 15 and not session.is_up_to_date()
