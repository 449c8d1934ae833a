"""Batch runs over many associations on Dask: one task per product, same core and writer.

``badpix-selfcal batch ASN_OR_GLOB...`` plans one work item per association product (or
single exposure), skips products that are newer than all their inputs, runs the rest as
tasks on a Dask cluster (a local one sized to the machine, or an existing scheduler), and
writes a CSV summary and an HTML overview with a thumbnail of each product's flags.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import glob
import html
import io
import logging
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core import SelfcalParameters, kernels
from .io import (
    InputError,
    OutputGuard,
    OutputSet,
    ProductMembers,
    collect_inputs,
    csv_cell,
    remove_stale_temporaries,
    write_file,
)
from .process import plan_outputs, run_product

__all__ = [
    "SUMMARY_FIELDS",
    "WorkItem",
    "batch_inputs",
    "expand_inputs",
    "flag_thumbnail",
    "plan_items",
    "process_item",
    "refuse_collisions",
    "run_batch",
    "write_overview",
    "write_summary",
]

log = logging.getLogger("badpix_selfcal")

#: Columns of the summary CSV, one row per product.
SUMMARY_FIELDS = (
    "association", "product", "science", "detector", "status", "flags_low", "flags_high",
    "flags_total", "already_do_not_use", "threshold_low", "threshold_high", "seconds",
    "science_product", "reason",
)  # fmt: skip


@dataclass
class WorkItem:
    """One product to make: where it comes from, its members, or why it cannot be made."""

    source: Path
    product: int
    members: ProductMembers | None = None
    error: str | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        science = self.members.science.name if self.members else "?"
        self.name = f"{self.source} [product {self.product}: {science}]"


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Expand globs (``data/*_asn.json``) and plain paths to absolute paths, in order, once each.

    Raises
    ------
    InputError
        When a pattern matches nothing.
    """
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches or (not glob.has_magic(pattern) and not Path(pattern).exists()):
            raise InputError(pattern, "matches no file", "check the pattern or the path")
        for match in matches:
            # Absolute: the tasks may run on workers whose working folder is not ours.
            path = Path(match).resolve()
            if path not in paths:
                paths.append(path)
    return paths


def plan_items(paths: Sequence[Path]) -> list[WorkItem]:
    """Return one work item per product; an unreadable association becomes a failed item."""
    items: list[WorkItem] = []
    for path in paths:
        try:
            products = collect_inputs(path)
        except InputError as error:
            items.append(WorkItem(path, 0, error=str(error)))
            continue
        items += [WorkItem(path, number, members) for number, members in enumerate(products)]
    return items


def refuse_collisions(items: Sequence[WorkItem], parameters: SelfcalParameters,
                      output_dir: Path) -> None:
    """Mark as failed every item whose products an earlier item of the batch also writes.

    Two associations with the same science file name would otherwise overwrite each
    other's products in the one output folder.
    """
    owners: dict[Path, WorkItem] = {}
    for item in items:
        if item.members is None or item.error is not None:
            continue
        try:
            science, backgrounds = plan_outputs(item.members, parameters, output_dir)
        except InputError as error:
            item.error = str(error)
            continue
        for path in (science, *backgrounds):
            owner = owners.get(path.resolve())
            if owner is not None:
                item.error = (f"{path.name} is also the product of {owner.name}; give them "
                              "different --output_dir runs")
                break
        else:
            for path in (science, *backgrounds):
                owners[path.resolve()] = item


def is_up_to_date(item: WorkItem, parameters: SelfcalParameters, output_dir: Path) -> bool:
    """Return True when every product of ``item`` exists and is newer than its inputs."""
    if item.members is None:
        return False
    try:
        science, backgrounds = plan_outputs(item.members, parameters, output_dir)
    except InputError:
        return False
    outputs = [science, *backgrounds]
    if not all(path.is_file() for path in outputs):
        return False
    newest_input = max(path.stat().st_mtime for path in [item.source, *item.members.all_paths])
    return min(path.stat().st_mtime for path in outputs) > newest_input


def _png(rgb: np.ndarray) -> bytes:
    """Encode an RGB uint8 image (rows, columns, 3) as PNG bytes (with Pillow)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def flag_thumbnail(flags: np.ndarray, already_bad: np.ndarray, size: int = 160) -> bytes:
    """Return a PNG thumbnail of the flags (red) over pre-existing DO_NOT_USE (grey).

    Each thumbnail pixel shows a block of the detector; a block with any flag is red, so no
    flag is lost by the reduction. Rows are flipped so that row 0 is at the bottom, as in
    the window and DS9.
    """
    factor = max(1, math.ceil(max(flags.shape) / size))
    rows = -(-flags.shape[0] // factor) * factor
    columns = -(-flags.shape[1] // factor) * factor

    def pooled(mask: np.ndarray) -> np.ndarray:
        padded = np.zeros((rows, columns), dtype=bool)
        padded[: mask.shape[0], : mask.shape[1]] = mask
        return padded.reshape(rows // factor, factor, columns // factor, factor).any(axis=(1, 3))

    image = np.full((rows // factor, columns // factor, 3), 20, dtype=np.uint8)
    image[pooled(already_bad)] = (90, 90, 90)
    image[pooled(flags)] = (255, 60, 40)
    return _png(np.ascontiguousarray(image[::-1]))


def process_item(
    item: WorkItem, parameters: SelfcalParameters, output_dir: Path, overwrite: bool
) -> dict:
    """Make one product (runs on a Dask worker); return its summary row, never raise."""
    started = time.perf_counter()
    # A worker makes many products: the compiled kernels pay for their loading after the
    # first one or two (the plain path serves meanwhile, with the same flags).
    kernels.warm_up()
    row = {key: "" for key in SUMMARY_FIELDS}
    row.update(association=str(item.source), product=item.product,
               science=item.members.science.name if item.members else "")
    if item.error is not None:
        return {**row, "status": "failed", "reason": item.error}
    if not overwrite and is_up_to_date(item, parameters, output_dir):
        science, _ = plan_outputs(item.members, parameters, output_dir)
        return {**row, "status": "up to date", "science_product": str(science),
                "reason": "products newer than their inputs (use --overwrite to redo)"}
    try:
        outcome = run_product(item.members, parameters, output_dir, inputs=[item.source])
        thumbnail = b""
        if outcome.flags is not None:
            already = outcome.already_bad
            already = np.zeros_like(outcome.flags) if already is None else already
            thumbnail = flag_thumbnail(outcome.flags, already & ~outcome.flags)
    except InputError as error:
        return {**row, "status": "failed", "reason": str(error),
                "seconds": round(time.perf_counter() - started, 3)}
    except Exception as error:  # a worker must report, not die: the batch goes on
        return {**row, "status": "failed", "reason": f"{type(error).__name__}: {error}",
                "seconds": round(time.perf_counter() - started, 3)}
    limits = outcome.thresholds
    return {
        **row, "detector": outcome.detector or "", "status": outcome.status.lower(),
        "flags_low": outcome.n_low if outcome.n_low is not None else "",
        "flags_high": outcome.n_high if outcome.n_high is not None else "",
        "flags_total": outcome.n_flagged, "already_do_not_use": outcome.n_already_bad,
        "threshold_low": "" if limits is None else float(limits.low),
        "threshold_high": "" if limits is None else float(limits.high),
        "seconds": round(time.perf_counter() - started, 3),
        "science_product": str(outcome.science_product), "thumbnail": thumbnail,
    }  # fmt: skip


def _progress(total: int, quiet: bool):
    """Return a tqdm progress bar on standard error (disabled when ``quiet``)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="product", file=sys.stderr, disable=quiet,
                dynamic_ncols=True, mininterval=0.5, desc="badpix_selfcal")


def run_batch(
    items: Sequence[WorkItem],
    parameters: SelfcalParameters,
    output_dir: Path,
    client,
    *,
    overwrite: bool = False,
    quiet: bool = False,
) -> list[dict]:
    """Run every item as a Dask task on ``client``; return the rows in the items' order."""
    from distributed import as_completed

    progress = _progress(len(items), quiet)
    futures = {
        client.submit(process_item, item, parameters, output_dir, overwrite, pure=False): number
        for number, item in enumerate(items)
    }  # fmt: skip
    rows: list[dict | None] = [None] * len(items)
    failed = 0
    try:
        for future in as_completed(futures):
            row = future.result()
            rows[futures[future]] = row
            failed += row["status"] == "failed"
            progress.set_postfix(failed=failed, refresh=False)
            progress.update(1)
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        progress.close()
    # Every task has ended: a temporary file still beside a product was left by a worker
    # that was killed while it wrote (Dask ran its task again elsewhere).
    planned = []
    for item in items:
        with contextlib.suppress(InputError):
            if item.members is not None:
                science, backgrounds = plan_outputs(item.members, parameters, output_dir)
                planned += [science, *backgrounds]
    for path in remove_stale_temporaries(planned):
        log.warning("removed %s, left by a worker that was stopped while writing", path.name)
    return rows  # type: ignore[return-value]


def batch_inputs(items: Sequence[WorkItem]) -> list[Path]:
    """Return every file the batch reads: associations and their members."""
    paths: list[Path] = []
    for item in items:
        paths.append(item.source)
        if item.members is not None:
            paths += item.members.all_paths
    return paths


def write_summary(rows: Sequence[dict], path: Path,
                  inputs: Iterable[str | Path] | OutputGuard | OutputSet = ()) -> Path:
    """Write the summary CSV (one row per product), atomically, never over an input.

    Text cells are escaped against formula injection (`csv_cell`); a file name that is not
    UTF-8 is written with its original bytes (``surrogateescape``), as it is on disk.
    ``inputs`` are the files the summary must never replace (see
    `badpix_inspector.io.write_file`).
    """
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    return write_file(path, text.getvalue().encode("utf-8", "surrogateescape"), inputs)


def _html_text(value: object) -> str:
    r"""Escape text for HTML; bytes of a non-UTF-8 file name are shown as ``\xNN``."""
    text = os.fsencode(value).decode("utf-8", "backslashreplace") if isinstance(value, str) \
        else str(value)
    return html.escape(text)


def write_overview(rows: Sequence[dict], path: Path, parameters: SelfcalParameters,
                   inputs: Iterable[str | Path] | OutputGuard | OutputSet = ()) -> Path:
    """Write a one-page HTML overview: a thumbnail of each product's flags and its numbers.

    Every text is HTML-escaped; ``inputs`` are the files the overview must never replace.

    Products whose flagged fraction is far from the batch's median (more than 3 median
    absolute deviations) are marked, so that outliers stand out.
    """
    totals = np.array([float(row["flags_total"]) for row in rows
                       if row.get("flags_total") not in ("", None)])
    median = float(np.median(totals)) if totals.size else 0.0
    spread = float(np.median(np.abs(totals - median))) if totals.size else 0.0
    cells = []
    for row in rows:
        name = _html_text(f"{Path(str(row['association'])).name} [{row['product']}]")
        science = _html_text(str(row.get("science", "")))
        if row["status"] == "failed":
            cells.append(f'<div class="card failed"><b>{name}</b><br>{science}<br>'
                         f'<span class="reason">{_html_text(str(row["reason"]))}</span></div>')
            continue
        picture = ""
        if row.get("thumbnail"):
            encoded = base64.b64encode(row["thumbnail"]).decode("ascii")
            picture = f'<img src="data:image/png;base64,{encoded}" alt="flags of {science}">'
        total = row.get("flags_total")
        unusual = (total not in ("", None) and spread > 0
                   and abs(float(total) - median) > 3 * spread)
        mark = ' <span class="unusual">unusual</span>' if unusual else ""
        cells.append(f'<div class="card{" outlier" if unusual else ""}"><b>{name}</b>{mark}<br>'
                     f'{science}<br>{picture}<br>{_html_text(str(row["status"]))}: '
                     f'{total} flagged ({row.get("flags_low", "")} low, '
                     f'{row.get("flags_high", "")} high)</div>')
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>badpix_selfcal batch overview</title>
<style>
body {{ font-family: sans-serif; background: #111; color: #ddd; }}
.card {{ display: inline-block; vertical-align: top; width: 190px; margin: 6px; padding: 6px;
  background: #222; border: 2px solid #333; font-size: 11px; word-wrap: break-word; }}
.card img {{ width: 160px; image-rendering: pixelated; }}
.failed {{ border-color: #c33; }} .outlier {{ border-color: #e90; }}
.reason {{ color: #f88; }} .unusual {{ color: #e90; font-weight: bold; }}
</style></head><body>
<h2>badpix_selfcal: {len(rows)} products</h2>
<p>kernel_size={parameters.kernel_size}, flagfrac_lower={parameters.flagfrac_lower:g},
flagfrac_upper={parameters.flagfrac_upper:g}. Red: flagged; grey: DO_NOT_USE before the step;
orange frame: a flag count more than 3 MAD from the median ({median:g}); red frame: failed.</p>
{"".join(cells)}
</body></html>
"""
    return write_file(path, page.encode("utf-8"), inputs)
