"""While requests keep coming, the session shows intermediate results (SPEC §6: images
follow a dragged slider, not only its release). Counted, not timed."""

import time

from PyQt6.QtCore import QTimer

from badpix_inspector.gui.dispatch import GuiDispatcher
from badpix_inspector.session import Session


def test_a_continuous_stream_of_requests_shows_intermediate_results(qtbot, small_nirspec,
                                                                     monkeypatch):
    session = Session(dispatch=GuiDispatcher())
    try:
        session.open_paths([small_nirspec.association])
        qtbot.waitUntil(lambda: session.result is not None and not session.busy, timeout=20_000)
        # Each computation takes longer than the gap between requests, as a kernel change
        # on a large detector does during a drag: every result is overtaken before it
        # arrives. Dropping overtaken results would show nothing until the stream stops.
        compute = session._cache.compute

        def slow_compute(snapshot, **options):
            time.sleep(0.2)
            return compute(snapshot, **options)

        monkeypatch.setattr(session._cache, "compute", slow_compute)
        shown = []
        session.result_ready.connect(shown.append)
        kernels = iter(range(3, 301, 2))  # 40 requests in 2 s need up to 81
        sent = []

        def send():
            sent.append(next(kernels))
            session.set_parameters(kernel_size=sent[-1])

        feed = QTimer()
        feed.setInterval(50)
        feed.timeout.connect(send)
        started = time.monotonic()
        feed.start()
        qtbot.waitUntil(lambda: time.monotonic() - started > 2.0, timeout=10_000)
        feed.stop()
        during = list(shown)
        qtbot.waitUntil(lambda: not session.busy, timeout=20_000)
        assert len(sent) >= 10  # the stream was continuous: many more requests than results
        # Intermediate results were shown while the stream went on, newest first each time.
        kernels_shown = [result.parameters.kernel_size for result in during]
        assert len(kernels_shown) >= 3, kernels_shown
        assert kernels_shown == sorted(kernels_shown)
        assert all(kernel < sent[-1] for kernel in kernels_shown)
        # The last request's result ends the stream, and the session is idle.
        assert session.result.parameters.kernel_size == sent[-1]
        assert shown[-1] is session.result
    finally:
        session.close()
