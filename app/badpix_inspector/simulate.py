"""Synthetic MIRI MRS and NIRSpec IFU exposures and spec2 associations to tune on.

The images are made to look like real ``_rate`` products at the point where
calwebb_spec2 runs ``badpix_selfcal``:

- MIRI MRS (MIRIFUSHORT, MIRIFULONG): 1024x1032, 4 reference columns each side, two
  channels of curved slices with the dark gap between them (where the pipeline measures
  the pedestal), dispersion along the rows (``DISPAXIS = 2``);
- NIRSpec IFU (NRS1, NRS2): 2048x2048 with 4 reference pixels round the edge, 30 slices as
  horizontal traces, dispersion along the columns (``DISPAXIS = 1``);

with a different pedestal in each exposure, hot, cold and NaN pixels (some already flagged
in DQ) shared by every exposure, and a cosmic-ray residual in one exposure only. The light
is true to the two ways the step is set up:

- a dedicated **background** exposure looks off source: the sky only, a smooth continuum
  along the dispersion axis;
- the **science** exposure and its **selfcal** dithers look at the target: the sky, an
  extended source that fills the field (a continuum with emission lines, the same in every
  dither) and a point source that moves between dithers.

So with a background the minimum holds no lines; without one (``n_background=0``, the
pipeline notebooks' selfcal-only set-up) the lines survive the minimum and the step flags
their peaks. `SimulatedSet` records where the lines and the defects were planted
(`planted_lines`; the command line writes them to ``*_planted.json`` beside the association).

Use `make_association` from Python, or ``python -m badpix_inspector.simulate OUTDIR
--instrument miri|nirspec``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asdf
import numpy as np
from astropy.io import fits

__all__ = [
    "DETECTORS",
    "LINE_SIGMA",
    "Defects",
    "PlantedLine",
    "SimulatedSet",
    "asdf_extension",
    "demo_association",
    "main",
    "make_association",
    "planted_lines",
    "simulate_exposure",
    "write_exposure",
    "write_planted",
]

# DQ bits used here (jwst's names): DO_NOT_USE, JUMP_DET, DEAD, HOT, REFERENCE_PIXEL.
_DO_NOT_USE, _JUMP_DET, _DEAD, _HOT, _REFERENCE = 1, 4, 1024, 2048, 2**31


@dataclass(frozen=True)
class _Layout:
    instrument: str
    exp_type: str
    shape: tuple[int, int]
    dispaxis: int
    reference: int
    # Column ranges (in the dispersion-along-rows frame) of each channel, and its slices.
    channels: tuple[tuple[int, int, int], ...]
    extra_header: dict = field(default_factory=dict)


DETECTORS: dict[str, _Layout] = {
    "MIRIFULONG": _Layout(
        "MIRI", "MIR_MRS", (1024, 1032), 2, 4,
        ((8, 470, 12), (511, 1024, 16)), {"CHANNEL": "34", "BAND": "SHORT"},
    ),
    "MIRIFUSHORT": _Layout(
        "MIRI", "MIR_MRS", (1024, 1032), 2, 4,
        ((8, 499, 21), (520, 1024, 17)), {"CHANNEL": "12", "BAND": "SHORT"},
    ),
    "NRS1": _Layout(
        "NIRSPEC", "NRS_IFU", (2048, 2048), 1, 4,
        ((60, 1988, 30),), {"FILTER": "F290LP", "GRATING": "G395H"},
    ),
    "NRS2": _Layout(
        "NIRSPEC", "NRS_IFU", (2048, 2048), 1, 4,
        ((60, 1988, 30),), {"FILTER": "F290LP", "GRATING": "G395H"},
    ),
}  # fmt: skip


@dataclass
class Defects:
    """Where the detector defects were planted (boolean masks, the same in every exposure)."""

    hot: np.ndarray
    cold: np.ndarray
    nan: np.ndarray
    preflagged: np.ndarray


@dataclass
class SimulatedSet:
    """An association written by `make_association`.

    Attributes
    ----------
    association : pathlib.Path
        The spec2 association (JSON).
    science : pathlib.Path
        The science exposure.
    backgrounds, selfcals : list of pathlib.Path
        The other members.
    defects : Defects
        The planted defects.
    cosmic_ray : numpy.ndarray
        Where the cosmic-ray residual sits (in one exposure only: the last selfcal, or the
        science exposure when there is no selfcal).
    lines : numpy.ndarray of bool
        Where the extended source's emission lines peak (see `planted_lines`), in the
        science and selfcal exposures (never in the backgrounds).
    line_list : tuple of PlantedLine
        The lines themselves (channel, centre along the dispersion axis, strength).
    """

    association: Path
    science: Path
    backgrounds: list[Path]
    selfcals: list[Path]
    defects: Defects
    cosmic_ray: np.ndarray
    lines: np.ndarray | None = None
    line_list: tuple = ()

    @property
    def exposures(self) -> list[Path]:
        """Science, backgrounds, selfcals."""
        return [self.science, *self.backgrounds, *self.selfcals]


def _defects(shape: tuple[int, int], seed: int, usable: np.ndarray) -> Defects:
    rng = np.random.default_rng(seed + 7919)
    draw = rng.random(shape)
    hot = (draw < 4e-4) & usable
    cold = (draw >= 4e-4) & (draw < 7e-4) & usable
    nan = (draw >= 7e-4) & (draw < 9e-4) & usable
    # Half of the hot pixels are known already (HOT | DO_NOT_USE in DQ), as in real data.
    preflagged = hot & (rng.random(shape) < 0.5)
    return Defects(hot=hot, cold=cold, nan=nan, preflagged=preflagged)


def _slice_geometry(layout: _Layout, shape: tuple[int, int]):
    """Yield, per channel, the slice index and the position within the slice of each pixel.

    Works in the frame where the dispersion runs along the rows (axis 0); ``shape`` is the
    region to render in that frame, from the top-left corner of the full detector.
    """
    full_rows = layout.shape[0] if layout.dispaxis == 2 else layout.shape[1]
    y = np.arange(shape[0], dtype=np.float64)[:, None]
    x = np.arange(shape[1], dtype=np.float64)[None, :]
    yn = (y - full_rows / 2) / (full_rows / 2)
    for number, (first, last, n_slices) in enumerate(layout.channels):
        # Slices curve across the detector; the same curve for all slices of a channel.
        curved = x - (4.0 + number) * yn**2 - 1.5 * yn
        pitch = (last - first) / n_slices
        position = (curved - first) / pitch
        index = np.floor(position)
        within = (position - index) * pitch
        inside = (index >= 0) & (index < n_slices)
        yield number, first, last, n_slices, pitch, index, within, inside, y, x, full_rows


#: Width (Gaussian sigma, pixels along the dispersion axis) of the planted emission lines.
LINE_SIGMA = 1.6
#: Tilt of the lines across the slices (pixels along the dispersion per pixel across).
LINE_TILT = 0.004


@dataclass(frozen=True)
class PlantedLine:
    """One emission line of the extended source.

    Attributes
    ----------
    channel : int
        The channel (0 or 1 on MIRI, 0 on NIRSpec).
    centre : float
        Zero-based position along the dispersion axis at the channel's middle column
        (rows for MIRI, columns for NIRSpec).
    strength : float
        Peak height relative to the channel's continuum scale.
    """

    channel: int
    centre: float
    strength: float


def _line_list(layout: _Layout) -> tuple[PlantedLine, ...]:
    full_rows = layout.shape[0] if layout.dispaxis == 2 else layout.shape[1]
    rng = np.random.default_rng(1)
    lines = []
    for number in range(len(layout.channels)):
        centres, strengths = rng.uniform(0.05, 0.95, 8) * full_rows, rng.uniform(0.5, 4.0, 8)
        lines += [PlantedLine(number, float(c), float(s)) for c, s in zip(centres, strengths,
                                                                           strict=True)]
    return tuple(lines)


@functools.lru_cache(maxsize=4)
def _extended_scenes(
    detector: str, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sky, the extended source and where its lines peak (read-only arrays).

    All in the frame where the dispersion runs along the rows. The sky is a smooth
    continuum through the slices (what an off-source background sees); the extended source
    is a fainter continuum with emission lines, tilted a little across the slices, the same
    in every dither (it fills the field). The line mask holds the pixels inside a slice
    within half the line's peak height of its centre (``|offset| <= 1.18 LINE_SIGMA``).
    """
    layout = DETECTORS[detector]
    sky = np.zeros(shape)
    source = np.zeros(shape)
    line_mask = np.zeros(shape, dtype=bool)
    planted = _line_list(layout)
    for number, first, last, _, pitch, index, within, inside, y, x, full_rows in _slice_geometry(
        layout, shape
    ):
        edge = np.minimum(within, pitch - within)
        plateau = 1.0 / (1.0 + np.exp(-(edge - 1.2) / 0.45))
        slice_gain = np.where(inside, plateau * (1.0 + 0.08 * np.sin(index * 1.7 + number)), 0.0)
        # Continuum rising along the dispersion axis.
        continuum = (6.0 + 4.0 * number) * (
            0.6 + 0.5 * (y / full_rows) + 0.15 * np.sin(6 * y / full_rows)
        )
        sky += slice_gain * continuum
        grid = np.arange(-50.0, full_rows + 50.0, 0.05)
        profile = np.zeros_like(grid)
        along = y + LINE_TILT * (x - (first + last) / 2)
        for line in (line for line in planted if line.channel == number):
            profile += line.strength * np.exp(-0.5 * ((grid - line.centre) / LINE_SIGMA) ** 2)
            line_mask |= inside & (plateau > 0.5) & (
                np.abs(along - line.centre) <= 1.1774 * LINE_SIGMA)
        source += slice_gain * (0.25 * continuum + np.interp(along, grid, profile))
    for array in (sky, source, line_mask):
        array.flags.writeable = False
    return sky, source, line_mask


def _to_image(layout: _Layout, array: np.ndarray) -> np.ndarray:
    return array if layout.dispaxis == 2 else array.T


def _scene(detector: str, dither: int, shape: tuple[int, int], sky_only: bool = False
           ) -> np.ndarray:
    """Return the noiseless illumination of ``shape`` (image frame).

    ``sky_only`` gives a dedicated background exposure (off source: the smooth sky);
    otherwise the sky, the extended source with its lines and the point source.
    """
    layout = DETECTORS[detector]
    frame = shape if layout.dispaxis == 2 else shape[::-1]
    sky, extended, _ = _extended_scenes(detector, frame)
    if sky_only:
        return _to_image(layout, sky.copy())
    scene = sky + extended
    for number, _, _, n_slices, pitch, index, within, inside, y, _, full_rows in _slice_geometry(
        layout, frame
    ):
        # A point source: its slice and place within it change with the dither position.
        source_slice = n_slices // 2 + (dither % 4) - 1
        source_x = pitch * (0.35 + 0.1 * (dither % 3))
        source = (
            np.exp(-0.5 * ((index - source_slice) / 0.8) ** 2)
            * np.exp(-0.5 * ((within - source_x) / 1.4) ** 2)
            * (25.0 + 10.0 * number) * (0.5 + y / full_rows)
        )  # fmt: skip
        scene += np.where(inside, source, 0.0)
    return _to_image(layout, scene)


def planted_lines(detector: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return where the extended source's emission lines peak (boolean mask, image frame).

    Parameters
    ----------
    detector : str
        A key of `DETECTORS`.
    shape : tuple of int, optional
        The crop (from the top-left corner), as given to `simulate_exposure`.

    Returns
    -------
    numpy.ndarray of bool
        Pixels well inside a slice (plateau above half) within half the line's peak height
        of a line's centre, along the dispersion axis.
    """
    layout = DETECTORS[detector.upper()]
    shape = tuple(shape) if shape is not None else layout.shape
    frame = shape if layout.dispaxis == 2 else shape[::-1]
    return np.array(_to_image(layout, _extended_scenes(detector.upper(), frame)[2]))


def simulate_exposure(
    detector: str = "MIRIFULONG",
    *,
    dither: int = 0,
    pedestal: float = 0.0,
    seed: int = 0,
    cosmic_ray: bool = False,
    shape: tuple[int, int] | None = None,
    background: bool = False,
) -> tuple[dict[str, np.ndarray], Defects, np.ndarray]:
    """Make one exposure's arrays.

    Parameters
    ----------
    detector : str
        A key of `DETECTORS`.
    dither : int
        Dither position: moves the point source between slices.
    pedestal : float
        Residual dark pedestal added to the whole frame (DN/s).
    seed : int
        Seed of the noise (defects depend on the detector seed only).
    cosmic_ray : bool
        Add a cosmic-ray residual to this exposure.
    shape : tuple of int, optional
        Crop to this shape (from the top-left corner), for small tests.
    background : bool
        A dedicated background exposure: the sky only (no extended source, no lines, no
        point source).

    Returns
    -------
    planes : dict of str to numpy.ndarray
        ``SCI``, ``ERR``, ``DQ``, ``VAR_POISSON``, ``VAR_RNOISE``.
    defects : Defects
        The planted detector defects.
    cosmic_ray_mask : numpy.ndarray of bool
        Pixels hit by the cosmic-ray residual.
    """
    detector = detector.upper()
    layout = DETECTORS[detector]
    full_shape = layout.shape
    shape = tuple(shape) if shape is not None else full_shape
    if not (0 < shape[0] <= full_shape[0] and 0 < shape[1] <= full_shape[1]):
        raise ValueError(f"shape {shape} does not fit the {detector} detector {full_shape}")
    crop = (slice(0, shape[0]), slice(0, shape[1]))
    scene = _scene(detector, dither, shape, sky_only=background)
    reference = np.zeros(full_shape, dtype=bool)
    ref = layout.reference
    reference[:, :ref] = reference[:, -ref:] = True
    if layout.instrument == "NIRSPEC":
        reference[:ref, :] = reference[-ref:, :] = True
    # Defects are drawn on the whole detector so that a crop shows the same ones.
    defects = _defects(full_shape, 11, ~reference)
    hot_gain = np.random.default_rng(13).uniform(3.0, 40.0, size=full_shape)[crop]
    defects = Defects(*(np.ascontiguousarray(mask[crop]) for mask in vars(defects).values()))
    reference = reference[crop]
    rng = np.random.default_rng(seed)
    read_noise = 0.05
    variance_poisson = np.maximum(scene, 0.0) * 0.004
    noisy = scene + rng.normal(size=shape) * np.sqrt(variance_poisson + read_noise**2)
    noisy += pedestal
    noisy[reference] = rng.normal(0.0, read_noise, size=int(reference.sum()))
    level = np.maximum(scene, 1.0)
    noisy[defects.hot] += level[defects.hot] * hot_gain[defects.hot]
    noisy[defects.cold] = pedestal + 0.05 * scene[defects.cold]
    noisy[defects.nan] = np.nan
    dq = np.zeros(shape, dtype=np.uint32)
    dq[reference] |= _REFERENCE | _DO_NOT_USE
    dq[defects.preflagged] |= _HOT | _DO_NOT_USE
    dq[defects.nan] |= _DEAD | _DO_NOT_USE
    hits = np.zeros(full_shape, dtype=bool)
    if cosmic_ray:
        # A short shower track that the jump step missed: bright in this exposure only.
        track_rows = np.arange(30, 48)
        track_columns = (40 + 0.6 * (track_rows - 30)).astype(int)
        hits[track_rows, track_columns] = hits[track_rows, track_columns + 1] = True
    hits = np.ascontiguousarray(hits[crop])
    noisy[hits] += 60.0
    dq[hits] |= _JUMP_DET
    variance_rnoise = np.full(shape, read_noise**2)
    error = np.sqrt(variance_poisson + variance_rnoise)
    planes = {
        "SCI": noisy.astype(np.float32),
        "ERR": error.astype(np.float32),
        "DQ": dq,
        "VAR_POISSON": variance_poisson.astype(np.float32),
        "VAR_RNOISE": variance_rnoise.astype(np.float32),
    }
    for name in ("ERR", "VAR_POISSON", "VAR_RNOISE"):
        planes[name][defects.nan] = np.nan
    return planes, defects, hits


def asdf_extension(tree: dict) -> fits.BinTableHDU:
    """Return an ``ASDF`` extension holding ``tree``, laid out as jwst's datamodels write it.

    The extension is a binary table with one row and one column, ``ASDF_METADATA``, of
    the bytes of an ASDF file.
    """
    buffer = io.BytesIO()
    asdf.AsdfFile(tree).write_to(buffer)
    data = np.frombuffer(buffer.getvalue(), dtype=np.uint8)[None, :]
    column = fits.Column(name="ASDF_METADATA", format=f"{data.shape[1]}B", array=data)
    return fits.BinTableHDU.from_columns([column], name="ASDF")


def write_exposure(
    path: str | Path,
    planes: dict[str, np.ndarray],
    detector: str,
    *,
    dispaxis: int | str | None = "auto",
    exposure_number: int = 1,
    program: str = "01523",
) -> Path:
    """Write arrays as a FITS file shaped like a JWST ``IFUImageModel``.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file.
    planes : dict of str to numpy.ndarray
        Extension name to array; ``SCI`` is required.
    detector : str
        A key of `DETECTORS`.
    dispaxis : int, None or "auto"
        ``DISPAXIS`` for the SCI header: "auto" takes the detector's, None leaves it out.
    exposure_number : int
        ``EXPOSURE`` (with the other observation keywords, jwst groups exposures by it).
    program : str
        ``PROGRAM``.
    """
    layout = DETECTORS[detector.upper()]
    path = Path(path)
    primary = fits.PrimaryHDU()
    header = primary.header
    header["TELESCOP"] = "JWST"
    header["INSTRUME"] = layout.instrument
    header["DETECTOR"] = detector.upper()
    header["EXP_TYPE"] = layout.exp_type
    header["DATAMODL"] = "IFUImageModel"
    header["FILENAME"] = path.name
    header["ORIGIN"] = "badpix-inspector simulate"
    observation = {
        "PROGRAM": program, "OBSERVTN": "003", "VISIT": "001", "VISITGRP": "03",
        "SEQ_ID": "1", "ACT_ID": "02", "EXPOSURE": str(exposure_number),
        "DATE-OBS": "2026-01-01", "TIME-OBS": "00:00:00",
    }  # fmt: skip
    for key, value in {**observation, **layout.extra_header}.items():
        header[key] = value
    hdus = [primary]
    for name in ("SCI", "ERR", "DQ", "VAR_POISSON", "VAR_RNOISE", "VAR_FLAT"):
        if name in planes:
            hdu = fits.ImageHDU(planes[name], name=name)
            if name == "SCI":
                hdu.header["BUNIT"] = "DN/s"
                axis = layout.dispaxis if dispaxis == "auto" else dispaxis
                if axis is not None:
                    hdu.header["DISPAXIS"] = (axis, "dispersion direction")
            hdus.append(hdu)
    hdus.append(asdf_extension({"meta": {"model_type": "IFUImageModel", "filename": path.name}}))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def make_association(
    output_dir: str | Path,
    detector: str = "MIRIFULONG",
    *,
    n_background: int = 1,
    n_selfcal: int = 3,
    seed: int = 0,
    shape: tuple[int, int] | None = None,
    dispaxis: int | str | None = "auto",
    program: str = "01523",
) -> SimulatedSet:
    """Write a science exposure, its backgrounds and selfcals, and their spec2 association.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        Folder for the files (created if needed).
    detector : str
        ``MIRIFULONG``, ``MIRIFUSHORT``, ``NRS1`` or ``NRS2``.
    n_background, n_selfcal : int
        How many of each besides the science exposure (dither positions 2, 3, ...).
    seed : int
        Seed for the noise; each exposure gets its own stream.
    shape : tuple of int, optional
        Crop every exposure to this shape (small test data).
    dispaxis : int, None or "auto"
        ``DISPAXIS`` to write (None: leave it out, for a square window).
    program : str
        Program number used in the file names.

    Returns
    -------
    SimulatedSet
        Paths and the planted defects.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    detector = detector.upper()
    roles = ["science"] + ["background"] * n_background + ["selfcal"] * n_selfcal
    pedestals = np.random.default_rng(seed + 101).uniform(-0.3, 0.8, size=len(roles))
    members: list[dict[str, str]] = []
    paths: list[Path] = []
    defects = cosmic = None
    # The cosmic-ray residual goes into the last selfcal dither (the science exposure when
    # there is none), never into a background: with off-source backgrounds the minimum is
    # theirs, and a hit in one of them would leave its pixels the minimum of one fewer
    # background, raised by chance above their neighbours.
    hit = len(roles) - 1 if n_selfcal else 0
    for number, role in enumerate(roles):
        visit = "004" if role == "background" else "003"
        name = f"jw{program}{visit}001_03102_{number + 1:05d}_{detector.lower()}_rate.fits"
        planes, defects, hits = simulate_exposure(
            detector, dither=number, pedestal=float(pedestals[number]),
            seed=seed * 1000 + number, cosmic_ray=number == hit, shape=shape,
            background=role == "background",
        )  # fmt: skip
        if number == hit:
            cosmic = hits
        paths.append(
            write_exposure(
                output_dir / name, planes, detector, dispaxis=dispaxis,
                exposure_number=number + 1, program=program,
            )
        )
        members.append({"expname": name, "exptype": role})
    product = f"jw{program}003001_03102_00001_{detector.lower()}"
    association = {
        "asn_type": "spec2",
        "asn_rule": "Asn_Lv2MIRMRS" if detector.startswith("MIRI") else "Asn_Lv2NRSIFU",
        "asn_id": "o003",
        "asn_pool": "badpix_inspector_simulated_pool",
        "program": program,
        "target": "t001",
        "version_id": None,
        "code_version": "badpix-inspector simulate",
        "degraded_status": "No known degraded exposures in association.",
        "constraints": "synthetic data",
        "products": [{"name": product, "members": members}],
    }
    asn_path = output_dir / f"jw{program}-o003_{detector.lower()}_spec2_asn.json"
    asn_path.write_text(json.dumps(association, indent=2) + "\n", encoding="utf-8")
    return SimulatedSet(
        association=asn_path,
        science=paths[0],
        backgrounds=[p for p, r in zip(paths, roles, strict=True) if r == "background"],
        selfcals=[p for p, r in zip(paths, roles, strict=True) if r == "selfcal"],
        defects=defects,
        cosmic_ray=cosmic,
        lines=planted_lines(detector, shape),
        line_list=_line_list(DETECTORS[detector]),
    )


def write_planted(path: str | Path, made: SimulatedSet) -> Path:
    """Write where the defects and lines were planted, as JSON.

    Pixels are zero-based ``[row, column]`` (numpy order) lists under ``hot``, ``cold``,
    ``nan``, ``preflagged``, ``cosmic_ray`` and ``line_pixels`` (the `planted_lines`
    mask); ``lines`` lists each line's channel, centre along the dispersion axis
    (zero-based, at the channel's middle), strength, width (Gaussian sigma) and tilt.
    """

    def pixels(mask: np.ndarray | None) -> list[list[int]]:
        return [] if mask is None else np.argwhere(mask).tolist()

    document = {
        "format": "badpix-inspector simulate planted",
        "coordinates": "zero-based [row, column]",
        "association": made.association.name,
        **{name: pixels(getattr(made.defects, name))
           for name in ("hot", "cold", "nan", "preflagged")},
        "cosmic_ray": pixels(made.cosmic_ray),
        "lines": [{"channel": line.channel, "centre": line.centre, "strength": line.strength,
                   "sigma": LINE_SIGMA, "tilt": LINE_TILT} for line in made.line_list],
        "line_pixels": pixels(made.lines),
    }  # fmt: skip
    path = Path(path)
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")
    return path


#: Bumped when the simulated data change, so that a cached demo is not reused.
_DEMO_REVISION = 2


def demo_association(folder: str | Path | None = None) -> Path:
    """Return the demo MIRI MRS association, writing it first if it is not there yet.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        Where to keep it; default
        ``$XDG_CACHE_HOME/badpix-inspector/demo-<version>-r<DEMO_REVISION>``
        (``~/.cache/...``): a new revision of the simulated data writes a fresh copy.

    Returns
    -------
    pathlib.Path
        The association (science, 1 background, 3 selfcals, MIRIFULONG).
    """
    from ._version import __version__

    if folder is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = cache / "badpix-inspector" / f"demo-{__version__}-r{_DEMO_REVISION}"
    folder = Path(folder)
    done = folder / "complete"
    association = folder / "jw01523-o003_mirifulong_spec2_asn.json"
    if done.is_file() and association.is_file():
        return association
    made = make_association(folder, "MIRIFULONG", n_background=1, n_selfcal=3, seed=0)
    done.write_text("written by badpix-inspector\n", encoding="utf-8")
    return made.association


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic association from the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m badpix_inspector.simulate",
        description="Write synthetic MIRI MRS or NIRSpec IFU exposures and a spec2 association.",
    )
    parser.add_argument("output_dir", metavar="OUTDIR", type=Path, help="folder for the files")
    parser.add_argument("--instrument", choices=("miri", "nirspec"), default="miri")
    parser.add_argument(
        "--detector", choices=sorted(DETECTORS),
        help="default: MIRIFULONG for miri, NRS1 for nirspec",
    )  # fmt: skip
    parser.add_argument("--backgrounds", type=int, default=1, help="background exposures (1)")
    parser.add_argument("--selfcals", type=int, default=3, help="selfcal exposures (3)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (0)")
    arguments = parser.parse_args(argv)
    detector = arguments.detector or ("MIRIFULONG" if arguments.instrument == "miri" else "NRS1")
    if DETECTORS[detector].instrument.lower() != arguments.instrument:
        parser.error(f"--detector {detector} is not a {arguments.instrument} detector")
    if arguments.backgrounds < 0 or arguments.selfcals < 0:
        parser.error("--backgrounds and --selfcals must be 0 or more")
    try:
        made = make_association(
            arguments.output_dir, detector, n_background=arguments.backgrounds,
            n_selfcal=arguments.selfcals, seed=arguments.seed,
        )  # fmt: skip
    except OSError as error:
        print(f"simulate: error: {arguments.output_dir}: {error.strerror}", file=sys.stderr)
        return 1
    name = made.association.name.removesuffix("_asn.json") + "_planted.json"
    write_planted(made.association.with_name(name), made)
    print(made.association)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
