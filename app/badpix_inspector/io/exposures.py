"""Reading JWST IFU exposures (``IFUImageModel``-shaped FITS files)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from astropy.io import fits

from ..core.parameters import ParameterError, validate_dispaxis
from .errors import InputError
from .guard import check_input_file

__all__ = [
    "ROLES",
    "Exposure",
    "file_stamp",
    "open_fits",
    "read_dq",
    "read_dq_pixel",
    "read_exposure",
    "read_sci",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The roles an exposure can play; "ignored" ones are listed but not used.
ROLES = ("science", "background", "selfcal", "ignored")


@dataclass
class Exposure:
    """One exposure as the step sees it.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    role : str
        One of `ROLES`.
    sci : numpy.ndarray or None
        The SCI array as float32 in native byte order, as jwst's datamodels present it
        (an array when the exposure is made); None once `release` let it go (`read_sci`
        reads it again from the file).
    detector, instrument, exp_type : str or None
        From the primary header.
    dispaxis : int or None
        ``DISPAXIS`` from the SCI header (None when absent).
    dq : numpy.ndarray or PackedDQ or None
        The DQ array as uint32, when asked for and present (the window keeps it packed,
        `core.dqflags.PackedDQ`: the same values by index).
    stamp : tuple or None
        The file's identity when it was read (device, inode, size, modification time in
        ns): a file read again must still be that file. None for an exposure that came
        from memory, which is never released.
    """

    path: Path
    role: str
    sci: np.ndarray | None = field(repr=False)
    detector: str | None
    instrument: str | None
    exp_type: str | None
    dispaxis: int | None
    dq: np.ndarray | None = field(default=None, repr=False)
    stamp: tuple[int, int, int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._shape = tuple(self.sci.shape)

    @property
    def shape(self) -> tuple[int, ...]:
        """The SCI array's shape."""
        sci = self.sci
        return self._shape if sci is None else sci.shape

    @property
    def released(self) -> bool:
        """True when the SCI array is not in memory (see `release`)."""
        return self.sci is None

    def release(self) -> None:
        """Let the SCI and DQ arrays go, when they can be read again from the file.

        The window keeps the science exposure's SCI and reads the others' from their
        files when it needs them (the pixel inspector, blink, a new combination): with a
        2048x2048 detector each costs 16 MiB, for as long as the window is open.
        """
        if self.stamp is not None:
            self.sci = None
            self.dq = None

    def read_sci(self, index=None) -> np.ndarray:
        """Return the SCI array, or ``sci[index]``, from memory or from the file.

        Values read again are those read first (the same reading, float32), from the same
        file: one that was replaced or changed since raises an `InputError`.
        """
        sci = self.sci  # once: another thread may release it meanwhile
        if sci is not None:
            return sci if index is None else sci[index]
        self.check_unchanged()
        return read_sci(self.path, index)

    def check_unchanged(self) -> None:
        """Raise an `InputError` when the file is not the one read (changed, replaced, gone).

        The file is known by its device, inode, size and modification time: a rewrite of
        the same size within the file system's timestamp resolution is not seen.
        """
        if self.stamp is None:
            return  # from memory: no file to compare
        now = file_stamp(self.path)
        if now is None:
            raise InputError(self.path, "is gone since it was opened",
                             "put it back, or close the exposures and open what is there")
        if now != self.stamp:
            raise InputError(self.path, "changed on disk since it was opened",
                             "open it again (close the exposures, then open them)")

    @property
    def name(self) -> str:
        """The file name, for messages and tables."""
        return self.path.name


@contextmanager
def open_fits(path: str | Path, **kwargs) -> Iterator[fits.HDUList]:
    """Open a FITS file, turning every way it can be unreadable into an `InputError`.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    **kwargs
        Passed to `astropy.io.fits.open` (``memmap`` and the like).

    Yields
    ------
    astropy.io.fits.HDUList
        The file, with every header already read and checked for truncation.
    """
    path = Path(path)
    # Looked at, not opened: a FIFO or a device would hang or stream forever.
    check_input_file(path, "FITS")
    hdulist = _open_whole(path, kwargs)
    try:
        yield hdulist
    except InputError:
        raise
    except Exception as error:
        # A header astropy accepted can still hold nonsense its data reader trips on
        # (a damaged XTENSION, BITPIX or NAXISn): that is a damaged file, said in one line.
        if "memory-mapped" in str(error):
            raise  # read_exposure reads a scaled SCI again without a memory map
        raise InputError(path, f"damaged FITS ({type(error).__name__}: "
                         f"{_first_sentence(error)})", "copy or download it again") from None
    finally:
        hdulist.close()
        hdulist.stream.close()


def _open_whole(path: Path, kwargs: dict) -> fits.HDUList:
    """Open ``path`` and read every header; an `InputError` for any way that fails.

    The file is opened here, so that it is closed here too: astropy leaves the file open
    when it fails on a damaged primary header. The stream is kept as ``hdulist.stream``.
    """
    stream = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stream = open(path, "rb")
            hdulist = fits.open(stream, **kwargs)
            try:
                hdulist.readall()
            except BaseException:
                hdulist.close()
                raise
        except BaseException as error:
            if stream is not None:
                stream.close()
            if isinstance(error, PermissionError):
                raise InputError(path, "permission denied: the file cannot be read",
                                 "fix its permissions (chmod u+r) or run as its owner") from None
            if isinstance(error, OSError):
                raise InputError(path, f"not a FITS file ({_first_sentence(error)})",
                                 "give a FITS exposure") from None
            if isinstance(error, Exception):  # astropy raises many types for damaged headers
                raise InputError(path, f"unreadable FITS ({error})", "copy it again") from None
            raise
    hdulist.stream = stream
    for warning in caught:
        if "truncated" in str(warning.message):
            hdulist.close()
            stream.close()
            raise InputError(path, "the file is truncated", "copy or download it again")
    return hdulist


def _first_sentence(error: Exception) -> str:
    return str(error).split(". ")[0].rstrip(".")


def _header_text(header: fits.Header, key: str) -> str | None:
    value = header.get(key)
    return None if value is None else str(value).strip()


def file_stamp(path: str | Path) -> tuple[int, int, int, int] | None:
    """Return a file's identity: device, inode, size, modification time (ns); None if gone."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _memory_mapped_first(read: Callable[[bool], T], memmap: bool = True) -> T:
    """Return ``read(memmap)``; where astropy cannot memory-map the data, ``read(False)``.

    A scaled (BSCALE/BZERO) integer image cannot be memory-mapped: it is read whole,
    scaled to float32, as jwst's datamodels do.
    """
    if memmap:
        try:
            return read(True)
        except ValueError as error:
            if "memory-mapped" not in str(error):
                raise
    return read(False)


@contextmanager
def _data_errors(path: Path, memmap: bool) -> Iterator[None]:
    """Turn a failure to convert a file's data into an `InputError` (see `_memory_mapped_first`).

    The error that says the data cannot be memory-mapped goes through: it is read again.
    """
    try:
        yield
    except (TypeError, ValueError) as error:
        if memmap and "memory-mapped" in str(error):
            raise
        raise InputError(path, f"the data cannot be read ({error})", "copy it again") from None


def _as_slices(index) -> tuple | None:
    """Return ``index`` as integers and slices, or None when it is not one of those.

    A cut through a pixel is a row or column number and a run of consecutive numbers.
    """
    parts = []
    for part in index:
        if np.ndim(part) == 0:
            parts.append(int(part))
            continue
        part = np.asarray(part)
        if part.ndim != 1 or part.size == 0 or not np.array_equal(
                part, np.arange(part[0], part[0] + part.size)):
            return None
        parts.append(slice(int(part[0]), int(part[0]) + part.size))
    return tuple(parts)


def read_sci(path: str | Path, index=None) -> np.ndarray:
    """Read the SCI array of an exposure, or ``sci[index]``, as `read_exposure` reads it.

    The same values as ``read_exposure(path).sci[index]`` (float32, native byte order,
    scaled or compressed data as jwst's datamodels present them). A pixel or a cut (a
    row or column number and a run of consecutive numbers) is read through astropy's
    section, which reads only what it covers: a few tiles of a compressed image, not the
    whole of it.

    Raises
    ------
    InputError
        When the file can no longer be read, or has no 2-D SCI.
    """
    path = Path(path)
    slices = None if index is None else _as_slices(index if isinstance(index, tuple)
                                                    else (index,))

    def read(memmap: bool) -> np.ndarray:
        with open_fits(path, memmap=memmap) as hdulist:
            hdu = hdulist["SCI"] if "SCI" in hdulist else None
            if hdu is None or hdu.header.get("NAXIS") != 2:
                raise InputError(path, "has no 2-D SCI image any more", "open it again")
            with _data_errors(path, memmap):
                if slices is not None:
                    return np.array(hdu.section[slices], dtype=np.float32)
                data = hdu.data
                return np.array(data if index is None else data[index], dtype=np.float32)

    return _memory_mapped_first(read)


def read_exposure(path: str | Path, role: str = "science", *, with_dq: bool = False) -> Exposure:
    """Read what the step needs of one exposure.

    Parameters
    ----------
    path : str or pathlib.Path
        A FITS file shaped like a JWST ``IFUImageModel`` (SCI extension, 2-D).
    role : str
        One of `ROLES`.
    with_dq : bool
        Also read the DQ array (for the window's statistics).

    Returns
    -------
    Exposure
        SCI as native float32 (jwst's datamodels cast it so), header facts, DQ if asked.

    Raises
    ------
    InputError
        When the file is missing, empty, not FITS, truncated, has no usable 2-D SCI, or a
        ``DISPAXIS`` other than 1 or 2.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    path = Path(path)
    # DQ is stored as uint32 through BZERO: it cannot be memory-mapped.
    return _memory_mapped_first(
        lambda memmap: _read_exposure(path, role, with_dq, memmap=memmap), memmap=not with_dq)


def _read_exposure(path: Path, role: str, with_dq: bool, memmap: bool) -> Exposure:
    stamp = file_stamp(path)
    with open_fits(path, memmap=memmap) as hdulist:
        if "SCI" not in hdulist:
            raise InputError(
                path, "has no SCI extension", "give a JWST rate or assign_wcs product"
            )
        sci_hdu = hdulist["SCI"]
        if not isinstance(sci_hdu, fits.ImageHDU | fits.CompImageHDU | fits.PrimaryHDU):
            raise InputError(path, f"the SCI extension is not an image "
                             f"({type(sci_hdu).__name__.strip('_')})", "give a JWST exposure")
        if sci_hdu.data is None:
            raise InputError(path, "the SCI extension holds no data", "give a JWST exposure")
        if sci_hdu.data.ndim == 3:
            raise InputError(
                path,
                f"SCI is 3-D ({sci_hdu.data.shape[0]} integrations): per-integration "
                "products (rateints, calints) are not supported",
                "give the _rate product instead",
            )
        if sci_hdu.data.ndim != 2:
            raise InputError(
                path, f"SCI is {sci_hdu.data.ndim}-D, not a 2-D image", "give a 2-D exposure"
            )
        if not np.issubdtype(sci_hdu.data.dtype, np.number):
            raise InputError(path, "SCI is not numeric", "give a JWST exposure")
        try:
            dispaxis = validate_dispaxis(sci_hdu.header.get("DISPAXIS"))
        except ParameterError:
            raise InputError(
                path,
                f"DISPAXIS is {sci_hdu.header.get('DISPAXIS')!r}, not 1 or 2",
                "fix the SCI header (or delete DISPAXIS for a square window)",
            ) from None
        with _data_errors(path, memmap):
            # Copying out of the memory map also makes the array native-endian float32.
            sci = np.array(sci_hdu.data, dtype=np.float32)
            dq = None
            if with_dq and "DQ" in hdulist and hdulist["DQ"].data is not None:
                dq = np.array(hdulist["DQ"].data, dtype=np.uint32)
        primary = hdulist[0].header
        return Exposure(
            path=path,
            role=role,
            sci=sci,
            detector=_header_text(primary, "DETECTOR"),
            instrument=_header_text(primary, "INSTRUME"),
            exp_type=_header_text(primary, "EXP_TYPE"),
            dispaxis=dispaxis,
            dq=dq if dq is None or dq.shape == sci.shape else None,
            stamp=stamp,
        )


def read_dq(path: str | Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """Read the DQ array of an exposure read before without it (uint32, or None).

    For an exposure that becomes the science one: the window keeps the DQ of the science
    exposure only (the others' cost 16 MiB each on a 2048x2048 detector).

    Raises
    ------
    InputError
        When the file can no longer be read.
    """
    with open_fits(path, memmap=False) as hdulist:
        if "DQ" not in hdulist or hdulist["DQ"].data is None:
            return None
        dq = np.array(hdulist["DQ"].data, dtype=np.uint32)
    return dq if dq.shape == tuple(shape) else None


def read_dq_pixel(path: str | Path, row: int, column: int) -> int | None:
    """Return one pixel's DQ value, read from the file (None when there is none to read).

    Reads that pixel only (an image section), for the pixel inspector's other exposures,
    whose DQ arrays are not kept in memory. A file that went away or changed gives None.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdulist:
                if "DQ" not in hdulist:
                    return None
                hdu = hdulist["DQ"]
                if hdu.header.get("NAXIS") != 2:
                    return None
                return int(hdu.section[row, column])
    except (OSError, ValueError, TypeError, IndexError, KeyError):
        return None
