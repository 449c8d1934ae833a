"""Helpers shared by the window tests."""


def wait_for_result(qtbot, window, timeout=20_000):
    """Wait until the newest request's result is computed and drawn; return it."""
    qtbot.waitUntil(lambda: not window.session.busy and window.session.result is not None
                    and window.grid.shown is window.session.result, timeout=timeout)
    return window.session.result
