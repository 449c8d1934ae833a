"""One product from files to files: read, combine, filter, flag, write.

This is the step's outer layer (what ``BadpixSelfcalStep.process`` does around the array
function), shared by the ``badpix-selfcal`` command and the window's save action.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .core import SelfcalParameters, SelfcalStages, Thresholds
from .io import (
    Exposure,
    InputError,
    ProductMembers,
    check_output_folder,
    check_outputs,
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
        Pixels flagged (0 when skipped).
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


def load_exposures(members: ProductMembers) -> list[Exposure]:
    """Read science, backgrounds and selfcals, and check that their shapes agree."""
    exposures = [read_exposure(members.science, "science")]
    exposures += [read_exposure(path, "background") for path in members.backgrounds]
    exposures += [read_exposure(path, "selfcal") for path in members.selfcals]
    science = exposures[0]
    for exposure in exposures[1:]:
        if exposure.shape != science.shape:
            raise InputError(
                exposure.path,
                f"SCI is {_shape_text(exposure.shape)}, unlike the science exposure "
                f"{science.name} ({_shape_text(science.shape)})",
                "use exposures of the same detector",
            )
    return exposures


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
        Replaces the algorithm's flags when given (the window's final flags).

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
    exposures = load_exposures(members)
    science = exposures[0]
    dispaxis = science.dispaxis
    log.info(
        "Step badpix_selfcal running with science %s, %d background and %d selfcal "
        "exposure(s); kernel_size=%d flagfrac_lower=%g flagfrac_upper=%g",
        science.name, len(members.backgrounds), len(members.selfcals),
        parameters.kernel_size, parameters.flagfrac_lower, parameters.flagfrac_upper,
    )  # fmt: skip
    if len(exposures) == 1 and not parameters.force_single:
        log.warning(
            "No selfcal or background exposures provided for self-calibration. Skipping step."
        )
        log.info(
            "To force self-calibration with the science exposure alone (generally not "
            "recommended), pass --force_single."
        )
        write_product(
            science.path, science_product, None, "SKIPPED",
            history_lines(parameters, dispaxis, None),
        )  # fmt: skip
        log.info("Saved model in %s", science_product)
        return ProductOutcome("SKIPPED", science_product, seconds=time.perf_counter() - started)

    if dispaxis is None:
        log.warning(
            "DISPAXIS not found in %s: the median filter window will be %dx%d (two-dimensional).",
            science.name, parameters.kernel_size, parameters.kernel_size,
        )  # fmt: skip
    stages = SelfcalStages([exposure.sci for exposure in exposures], science.detector)
    limits = stages.thresholds(parameters, dispaxis)
    mask = stages.flags(parameters, dispaxis) if extra_mask is None else extra_mask
    n_flagged = int(np.count_nonzero(mask))
    log.info("Number of new bad pixels flagged: %d", n_flagged)
    history = history_lines(parameters, dispaxis, n_flagged)
    write_product(science.path, science_product, mask, "COMPLETE", history)
    log.info("Saved model in %s", science_product)
    backgrounds = [exposure for exposure in exposures if exposure.role == "background"]
    for exposure, destination in zip(backgrounds, background_products, strict=False):
        write_product(exposure.path, destination, mask, "COMPLETE", history)
        log.info("Saved model in %s", destination)
    log.info("Step badpix_selfcal done")
    return ProductOutcome(
        "COMPLETE", science_product, background_products, n_flagged, limits,
        time.perf_counter() - started,
    )  # fmt: skip
