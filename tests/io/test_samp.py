"""SAMP against a hub the test starts itself, with a client that records what it receives."""


import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from badpix_inspector.io.samp import IMAGE_MTYPE, TABLE_MTYPE, SampError, SampSender, send_image
from samp_helpers import SampReceiver, url_path


def test_an_image_and_a_marker_table_reach_a_client(samp_hub):
    receiver = SampReceiver()
    try:
        image = np.arange(12, dtype=np.float32).reshape(3, 4)
        image[1, 2] = np.nan
        markers = [{"x": 3, "y": 7, "difference": 1.5, "note": "line?", "dq": None},
                   {"x": 9, "y": 2, "difference": -0.25, "note": "", "dq": 1025}]
        with SampSender() as sender:
            assert sender.send_image(image, "difference image") == ["recorder"]
            assert sender.send_table(markers, "markers") == ["recorder"]
            assert sender.send_image(np.eye(3, dtype=bool), "flags", recipient="Recorder")
        messages = receiver.wait(3)
        assert [mtype for mtype, _ in messages] == [IMAGE_MTYPE, TABLE_MTYPE, IMAGE_MTYPE]
        assert messages[0][1]["name"] == "difference image"
        np.testing.assert_array_equal(fits.getdata(url_path(messages[0][1]["url"])), image)
        np.testing.assert_array_equal(fits.getdata(url_path(messages[2][1]["url"])), np.eye(3))
        table = Table.read(url_path(messages[1][1]["url"]), format="votable")
        assert list(table["x"]) == [3, 9] and list(table["y"]) == [7, 2]
        assert list(table["x_image"]) == [4, 10] and list(table["y_image"]) == [8, 3]
        assert list(table["difference"]) == [1.5, -0.25]
        assert list(table["note"]) == ["line?", ""]
        assert table["dq"].mask[0] and table["dq"][1] == 1025
    finally:
        receiver.client.disconnect()


def test_nobody_to_take_it_is_said_in_one_line(samp_hub):
    with pytest.raises(SampError, match=r"no client on the SAMP hub takes image\.load\.fits"):
        send_image(np.zeros((2, 2)), "x")
    receiver = SampReceiver()
    try:
        with pytest.raises(SampError, match="'ds9' on the SAMP hub takes"):
            send_image(np.zeros((2, 2)), "x", recipient="ds9")
    finally:
        receiver.client.disconnect()


def test_no_hub_is_said_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{(tmp_path / 'none').as_uri()}")
    with pytest.raises(SampError) as caught:
        send_image(np.zeros((2, 2)), "x")
    message = str(caught.value)
    assert message == ("no SAMP hub is running; start DS9, Aladin or TOPCAT (each starts a "
                       "hub), then send again")
    assert "\n" not in message
    # A lock file left behind by a hub that died says the same.
    stale = tmp_path / "stale"
    stale.write_text("samp.secret=abc\nsamp.hub.xmlrpc.url=http://127.0.0.1:9/xmlrpc\n"
                     "samp.profile.version=1.3\n")
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{stale.as_uri()}")
    with pytest.raises(SampError, match="no SAMP hub is running"):
        send_image(np.zeros((2, 2)), "x")
