"""DS9 region files of the flags and markers, written and read through astropy's ``regions``.

Conventions, DS9's own: **image coordinates, 1-based** (the centre of numpy pixel
``[row, column]`` is DS9's ``(column + 1, row + 1)``); ``regions`` converts to and from its
0-based pixel coordinates, so every array here is numpy's zero-based ``[row, column]``.

Written: one ``box(x, y, 1, 1, 0)`` per flagged pixel, coloured and tagged by kind
(`REGION_KINDS`: ``low`` cyan, ``high`` red, ``forced_bad`` magenta, ``forced_good``
green), and each marker as a ``point`` with its note as ``text``. A box costs about
32 bytes, so 10 000 flags make a file of about 320 kB; DS9 itself slows down with tens of
thousands of regions, so ``merge_runs=True`` writes one box per horizontal run of adjacent
pixels of a kind instead (the same pixels, read back).

Read: any DS9 file in image coordinates, made by this module or drawn in DS9 by hand.
As markers, each point (or the centre of any other shape) becomes a marker, its ``text``
the note. As edits, points give their pixel and boxes, circles, ellipses, polygons and
the like every pixel whose centre they cover; the region's DS9 *tag* says which list it
goes to (``forced_good``; ``forced_bad``, ``low`` or ``high`` go to forced bad), and
untagged regions go where the caller says (`read_region_edits`). Colours are not read:
DS9 draws new regions green, which would otherwise read as forced good.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .guard import OutputGuard, OutputSet
from .products import write_file
from .qa_files import EditLists

__all__ = [
    "MARKER_COLOUR",
    "REGION_KINDS",
    "flag_regions",
    "read_region_edits",
    "read_region_markers",
    "read_regions",
    "write_flag_regions",
]

log = logging.getLogger(__name__)

#: Kinds of flag written, with their DS9 colour (the overlay's hues, in DS9's names).
REGION_KINDS: dict[str, str] = {
    "low": "cyan",
    "high": "red",
    "forced_bad": "magenta",
    "forced_good": "green",
}
#: Colour of marker points.
MARKER_COLOUR = "yellow"
# Decimal places written: pixel centres are integers; one decimal keeps the file short and
# readable back (regions 0.12 writes "0." for none, which it then cannot parse).
_PRECISION = 1


def _runs(mask: np.ndarray, merge_runs: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, first column, length) of each box to write for a mask."""
    rows, columns = np.nonzero(mask)
    if not merge_runs or rows.size == 0:
        return rows, columns, np.ones(rows.size, dtype=np.intp)
    # A run starts where the previous flag is not the pixel just left of it on the same row.
    starts = np.ones(rows.size, dtype=bool)
    starts[1:] = (rows[1:] != rows[:-1]) | (columns[1:] != columns[:-1] + 1)
    first = np.flatnonzero(starts)
    lengths = np.diff(np.append(first, rows.size))
    return rows[first], columns[first], lengths


def flag_regions(
    masks: Mapping[str, np.ndarray | None] | None = None,
    markers: Iterable[Mapping[str, Any]] = (),
    *,
    merge_runs: bool = False,
):
    """Build the regions for flags and markers.

    Parameters
    ----------
    masks : mapping of str to numpy.ndarray of bool, optional
        Kind (a key of `REGION_KINDS`) to its mask; None masks are skipped.
    markers : iterable of mapping
        Markers with zero-based ``x`` (column), ``y`` (row) and optional ``note``.
    merge_runs : bool
        One box per horizontal run of adjacent pixels instead of one per pixel.

    Returns
    -------
    regions.Regions
        Boxes tagged and coloured by kind, then points for the markers.
    """
    from regions import (
        PixCoord,
        PointPixelRegion,
        RectanglePixelRegion,
        RegionMeta,
        Regions,
        RegionVisual,
    )

    shapes = []
    for kind, mask in (masks or {}).items():
        if kind not in REGION_KINDS:
            raise ValueError(f"unknown flag kind {kind!r}: one of {sorted(REGION_KINDS)}")
        if mask is None:
            continue
        rows, columns, lengths = _runs(np.asarray(mask, dtype=bool), merge_runs)
        visual = RegionVisual(color=REGION_KINDS[kind])
        meta = RegionMeta(tag=[kind])
        for row, column, length in zip(rows.tolist(), columns.tolist(), lengths.tolist(),
                                       strict=True):
            centre = PixCoord(column + (length - 1) / 2, row)
            shapes.append(RectanglePixelRegion(centre, length, 1, meta=meta, visual=visual))
    for marker in markers:
        note = str(marker.get("note") or "")
        meta = RegionMeta(tag=["marker"], **({"text": note} if note else {}))
        shapes.append(PointPixelRegion(
            PixCoord(int(marker["x"]), int(marker["y"])), meta=meta,
            visual=RegionVisual(color=MARKER_COLOUR, marker="x"),
        ))
    return Regions(shapes)


def write_flag_regions(
    path: str | Path,
    masks: Mapping[str, np.ndarray | None] | None = None,
    markers: Iterable[Mapping[str, Any]] = (),
    *,
    merge_runs: bool = False,
    inputs: Iterable[str | Path] | OutputGuard | OutputSet = (),
) -> Path:
    """Write flags and markers as a DS9 region file (image coordinates, 1-based), atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.reg`` file.
    masks : mapping of str to numpy.ndarray of bool, optional
        Kind (``low``, ``high``, ``forced_bad``, ``forced_good``) to its mask.
    markers : iterable of mapping
        Markers with zero-based ``x``, ``y`` and optional ``note``.
    merge_runs : bool
        One box per horizontal run of adjacent pixels (a smaller file for many flags).
    inputs : iterable of path, OutputGuard or OutputSet
        Files the region file must never replace (see `badpix_inspector.io.write_file`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        When the file cannot be written.
    """
    shapes = flag_regions(masks, markers, merge_runs=merge_runs)
    if len(shapes) > 50000:
        log.warning("writing %d regions: DS9 will be slow to draw them (merge_runs=True "
                    "writes fewer)", len(shapes))
    text = shapes.serialize(format="ds9", precision=_PRECISION) if len(shapes) else (
        "# Region file format: DS9 version 4.1\nimage\n")
    first, _, rest = text.partition("\n")
    note = ("# badpix-inspector: image coordinates (1-based); tags low, high, forced_bad, "
            "forced_good, marker")
    return write_file(path, f"{first}\n{note}\n{rest}".encode(), inputs)


def read_regions(path: str | Path):
    """Read a DS9 region file in image coordinates.

    Returns
    -------
    regions.Regions
        The pixel regions, 0-based. Regions given in sky coordinates are refused.

    Raises
    ------
    InputError
        When the file is missing, not a DS9 region file, or in sky coordinates.
    """
    from regions import Regions

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file", "check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot be read ({error})", "give a DS9 region file") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            shapes = Regions.parse(text, format="ds9")
        except Exception as error:  # regions raises several types for malformed files
            raise InputError(path, f"not a DS9 region file ({error})",
                             "save the regions from DS9 in ds9 format") from None
    for warning in caught:
        log.warning("%s: %s", path, warning.message)
    sky = [shape for shape in shapes if not hasattr(shape, "to_sky")]
    if sky:
        raise InputError(path, "the regions are in sky coordinates",
                         "save them from DS9 in image coordinates")
    return shapes


def _centre_pixel(shape) -> tuple[int, int]:
    if hasattr(shape, "center"):
        x, y = float(shape.center.x), float(shape.center.y)
    else:  # a polygon: the mean of its vertices
        x, y = float(np.mean(shape.vertices.x)), float(np.mean(shape.vertices.y))
    return int(np.floor(y + 0.5)), int(np.floor(x + 0.5))


def _covered(shape, image_shape: tuple[int, int]) -> np.ndarray:
    """Return the [row, column] pixels whose centre the region covers (N x 2)."""
    from regions import PointPixelRegion, RectanglePixelRegion, TextPixelRegion

    if isinstance(shape, TextPixelRegion):
        return np.empty((0, 2), dtype=np.int64)
    if isinstance(shape, PointPixelRegion):
        pixels = np.array([_centre_pixel(shape)], dtype=np.int64)
    elif isinstance(shape, RectanglePixelRegion) and float(shape.angle.value) % 360 == 0:
        # The common case (our own boxes) by arithmetic: to_mask costs ~0.4 ms a region.
        # Centres on the box's edge count on its left/bottom side only, so a box of
        # integer width n covers n pixels.
        x, y = float(shape.center.x), float(shape.center.y)
        half_x, half_y = float(shape.width) / 2, float(shape.height) / 2
        columns = np.arange(np.ceil(x - half_x), np.ceil(x + half_x), dtype=np.int64)
        rows = np.arange(np.ceil(y - half_y), np.ceil(y + half_y), dtype=np.int64)
        pixels = np.stack(np.meshgrid(rows, columns, indexing="ij"), axis=-1).reshape(-1, 2)
    else:
        try:
            mask = shape.to_mask(mode="center")
        except (NotImplementedError, AttributeError, ValueError):
            log.warning("skipped a %s region: it covers no pixel area", type(shape).__name__)
            return np.empty((0, 2), dtype=np.int64)
        rows, columns = np.nonzero(mask.data)
        pixels = np.column_stack([rows + mask.bbox.iymin, columns + mask.bbox.ixmin])
    inside = ((pixels >= 0).all(axis=1) & (pixels[:, 0] < image_shape[0])
              & (pixels[:, 1] < image_shape[1]))  # fmt: skip
    return pixels[inside].astype(np.int64)


def _kind(shape) -> str | None:
    for tag in shape.meta.get("tag") or []:
        if tag in REGION_KINDS:
            return tag
    return None


def read_region_markers(path: str | Path) -> list[dict[str, Any]]:
    """Read a DS9 region file as markers.

    Every region gives one marker at its centre pixel (a point at its own pixel), with the
    region's ``text`` as the note; text-only regions are skipped, and so are regions tagged
    as flags (``low``, ``high``, ``forced_bad``, ``forced_good``: a file written by
    `write_flag_regions` gives back its markers only).

    Returns
    -------
    list of dict
        ``{"x": column, "y": row, "note": text}``, zero-based, in file order.
    """
    from regions import TextPixelRegion

    markers = []
    for shape in read_regions(path):
        if isinstance(shape, TextPixelRegion) or _kind(shape) is not None:
            continue
        row, column = _centre_pixel(shape)
        markers.append({"x": column, "y": row, "note": str(shape.meta.get("text") or "")})
    return markers


def read_region_edits(
    path: str | Path, shape: tuple[int, int], default: str = "forced_bad"
) -> EditLists:
    """Read a DS9 region file as hand edits: forced-bad and forced-good pixel lists.

    Parameters
    ----------
    path : str or pathlib.Path
        The region file (image coordinates).
    shape : tuple of int
        The science exposure's shape: pixels outside it are dropped.
    default : {"forced_bad", "forced_good"}
        What a region becomes when its DS9 tag does not say: a region tagged
        ``forced_good`` is forced good, one tagged ``forced_bad``, ``low`` or ``high`` is
        forced bad, and any other (untagged, or a marker point) is ``default``. Regions
        excluded in DS9 (written with a leading ``-``) take the opposite list.

    Returns
    -------
    EditLists
        Unique zero-based ``[row, column]`` lists (N x 2) and the shape; a pixel in both
        lists stays forced bad.
    """
    if default not in ("forced_bad", "forced_good"):
        raise ValueError(f"default must be 'forced_bad' or 'forced_good', not {default!r}")
    shape = (int(shape[0]), int(shape[1]))
    bad, good = [], []
    for region in read_regions(path):
        kind = _kind(region)
        good_region = kind == "forced_good" if kind in REGION_KINDS else default == "forced_good"
        if not region.meta.get("include", True):
            good_region = not good_region
        (good if good_region else bad).append(_covered(region, shape))

    def unique(parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.empty((0, 2), dtype=np.int64)
        return np.unique(np.concatenate(parts), axis=0).reshape(-1, 2)

    forced_bad, forced_good = unique(bad), unique(good)
    if forced_bad.size and forced_good.size:
        index = forced_good[:, 0] * shape[1] + forced_good[:, 1]
        keep = ~np.isin(index, forced_bad[:, 0] * shape[1] + forced_bad[:, 1])
        forced_good = forced_good[keep]
    return EditLists(forced_bad, forced_good, shape)
