"""Send images and tables to DS9, Aladin or TOPCAT through a running SAMP hub (no Qt).

SAMP (the Virtual Observatory's Simple Application Messaging Protocol) passes a URL to the
applications registered on a hub; they load the file themselves. Images go as FITS files
(``image.load.fits``), tables as VOTables (``table.load.votable``). The files are written
to a temporary folder that lives as long as this Python process (the applications load
them after the message has gone, so they cannot be deleted at once) and are served as
``file://`` URLs, which a hub on the same machine understands.

The hub is found the usual way (``$SAMP_HUB``, else ``~/.samp``). DS9, Aladin and TOPCAT
start one when they start, if none runs. The client comes from ``pyvo.samp`` when pyvo is
installed, else from ``astropy.samp`` (pyvo's is astropy's, re-exported).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "IMAGE_MTYPE",
    "TABLE_MTYPE",
    "SampError",
    "SampSender",
    "send_image",
    "send_table",
]

log = logging.getLogger(__name__)

IMAGE_MTYPE = "image.load.fits"
TABLE_MTYPE = "table.load.votable"

_folder: Path | None = None
_counter = itertools.count(1)


class SampError(InputError):
    """SAMP is not reachable or nobody takes the message; a one-line message for the user."""

    def __init__(self, problem: str, remedy: str) -> None:
        super().__init__(None, problem, remedy)


def _samp_module():
    try:
        from pyvo import samp
    except ImportError:  # pyvo is optional here: astropy has the same client
        import warnings

        with warnings.catch_warnings():  # astropy 8 deprecates it in favour of pyvo's
            warnings.filterwarnings("ignore", "astropy.samp was deprecated")
            from astropy import samp
    return samp


def _send_folder() -> Path:
    """Return the process's folder for files sent (made on first use, removed at exit)."""
    global _folder
    if _folder is None or not _folder.is_dir():
        _folder = Path(tempfile.mkdtemp(prefix="badpix-inspector-samp-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def _file_for(name: str, suffix: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "data"
    return _send_folder() / f"{next(_counter):04d}-{stem}{suffix}"


def _table(table: Any):
    """Return an astropy Table from a Table or a sequence of records (mappings)."""
    from astropy.table import MaskedColumn, Table

    if isinstance(table, Table):
        table = table.copy(copy_data=False)
    else:
        records: Sequence[Mapping[str, Any]] = list(table)
        names = list(records[0]) if records else []
        columns = []
        for name in names:
            values = [record.get(name) for record in records]
            present = [value for value in values if value is not None]
            if present and all(isinstance(v, str) for v in present):
                columns.append(MaskedColumn(["" if v is None else v for v in values], name=name))
            else:
                filler = False if present and isinstance(present[0], bool) else 0
                data = np.array([filler if v is None else v for v in values])
                columns.append(MaskedColumn(data, name=name, mask=[v is None for v in values]))
        table = Table(columns)
    if {"x", "y"} <= set(table.colnames):
        # Viewers of FITS images count from 1; the window's table counts like numpy.
        table["x"].description = "column, numpy convention (0-based)"
        table["y"].description = "row, numpy convention (0-based)"
        table["x_image"] = table["x"] + 1
        table["y_image"] = table["y"] + 1
        table["x_image"].description = "x in FITS/DS9 image coordinates (1-based)"
        table["y_image"].description = "y in FITS/DS9 image coordinates (1-based)"
    return table


class SampSender:
    """A connection to the SAMP hub, for sending images and tables.

    Parameters
    ----------
    name : str
        The name the hub shows for this client.

    Examples
    --------
    >>> with SampSender() as sender:  # doctest: +SKIP
    ...     sender.send_image(difference, "difference")
    ...     sender.send_table(markers, "markers")
    """

    def __init__(self, name: str = "badpix-inspector") -> None:
        self.name = name
        self._client = None

    def __enter__(self) -> SampSender:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        """Register with the running hub.

        Raises
        ------
        SampError
            When no hub runs (or the one found does not answer).
        """
        if self._client is not None and self._client.is_connected:
            return
        samp = _samp_module()
        client = samp.SAMPIntegratedClient(
            name=self.name, description="JWST badpix_selfcal inspector", callable=False
        )
        try:
            client.connect()
        except (samp.SAMPHubError, samp.SAMPClientError, OSError) as error:
            log.debug("SAMP connection failed: %s", error)
            raise SampError(
                "no SAMP hub is running",
                "start DS9, Aladin or TOPCAT (each starts a hub), then send again",
            ) from None
        self._client = client

    def close(self) -> None:
        """Unregister from the hub (the files sent stay until the process ends)."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                client.disconnect()
            except Exception as error:  # a hub that went away first; nothing to undo
                log.debug("SAMP disconnect: %s", error)

    def recipients(self, mtype: str) -> dict[str, str]:
        """Return the clients that take ``mtype``: SAMP id to its name."""
        self.connect()
        subscribed = self._client.get_subscribed_clients(mtype)
        names = {}
        for client_id in subscribed:
            metadata = self._client.get_metadata(client_id)
            names[client_id] = str(metadata.get("samp.name", client_id))
        return names

    def _notify(self, mtype: str, url: str, name: str, recipient: str | None) -> list[str]:
        takers = self.recipients(mtype)
        if recipient is not None:
            takers = {key: value for key, value in takers.items()
                      if value.lower() == recipient.lower()}  # fmt: skip
        if not takers:
            whom = f"{recipient!r}" if recipient else "no client"
            raise SampError(f"{whom} on the SAMP hub takes {mtype} messages",
                            "open DS9, Aladin or TOPCAT and let it join the hub")
        message = {"samp.mtype": mtype, "samp.params": {"url": url, "name": name}}
        for client_id in takers:
            self._client.notify(client_id, message)
        log.info("sent %s to %s over SAMP", name, ", ".join(takers.values()))
        return list(takers.values())

    def send_image(
        self,
        image: np.ndarray,
        name: str,
        header: Mapping[str, Any] | None = None,
        recipient: str | None = None,
    ) -> list[str]:
        """Send a 2-D array as a FITS image (``image.load.fits``).

        Parameters
        ----------
        image : numpy.ndarray
            The array; booleans go as 0/1 bytes.
        name : str
            What the receiving application calls it (also the file's name).
        header : mapping, optional
            Cards for the FITS header.
        recipient : str, optional
            Send to this client only (its SAMP name, e.g. ``"ds9"``); default every
            client that takes images.

        Returns
        -------
        list of str
            The names of the clients it went to.

        Raises
        ------
        SampError
            When no hub runs or no client takes images.
        """
        from astropy.io import fits

        array = np.asarray(image)
        if array.dtype == bool:
            array = array.astype(np.uint8)
        hdu = fits.PrimaryHDU(array)
        # FITS headers are ASCII: a name such as "combined − smoothed" must not stop the send.
        hdu.header["OBJECT"] = name.encode("ascii", "replace").decode("ascii")[:68]
        for key, value in (header or {}).items():
            hdu.header[key] = value
        path = _file_for(name, ".fits")
        hdu.writeto(path)
        return self._notify(IMAGE_MTYPE, path.as_uri(), name, recipient)

    def send_table(
        self,
        table: Any,
        name: str,
        recipient: str | None = None,
    ) -> list[str]:
        """Send a table as a VOTable (``table.load.votable``).

        Parameters
        ----------
        table : astropy.table.Table or sequence of mapping
            The table, or records such as the window's markers. Where it has ``x`` and
            ``y`` (numpy, 0-based), ``x_image`` and ``y_image`` (1-based, as DS9 counts)
            are added.
        name : str
            What the receiving application calls it.
        recipient : str, optional
            Send to this client only (its SAMP name); default every client that takes
            tables.

        Returns
        -------
        list of str
            The names of the clients it went to.
        """
        path = _file_for(name, ".xml")
        _table(table).write(path, format="votable")
        return self._notify(TABLE_MTYPE, path.as_uri(), name, recipient)


def send_image(image: np.ndarray, name: str, header: Mapping[str, Any] | None = None,
               recipient: str | None = None) -> list[str]:
    """Connect, send one image (see `SampSender.send_image`) and disconnect."""
    with SampSender() as sender:
        return sender.send_image(image, name, header, recipient)


def send_table(table: Any | Iterable[Mapping[str, Any]], name: str,
               recipient: str | None = None) -> list[str]:
    """Connect, send one table (see `SampSender.send_table`) and disconnect."""
    with SampSender() as sender:
        return sender.send_table(table, name, recipient)
