"""A SAMP receiver for the tests: a client that takes images and tables, as DS9 and TOPCAT do.

Shared by the file layer's SAMP tests and the window's. The client answers on its own
thread, so waiting for its messages needs no event loop.
"""

import time
from urllib.parse import unquote, urlparse

from pyvo.samp import SAMPIntegratedClient

from badpix_inspector.io.samp import IMAGE_MTYPE, TABLE_MTYPE


class SampReceiver:
    """A SAMP client that takes images and tables and records each message."""

    def __init__(self, name="recorder"):
        self.messages = []
        self.client = SAMPIntegratedClient(name=name)
        self.client.connect()
        for mtype in (IMAGE_MTYPE, TABLE_MTYPE):
            self.client.bind_receive_notification(mtype, self._record)

    def _record(self, private_key, sender_id, mtype, params, extra):
        self.messages.append((mtype, params))

    def wait(self, count, timeout=10.0):
        """Wait until ``count`` messages have arrived (or ``timeout`` s); return them."""
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.messages


def url_path(url):
    """Return the local path of a ``file://`` URL sent over SAMP."""
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return unquote(parsed.path)
