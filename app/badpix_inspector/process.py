"""One product from files to files: read, combine, filter, flag, write.

This is the step's outer layer (what ``BadpixSelfcalStep.process`` does around the array
function), shared by the ``badpix-selfcal`` command and the window's save action.
"""

from __future__ import annotations

import itertools
import logging
import textwrap
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .core import (
    PARAMETER_SPECS,
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
    OutputGuard,
    OutputSet,
    ProductMembers,
    check_output_folder,
    make_output_folder,
    output_stem,
    product_paths,
    read_exposure,
    write_product,
)

__all__ = [
    "ProductOutcome",
    "check_kernel_size",
    "history_lines",
    "load_exposures",
    "plan_outputs",
    "run_product",
]

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


class _quiet_nan_warnings(warnings.catch_warnings):
    """Silence numpy's NaN warnings (all-NaN slices, empty means) for the step's numerics.

    An image that is almost all NaN, or a MIRI frame too small for its pedestal region,
    leaves slices without a finite value: the step's answer for them is NaN, as jwst's,
    and the warning text would only confuse the command's output.
    """

    def __enter__(self):
        entered = super().__enter__()
        for message in ("All-NaN slice", "Mean of empty slice", "invalid value encountered",
                        "Degrees of freedom", "empty slice"):
            warnings.filterwarnings("ignore", message=f".*{message}", category=RuntimeWarning)
        return entered


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
    guard = OutputGuard(members.all_paths)
    seen: set[Path] = set()
    for path in (science, *backgrounds):
        guard.check(path)  # an input, through any path or link, is never written over
        if path.resolve() in seen:
            raise InputError(path, "two products would be written to the same file",
                             "leave out --output_file when there are several products")
        seen.add(path.resolve())
    return science, backgrounds


def check_kernel_size(kernel_size: int, shape: tuple[int, ...], path: Path) -> None:
    """Refuse a median window longer than the image: it is a typing mistake, not a tuning.

    Such a window spans the whole detector (and a huge one would fill the memory before
    the filter even starts), so the step's result would mean nothing.

    Raises
    ------
    InputError
        Naming the science file, the window and the image's size.
    """
    longest = max(shape)
    if kernel_size > longest:
        raise InputError(
            path, f"kernel_size {kernel_size} is larger than the {_shape_text(shape)} image",
            f"give an odd kernel_size of at most {longest - 1 + longest % 2} (jwst's default "
            "is 15)",
        )


def history_lines(
    parameters: SelfcalParameters, dispaxis: int | None, n_flagged: int | None
) -> list[str]:
    """Return the HISTORY text that names the tool, its version and the parameters.

    Every parameter of `PARAMETER_SPECS` is given exactly (a fraction tuned in the window
    such as 0.0053911315129430695 is not rounded), in lines short enough for one HISTORY
    card each: a longer line is cut by astropy in mid-number.
    """

    def exact(value) -> str:
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text if not isinstance(value, float) or float(text) == value else repr(value)

    words = [f"{name}={exact(getattr(parameters, name))}" for name in PARAMETER_SPECS]
    lines = [f"badpix-inspector {__version__} badpix_selfcal:",
             *textwrap.wrap(" ".join([*words, f"dispaxis={dispaxis}"]), width=70,
                            break_long_words=False, break_on_hyphens=False)]
    if n_flagged is None:
        return [*lines, "badpix_selfcal skipped: no background or selfcal exposure"]
    return [*lines, f"badpix_selfcal flagged {n_flagged} pixels"]


def run_product(
    members: ProductMembers,
    parameters: SelfcalParameters,
    output_dir: Path,
    output_file: str | None = None,
    *,
    extra_mask: np.ndarray | None = None,
    dispaxis: int | str | None = "auto",
    edits: EditLists | None = None,
    outputs: OutputSet | None = None,
    inputs: Iterable[str | Path] = (),
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
    outputs : OutputSet, optional
        Stage the products in this set (a run of several products or files that must be
        written all or none); by default they are written together when this product is
        done: the science product and the background products all, or none.
    inputs : iterable of path
        More files that must never be replaced (the association, an edits file); the
        product's members are always protected.

    Returns
    -------
    ProductOutcome
        Paths written, counts and timing.

    Raises
    ------
    InputError
        For any unreadable input or unwritable output; nothing is then written.
    """
    if outputs is not None:
        outputs.guard.protect(*members.all_paths, *inputs)
        return _run_product(members, parameters, output_dir, output_file, extra_mask,
                            dispaxis, edits, outputs)
    with OutputGuard([*members.all_paths, *inputs]).batch() as staged:
        outcome = _run_product(members, parameters, output_dir, output_file, extra_mask,
                               dispaxis, edits, staged)
    for path in (outcome.science_product, *outcome.background_products):
        log.info("Saved model in %s", path)
    return outcome


def _run_product(members, parameters, output_dir, output_file, extra_mask, dispaxis, edits,
                 outputs: OutputSet) -> ProductOutcome:
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
            history_lines(parameters, dispaxis, None), outputs=outputs,
        )  # fmt: skip
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
    check_kernel_size(parameters.kernel_size, shape, science.path)
    limits = n_low = n_high = None
    exposures = itertools.chain([science], _read_others(members, science))
    if extra_mask is None:
        # Exposures are read and folded into the minimum one at a time: only the running
        # minimum is held, not every exposure.
        with _quiet_nan_warnings():
            combined = combine((exposure.sci for exposure in exposures),
                               science.detector).image
            science.sci = None  # the products are written from the files, not this copy
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
    already_bad = write_product(science.path, science_product, mask, "COMPLETE", history,
                                outputs=outputs)
    n_already_bad = 0 if already_bad is None else int(np.count_nonzero(mask & already_bad))
    for source, destination in zip(members.backgrounds, background_products, strict=False):
        # jwst 3.0.0 leaves S_BPXSLF on flagged background products as their input had it.
        write_product(source, destination, mask, None, history, outputs=outputs)
    log.info("Step badpix_selfcal done")
    return ProductOutcome(
        "COMPLETE", science_product, background_products, int(np.count_nonzero(mask)), limits,
        time.perf_counter() - started, n_low, n_high, n_already_bad, science.detector,
        mask, already_bad,
    )  # fmt: skip
