"""Writing flagged products: the input file with every HDU carried over, written atomically."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits

from ..core.stages import FLAGGED_PLANES, apply_flags
from .errors import InputError
from .exposures import open_fits
from .guard import OutputGuard, OutputSet

__all__ = [
    "PIPELINE_SUFFIXES",
    "atomic_write",
    "check_output_folder",
    "check_outputs",
    "make_output_folder",
    "output_stem",
    "product_paths",
    "write_file",
    "write_product",
]

log = logging.getLogger(__name__)

#: Pipeline suffixes dropped from a science file's name to make the output stem.
PIPELINE_SUFFIXES = (
    "uncal", "rate", "rateints", "trapsfilled", "assign_wcs", "badpix_selfcal", "msa_flagging",
    "nsclean", "imprint", "bsub", "bsubints", "srctype", "flat_field", "straylight", "fringe",
    "pathloss", "barshadow", "photom", "residual_fringe", "pixel_replace", "wavecorr",
    "extract_2d", "cal", "calints", "s2d", "s3d", "x1d", "x1dints",
)  # fmt: skip


def output_stem(science: str | Path, output_file: str | None = None) -> str:
    """Return the stem of the output names, as the pipeline makes it.

    Parameters
    ----------
    science : str or pathlib.Path
        The science exposure's file.
    output_file : str, optional
        The user's ``--output_file``: used as given, without a ``.fits`` ending.

    Returns
    -------
    str
        E.g. ``jw01523003001_03102_00001_mirifulong`` for ``..._mirifulong_rate.fits``.
    """
    if output_file:
        stem = Path(output_file).name
        return stem[: -len(".fits")] if stem.lower().endswith(".fits") else stem
    stem = Path(science).name
    if stem.lower().endswith(".fits"):
        stem = stem[: -len(".fits")]
    lowered = stem.lower()
    # Longest first, so that "_rateints" is not read as "_rate" plus "ints".
    for suffix in sorted(PIPELINE_SUFFIXES, key=len, reverse=True):
        ending = f"_{suffix}"
        if lowered.endswith(ending) and len(stem) > len(ending):
            return stem[: -len(ending)]
    return stem


def product_paths(
    stem: str, output_dir: Path, n_backgrounds: int, save_flagged_bkg: bool
) -> tuple[Path, list[Path]]:
    """Return the science product's path and the background products' paths."""
    science = output_dir / f"{stem}_badpix_selfcal.fits"
    backgrounds = (
        [output_dir / f"{stem}_badpix_selfcal_bkg_{number}.fits" for number in range(n_backgrounds)]
        if save_flagged_bkg
        else []
    )
    return science, backgrounds


def check_output_folder(folder: Path) -> None:
    """Raise `InputError` unless ``folder`` can be written, or made where it is missing.

    Nothing is created: a missing folder is judged by its nearest existing parent, so a
    run that fails later leaves no empty folder behind (`make_output_folder` makes it).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(folder, "the output folder is a file", "give a folder to --output_dir")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    elif existing == folder:
        try:
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as error:
            problem = error.strerror
    if problem:
        raise InputError(
            folder, f"the output folder cannot be written ({problem})",
            "choose another --output_dir or fix its permissions",
        )


def make_output_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing, as an `InputError` on failure."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            folder, f"the output folder cannot be made ({error.strerror})",
            "choose another --output_dir",
        ) from None


def check_outputs(outputs: Iterable[Path], inputs: Iterable[Path]) -> None:
    """Refuse any output that would overwrite an input file (or another output)."""
    inputs_resolved = {Path(item).resolve(): Path(item) for item in inputs}
    seen: set[Path] = set()
    for output in outputs:
        resolved = output.resolve()
        if resolved in inputs_resolved:
            raise InputError(
                output, "the output would overwrite an input file",
                "choose another --output_dir or --output_file",
            )
        if resolved in seen:
            raise InputError(
                output, "two products would be written to the same file",
                "leave out --output_file when there are several products",
            )
        seen.add(resolved)


def atomic_write(destination: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through a temporary file in the same folder, then rename it in place.

    Parameters
    ----------
    destination : pathlib.Path
        The final path; an existing file there is replaced only once the new one is whole.
    write : callable
        Called with the open temporary file.

    Notes
    -----
    A shorthand for ``OutputGuard().write``, with no inputs to protect: prefer a guard that
    knows the run's inputs. On any failure the temporary file is removed and
    ``destination`` is left as it was. There is no fsync: products can be made again, and
    jwst does not sync its products either (a sync costs more than a third of the
    command's own work on a MIRI product).
    """
    OutputGuard().write(destination, write)


def write_file(
    path: str | Path,
    content: bytes | Callable[[BinaryIO], None],
    inputs: Iterable[str | Path] | OutputGuard | OutputSet = (),
) -> Path:
    """Write a file atomically, never over one of ``inputs``; `InputError` on failure.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    content : bytes or callable
        The bytes to write, or a function that writes to the open file.
    inputs : iterable of path, OutputGuard or OutputSet
        The files that must not be replaced, or a guard that knows them, or a set of
        outputs to stage the file in (renamed in place when the set is committed).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if isinstance(inputs, OutputSet):
        return inputs.stage(path, content)
    guard = inputs if isinstance(inputs, OutputGuard) else OutputGuard(inputs)
    return guard.write(path, content)


#: Header keywords of a stored (scaled, compressed) array that no longer apply once the
#: array is written as the float32 the pipeline's datamodels hold.
_STORAGE_KEYWORDS = ("BSCALE", "BZERO", "BLANK")


def _as_pipeline_writes(hdu, name: str, data: np.ndarray):
    """Return an uncompressed image HDU of ``data`` with ``hdu``'s header, unscaled.

    jwst's datamodels read an integer or scaled SCI (and ERR, VAR_*) as float32 and a
    tile-compressed plane decompressed; they write them back as plain float32 images.
    Writing the same keeps every unflagged value exactly as read: re-compressing a
    quantised plane would change them.
    """
    header = hdu.header.copy()
    for key in _STORAGE_KEYWORDS:
        header.remove(key, ignore_missing=True, remove_all=True)
    return fits.ImageHDU(data, header=header, name=name)


def _stored_differently(hdu, name: str) -> bool:
    """Return True when ``hdu`` is compressed, or a float plane stored as integers or scaled."""
    if isinstance(hdu, fits.CompImageHDU):
        return True
    if name == "DQ":
        return False
    return any(key in hdu.header for key in _STORAGE_KEYWORDS) or (
        hdu.data is not None and not np.issubdtype(hdu.data.dtype, np.floating))


def write_product(
    source: Path,
    destination: Path,
    mask: np.ndarray | None,
    status: str | None,
    history: Iterable[str] = (),
    *,
    outputs: OutputSet | None = None,
) -> np.ndarray | None:
    """Write ``source`` to ``destination`` with the step's flags applied.

    Parameters
    ----------
    source : pathlib.Path
        The input exposure; every HDU and header (the ASDF extension too) is carried over.
    destination : pathlib.Path
        The product; written atomically, never over ``source``.
    mask : numpy.ndarray of bool or None
        The flagged pixels; None leaves the arrays as they are (a skipped step).
    status : str or None
        ``S_BPXSLF`` in the primary header: ``COMPLETE`` or ``SKIPPED``; None keeps the
        keyword as the input had it (jwst 3.0.0 does so for flagged background products).
    history : iterable of str
        HISTORY cards to add to the primary header.
    outputs : OutputSet, optional
        Stage the product in this set of outputs (renamed in place with the others when the
        set is committed) instead of writing it at once.

    Returns
    -------
    numpy.ndarray of bool or None
        The pixels that were DO_NOT_USE in the input already (None without a DQ plane or
        when nothing was flagged).

    Notes
    -----
    SCI, ERR and VAR_* planes stored as integers, scaled (``BSCALE``/``BZERO``) or
    tile-compressed are written as plain float32 images, as the pipeline's datamodels
    write them; a compressed DQ is written uncompressed. Unflagged values are thus
    exactly the values read.
    """
    already_bad = None
    with open_fits(source, memmap=False) as hdulist:
        for name in ("DQ", *FLAGGED_PLANES):
            if name in hdulist and hdulist[name].data is not None \
                    and _stored_differently(hdulist[name], name):
                data = hdulist[name].data
                data = np.asarray(data, dtype=np.uint32 if name == "DQ" else np.float32)
                log.info("%s: %s is written as a plain %s image, as the pipeline does",
                         source.name, name, data.dtype)
                hdulist[name] = _as_pipeline_writes(hdulist[name], name, data)
        if mask is not None:
            planes = {
                name: hdulist[name].data
                for name in ("DQ", *FLAGGED_PLANES)
                if name in hdulist and hdulist[name].data is not None
            }
            for name, plane in planes.items():
                if plane.shape != mask.shape:
                    raise InputError(
                        source, f"{name} is {plane.shape}, unlike SCI {mask.shape}",
                        "repair the exposure",
                    )
            if "DQ" in planes:
                already_bad = (planes["DQ"] & 1) != 0
            # The arrays were read into memory for this write alone: flag them in place.
            for name, flagged in apply_flags(planes, mask, in_place=True).items():
                if name in hdulist:
                    hdulist[name].data = flagged
                else:
                    # jwst's datamodels start a missing DQ as zeros; put it after SCI.
                    dq_hdu = fits.ImageHDU(flagged, name="DQ")
                    hdulist.insert(hdulist.index_of("SCI") + 1, dq_hdu)
        primary = hdulist[0].header
        if status is not None:
            primary["S_BPXSLF"] = (status, "Bad Pixel Self-Calibration")
        for line in history:
            primary.add_history(line)

        def write(stream: BinaryIO) -> None:
            # A damaged header card is fixed (or carried over) by astropy with a warning
            # per card: noted in the log, never printed as warning text.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                hdulist.writeto(stream, output_verify="fix")
            if caught:
                log.info("%s: %d header problem(s) fixed in %s, e.g. %s", source.name,
                         len(caught), destination.name, str(caught[-1].message).strip())

        if outputs is None:
            OutputGuard([source]).write(destination, write)
        else:
            outputs.stage(destination, write)
    return already_bad
