"""Reference A (Qt-free): pinned flags compared on the session's worker, A restored."""

import numpy as np

from badpix_inspector.core import SuspectRule
from badpix_inspector.model import ReferenceModel
from badpix_inspector.session import Session


def test_pin_compare_and_restore(small_nirspec):
    session = Session()
    try:
        session.open_paths([small_nirspec.association])
        session.wait()
        reference = ReferenceModel(session)
        changed = []
        reference.changed.connect(lambda: changed.append(1))
        session.edit_pixels([5], [6], 1)  # a hand edit: A holds the final flags
        session.wait()
        pinned = reference.pin()
        assert changed == [1] and pinned.final[5, 6]
        np.testing.assert_array_equal(pinned.final, session.result.final)
        session.set_parameters(flagfrac_upper=0.01, kernel_size=21)
        session.wait()
        result = session.result
        comparison = result.decisions.comparison
        a, b = np.flatnonzero(pinned.final), np.flatnonzero(result.final)
        assert comparison.n_gained == np.setdiff1d(b, a).size > 0
        assert comparison.n_lost == np.setdiff1d(a, b).size
        assert comparison.n_kept == np.intersect1d(a, b).size > 0
        assert reference.restore() is pinned
        session.wait()
        assert session.parameters == pinned.parameters
        assert session.result.decisions.comparison.n_gained == 0
        assert session.result.decisions.comparison.n_lost == 0
        reference.clear()
        session.wait()
        assert session.result.decisions.comparison is None and changed == [1, 1]
    finally:
        session.close()


def test_nothing_to_pin_without_data():
    session = Session()
    try:
        assert ReferenceModel(session).pin() is None
        assert ReferenceModel(session).restore() is None
    finally:
        session.close()


def test_the_suspect_rule_reaches_the_worker(small_nirspec):
    session = Session()
    try:
        session.open_paths([small_nirspec.association])
        session.set_suspect_rule(SuspectRule(half_width=2, min_fraction=0.5))
        session.wait()
        assert session.result.decisions.rule == SuspectRule(2, 0.5)
    finally:
        session.close()
