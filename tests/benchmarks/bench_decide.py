"""Suspect flags, compare and suggested fractions on full frames (issue 12). Prints figures.

Run:  python tests/benchmarks/bench_decide.py

Makes a selfcal-only NIRSpec (2048x2048, DISPAXIS=1) and MIRI (1024x1032, DISPAXIS=2)
association from the simulator, runs the step's stages at the pipeline's defaults, then
times `suspect_flags`, `compare_flags` and `suggest_fractions` (best of 5), and prints how
many flags sit on planted lines and hot pixels and how many of each are suspect.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial

from badpix_inspector.core import (
    SelfcalParameters,
    SelfcalStages,
    compare_flags,
    suggest_fractions,
    suspect_flags,
)
from badpix_inspector.core.statistics import robust_sigma_sorted
from badpix_inspector.io import read_association, read_exposure
from badpix_inspector.simulate import make_association


def _best(function, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parameters = SelfcalParameters()
    for detector in ("NRS1", "MIRIFULONG"):
        with tempfile.TemporaryDirectory(prefix="bench_decide_") as folder:
            made = make_association(folder, detector, n_background=0, n_selfcal=3, seed=0)
            (product,) = read_association(made.association)
            science = read_exposure(product.science)
            images = [science.sci] + [read_exposure(p).sci for p in product.selfcals]
            stages = SelfcalStages(images, science.detector)
            dispaxis = science.dispaxis
            filtered = stages.filtered(parameters.kernel_size, dispaxis)
            limits = stages.thresholds(parameters, dispaxis)
            flags = stages.flags(parameters, dispaxis)
            seconds, suspect = _best(partial(suspect_flags, filtered.difference, limits,
                                             dispaxis))
            other = stages.flags(parameters.replace(flagfrac_upper=0.002), dispaxis)
            compare_seconds, _ = _best(partial(compare_flags, flags, other))
            values = filtered.sorted_finite
            sigma = robust_sigma_sorted(values)
            suggest_seconds, fractions = _best(partial(suggest_fractions, values, sigma))
            print(f"{detector} {science.shape}: {int(flags.sum())} flags, "
                  f"{int(suspect.sum())} suspect; suspect_flags {seconds * 1e3:.1f} ms, "
                  f"compare_flags {compare_seconds * 1e3:.1f} ms, suggest_fractions "
                  f"{suggest_seconds * 1e3:.3f} ms -> {fractions[0]:.5f}, {fractions[1]:.5f}")
            for name, mask in (("lines", made.lines), ("hot", made.defects.hot),
                               ("cold", made.defects.cold)):
                print(f"  {name}: {int((flags & mask).sum())} flagged, "
                      f"{int((suspect & mask).sum())} suspect")


if __name__ == "__main__":
    main()
