"""Writing flagged products: the input file with every HDU carried over, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
from astropy.io import fits

from ..core.stages import FLAGGED_PLANES, apply_flags
from .errors import InputError
from .exposures import open_fits

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
    On any failure the temporary file is removed and ``destination`` is left as it was;
    a reader never sees a partial file under the final name. There is no fsync: products
    can be made again, and jwst does not sync its products either (a sync costs more than a
    third of the command's own work on a MIRI product).
    """
    destination = Path(destination)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_file(path: str | Path, content: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write a file atomically (see `atomic_write`), as an `InputError` on failure.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    content : bytes or callable
        The bytes to write, or a function that writes to the open file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(path.parent, "the folder does not exist", "create it or choose another")
    write = content if callable(content) else (lambda stream: stream.write(content))
    try:
        atomic_write(path, write)
    except OSError as error:
        raise InputError(path, f"cannot be written ({error.strerror})", "choose another path") \
            from None
    return path


def write_product(
    source: Path,
    destination: Path,
    mask: np.ndarray | None,
    status: str,
    history: Iterable[str] = (),
) -> np.ndarray | None:
    """Write ``source`` to ``destination`` with the step's flags applied.

    Parameters
    ----------
    source : pathlib.Path
        The input exposure; every HDU and header (the ASDF extension too) is carried over.
    destination : pathlib.Path
        The product; written atomically.
    mask : numpy.ndarray of bool or None
        The flagged pixels; None leaves the arrays as they are (a skipped step).
    status : str
        ``S_BPXSLF`` in the primary header: ``COMPLETE`` or ``SKIPPED``.
    history : iterable of str
        HISTORY cards to add to the primary header.

    Returns
    -------
    numpy.ndarray of bool or None
        The pixels that were DO_NOT_USE in the input already (None without a DQ plane or
        when nothing was flagged).
    """
    already_bad = None
    with open_fits(source, memmap=False) as hdulist:
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
        primary["S_BPXSLF"] = (status, "Bad Pixel Self-Calibration")
        for line in history:
            primary.add_history(line)
        atomic_write(destination, lambda stream: hdulist.writeto(stream, output_verify="fix"))
    return already_bad
