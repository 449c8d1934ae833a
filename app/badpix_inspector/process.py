"""One product from files to files: read, combine, filter, flag, write.

This is the step's outer layer (what ``BadpixSelfcalStep.process`` does around the array
function), shared by the ``badpix-selfcal`` command and the window's save action.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .core import (
    SelfcalParameters,
    Thresholds,
    combine,
    filter_combined,
    final_flags,
    flag_mask,
)
from .io import (
    EditLists,
    Exposure,
    InputError,
    ProductMembers,
    check_output_folder,
    check_outputs,
    make_output_folder,
    output_stem,
    product_paths,
    read_exposure,
    write_product,
)

__all__ = ["ProductOutcome", "history_lines", "load_exposures", "plan_outputs", "run_product"]

log = logging.getLogger("badpix_selfcal")


@dataclass
class ProductOutcome:
    """What processing one product did.

    Attributes
    ----------
    status : str
        ``COMPLETE`` or ``SKIPPED`` (the value of ``S_BPXSLF``).
    science_product : pathlib.Path
        The science product written.
    background_products : list of pathlib.Path
        Background products written (with ``save_flagged_bkg``).
    n_flagged : int
        Pixels flagged (0 when skipped), hand edits included.
    n_low, n_high : int or None
        Flagged below the low and above the high threshold (None when the flags came
        ready-made from the window).
    n_already_bad : int
        Flagged pixels that were DO_NOT_USE in the science exposure already.
    flags : numpy.ndarray of bool or None
        The pixels flagged in the science product (None when skipped).
    already_bad : numpy.ndarray of bool or None
        The science pixels that were DO_NOT_USE before the step.
    detector : str or None
        The science exposure's detector.
    thresholds : Thresholds or None
        The limits on the difference image (None when skipped).
    seconds : float
        Wall time for the product.
    """

    status: str
    science_product: Path
    background_products: list[Path] = field(default_factory=list)
    n_flagged: int = 0
    thresholds: Thresholds | None = None
    seconds: float = 0.0
    n_low: int | None = None
    n_high: int | None = None
    n_already_bad: int = 0
    detector: str | None = None
    flags: np.ndarray | None = field(default=None, repr=False)
    already_bad: np.ndarray | None = field(default=None, repr=False)


def load_exposures(members: ProductMembers) -> list[Exposure]:
    """Read science, backgrounds and selfcals, and check that their shapes agree."""
    science = read_exposure(members.science, "science")
    return [science, *_read_others(members, science)]


def _read_others(members: ProductMembers, science: Exposure) -> Iterator[Exposure]:
    """Read the backgrounds and selfcals one at a time, checking each shape."""
    roles = [("background", path) for path in members.backgrounds]
    roles += [("selfcal", path) for path in members.selfcals]
    for role, path in roles:
        exposure = read_exposure(path, role)
        if exposure.shape != science.shape:
            raise InputError(
                exposure.path,
                f"SCI is {_shape_text(exposure.shape)}, unlike the science exposure "
                f"{science.name} ({_shape_text(science.shape)})",
                "use exposures of the same detector",
            )
        yield exposure


def _edit_masks(edits: EditLists, science: Path, shape: tuple[int, int]):
    """Turn edit pixel lists into masks of the science shape, refusing edits that do not fit."""
    if edits.shape is not None and tuple(edits.shape) != tuple(shape):
        raise InputError(science, f"the edits are for {edits.shape[0]}x{edits.shape[1]} pixels, "
                         f"this science exposure has {shape[0]}x{shape[1]}",
                         "use the edits made for this exposure")
    masks = []
    for pixels, name in zip(edits[:2], ("forced bad", "forced good"), strict=True):
        pixels = np.asarray(pixels, dtype=np.int64).reshape(-1, 2)
        rows, columns = shape
        outside = (pixels < 0).any(axis=1) | (pixels[:, 0] >= rows) | (pixels[:, 1] >= columns)
        if outside.any():
            raise InputError(science, f"a {name} edit lies outside the {rows}x{columns} "
                             "detector", "use the edits made for this exposure")
        mask = np.zeros(shape, dtype=bool)
        mask[pixels[:, 0], pixels[:, 1]] = True
        masks.append(mask)
    return masks[0], masks[1]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(size) for size in shape)


def plan_outputs(
    members: ProductMembers,
    parameters: SelfcalParameters,
    output_dir: Path,
    output_file: str | None = None,
) -> tuple[Path, list[Path]]:
    """Return the product paths for ``members``, refusing any that would overwrite an input."""
    stem = output_stem(members.science, output_file)
    science, backgrounds = product_paths(
        stem, output_dir, len(members.backgrounds), parameters.save_flagged_bkg
    )
    check_outputs([science, *backgrounds], members.all_paths)
    return science, backgrounds


def history_lines(
    parameters: SelfcalParameters, dispaxis: int | None, n_flagged: int | None
) -> list[str]:
    """Return the HISTORY text that names the tool, its version and the parameters."""
    line = (
        f"badpix-inspector {__version__} badpix_selfcal: kernel_size={parameters.kernel_size} "
        f"flagfrac_lower={parameters.flagfrac_lower:g} "
        f"flagfrac_upper={parameters.flagfrac_upper:g} dispaxis={dispaxis}"
    )
    if n_flagged is None:
        return [line, "badpix_selfcal skipped: no background or selfcal exposure"]
    return [line, f"badpix_selfcal flagged {n_flagged} pixels"]


def run_product(
    members: ProductMembers,
    parameters: SelfcalParameters,
    output_dir: Path,
    output_file: str | None = None,
    *,
    extra_mask: np.ndarray | None = None,
    dispaxis: int | str | None = "auto",
    edits: EditLists | None = None,
) -> ProductOutcome:
    """Process one product as ``BadpixSelfcalStep`` does and write its products.

    Parameters
    ----------
    members : ProductMembers
        The science exposure and its backgrounds and selfcals.
    parameters : SelfcalParameters
        The step's parameters.
    output_dir : pathlib.Path
        Where the products go (created if needed).
    output_file : str, optional
        The stem of the product names, instead of the science file's.
    extra_mask : numpy.ndarray of bool, optional
        Flags to write instead of computing them (the window's, already computed with
        the same parameters); the exposures are then only checked, not filtered again.
    dispaxis : {"auto", 1, 2, None}
        The dispersion axis: "auto" takes ``DISPAXIS`` from the science header, as jwst
        does; the window may override it.
    edits : EditLists, optional
        Hand edits: the forced-bad and forced-good pixels as ``[row, column]`` lists
        (N x 2), and the detector shape they were made for. The flags written are
        ``(algorithm | forced bad) & ~forced good``.

    Returns
    -------
    ProductOutcome
        Paths written, counts and timing.

    Raises
    ------
    InputError
        For any unreadable input or unwritable output; nothing is then written.
    """
    started = time.perf_counter()
    check_output_folder(output_dir)
    science_product, background_products = plan_outputs(
        members, parameters, output_dir, output_file
    )
    science = read_exposure(members.science, "science")
    shape = science.shape
    if dispaxis == "auto":
        dispaxis = science.dispaxis
    log.info(
        "Step badpix_selfcal running with science %s, %d background and %d selfcal "
        "exposure(s); kernel_size=%d flagfrac_lower=%g flagfrac_upper=%g",
        science.name, len(members.backgrounds), len(members.selfcals),
        parameters.kernel_size, parameters.flagfrac_lower, parameters.flagfrac_upper,
    )  # fmt: skip
    if not members.backgrounds and not members.selfcals and not parameters.force_single:
        log.warning(
            "No selfcal or background exposures provided for self-calibration. Skipping step."
        )
        log.info(
            "To force self-calibration with the science exposure alone (generally not "
            "recommended), pass --force_single."
        )
        make_output_folder(output_dir)
        write_product(
            science.path, science_product, None, "SKIPPED",
            history_lines(parameters, dispaxis, None),
        )  # fmt: skip
        log.info("Saved model in %s", science_product)
        return ProductOutcome("SKIPPED", science_product, seconds=time.perf_counter() - started,
                              detector=science.detector)

    if extra_mask is not None and extra_mask.shape != shape:
        raise InputError(
            science.path, f"the flags are {extra_mask.shape}, the SCI {shape}",
            "recompute the flags for this exposure",
        )  # fmt: skip
    if dispaxis is None:
        log.warning(
            "DISPAXIS not found in %s: the median filter window will be %dx%d (two-dimensional).",
            science.name, parameters.kernel_size, parameters.kernel_size,
        )  # fmt: skip
    limits = n_low = n_high = None
    exposures = itertools.chain([science], _read_others(members, science))
    if extra_mask is None:
        # Exposures are read and folded into the minimum one at a time: only the running
        # minimum is held, not every exposure.
        combined = combine((exposure.sci for exposure in exposures), science.detector).image
        science.sci = None  # the products are written from the files, not from this copy
        filtered = filter_combined(combined, parameters.kernel_size, dispaxis)
        limits = filtered.thresholds(parameters.flagfrac_lower, parameters.flagfrac_upper)
        mask = flag_mask(filtered.difference, limits)
        n_low = int(np.count_nonzero(filtered.difference < limits.low))
        n_high = int(np.count_nonzero(mask)) - n_low
        del combined, filtered
    else:
        for _ in exposures:  # still check that every exposure can be read and fits
            pass
        mask = extra_mask
    n_flagged = int(np.count_nonzero(mask))
    log.info("Number of new bad pixels flagged: %d", n_flagged)
    history = history_lines(parameters, dispaxis, n_flagged)
    if edits is not None:
        forced_bad, forced_good = _edit_masks(edits, science.path, shape)
        mask = final_flags(mask, forced_bad, forced_good)
        history.append(
            f"manual edits: {int(forced_bad.sum())} pixels forced bad, "
            f"{int(forced_good.sum())} forced good; {int(mask.sum())} flagged in the end"
        )
        log.info("Manual edits: %d forced bad, %d forced good; %d flagged in the end",
                 int(forced_bad.sum()), int(forced_good.sum()), int(mask.sum()))
    make_output_folder(output_dir)
    already_bad = write_product(science.path, science_product, mask, "COMPLETE", history)
    n_already_bad = 0 if already_bad is None else int(np.count_nonzero(mask & already_bad))
    log.info("Saved model in %s", science_product)
    for source, destination in zip(members.backgrounds, background_products, strict=False):
        write_product(source, destination, mask, "COMPLETE", history)
        log.info("Saved model in %s", destination)
    log.info("Step badpix_selfcal done")
    return ProductOutcome(
        "COMPLETE", science_product, background_products, int(np.count_nonzero(mask)), limits,
        time.perf_counter() - started, n_low, n_high, n_already_bad, science.detector,
        mask, already_bad,
    )  # fmt: skip
