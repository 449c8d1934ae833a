"""Side-by-side timings of badpix-inspector and jwst 3.0.0 (SPEC §7). Prints figures only.

Run:  python tests/benchmarks/bench_core.py [--quick] [--skip-2d] [--core-only]

- the core ``badpix_selfcal`` against jwst's function on the same image: a 1024x1032 MIRI
  frame (window along rows), a 2048x2048 NIRSpec frame (along columns) and a 512x512 frame
  with the square 15x15 window (jwst's takes ~18 s on a full MIRI frame), each on
  random-like data (~1 % NaN, 0.1 % outliers) and on the simulator's combined images; ours
  on the plain path and with the compiled kernels (loaded first, synchronously), and
  whether the flags are identical;
- the staged core, plain and compiled: a flag-fraction change and a kernel change after
  the first result;
- the command as a whole process on a 5-exposure MIRI association against jwst's step
  (``strun`` with the same parameters): wall time and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")

import numpy as np

from badpix_inspector import SelfcalParameters, badpix_selfcal
from badpix_inspector.core import SelfcalStages, combine, kernels
from badpix_inspector.io import read_exposure, write_parameter_file
from badpix_inspector.simulate import make_association


def combined_image(made, detector):
    return combine([read_exposure(path).sci for path in made.exposures], detector).image


def random_like(shape, seed):
    """A rate-like frame: smooth spectra along one axis, noise, ~1 % NaN, 0.1 % outliers."""
    rng = np.random.default_rng(seed)
    rows, columns = shape
    image = (np.sin(np.linspace(0, 40, columns))[None, :] * 5
             + np.linspace(0, 3, rows)[:, None]).astype(np.float32)
    image += rng.normal(size=shape).astype(np.float32)
    outliers = rng.random(shape) < 0.001
    image[outliers] += rng.choice([-1, 1], outliers.sum()) * rng.uniform(20, 200, outliers.sum())
    image[rng.random(shape) < 0.01] = np.nan
    return image


def median_ms(function, repeats):
    """Median and fastest of ``repeats`` wall times (ms), and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), result


def same_flags(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def core_benchmarks(folder: Path, quick: bool, skip_2d: bool) -> None:
    from jwst.badpix_selfcal.badpix_selfcal import badpix_selfcal as jwst_badpix_selfcal

    started = time.perf_counter()
    kernels.warm_up(background=False)
    print(f"\nCompiled kernels loaded in {time.perf_counter() - started:.2f} s "
          "(numba import + cache load, or compile when the cache is cold)")
    print("\nCore badpix_selfcal, same image for all (median of runs; jwst once or 3 times)")
    miri = make_association(folder / "miri_core", "MIRIFULONG", n_background=1, n_selfcal=3)
    nirspec = make_association(folder / "nrs_core", "NRS1", n_background=0, n_selfcal=1)
    miri_combined = combined_image(miri, "MIRIFULONG")
    random_miri, random_nirspec = random_like((1024, 1032), 1), random_like((2048, 2048), 2)
    cases = [
        ("random   MIRI 1024x1032 rows k=15", random_miri, 2, 15),
        ("random   NIRSpec 2048x2048 columns k=15", random_nirspec, 1, 15),
        ("simulated MIRI 1024x1032 rows k=15", miri_combined, 2, 15),
        ("simulated NIRSpec 2048x2048 columns k=15", combined_image(nirspec, "NRS1"), 1, 15),
        # Other window lengths take the sorted-lanes kernel instead of the network.
        ("random   MIRI 1024x1032 rows k=25", random_miri, 2, 25),
        ("random   NIRSpec 2048x2048 columns k=9", random_nirspec, 1, 9),
    ]
    if not skip_2d:
        cases += [
            ("random   512x512 square 15x15", random_like((512, 512), 3), None, 15),
            ("simulated 512x512 square 15x15", np.ascontiguousarray(miri_combined[256:768,
                                                                               256:768]), None, 15),
        ]
    header = f"  {'case':<42} {'jwst':>9} {'plain':>8} {'compiled':>9} {'ratio':>7} {'plain':>6}"
    print(header + "   flags")
    for label, image, dispaxis, size in cases:
        repeats_jwst = 1 if dispaxis is None or quick else 3
        theirs, _, their_flags = median_ms(
            lambda image=image, axis=dispaxis, size=size: jwst_badpix_selfcal(
                image, kernel_size=size, dispaxis=axis),
            repeats_jwst,
        )
        with kernels.plain_path():
            plain, _, plain_flags = median_ms(
                lambda image=image, axis=dispaxis, size=size: badpix_selfcal(
                    image, kernel_size=size, dispaxis=axis), 5
            )
        ours, _, our_flags = median_ms(
            lambda image=image, axis=dispaxis, size=size: badpix_selfcal(
                image, kernel_size=size, dispaxis=axis), 11
        )
        same = same_flags(our_flags, their_flags) and same_flags(plain_flags, their_flags)
        print(f"  {label:<42} {theirs:7.1f}ms {plain:6.1f}ms {ours:7.2f}ms "
              f"{theirs / ours:6.1f}x {theirs / plain:5.1f}x   "
              f"{'identical' if same else 'FLAGS DIFFER'} ({their_flags[0].size})", flush=True)

    print("\nStaged core on the simulated MIRI association (what the window recomputes)")
    images = [read_exposure(p).sci for p in miri.exposures]
    parameters = SelfcalParameters()
    fraction = parameters.replace(flagfrac_upper=0.002)
    for path_name, context in (("plain", kernels.plain_path), ("compiled", contextlib.nullcontext)):
        with context():
            stages = SelfcalStages(images, "MIRIFULONG")
            first, _, _ = median_ms(lambda stages=stages: stages.flags(parameters, 2), 1)
            filtered = stages.filtered(15, 2)
            filtered.sorted_values  # noqa: B018 (the window sorts once per kernel)
            changed, _, _ = median_ms(lambda stages=stages: stages.flags(fraction, 2), 7)
            counting, _, _ = median_ms(
                lambda f=filtered: f.count_beyond(f.thresholds(0.001, 0.002)), 7
            )
            sizes = iter([13, 15] * 10)
            kernel, _, _ = median_ms(lambda stages=stages, sizes=sizes: stages.flags(
                parameters.replace(kernel_size=next(sizes)), 2), 8)
        print(f"  {path_name:<9} first {first:7.1f} ms   fraction change: mask {changed:6.2f} ms,"
              f" limits + counts {counting:6.3f} ms   kernel change 13<->15 {kernel:6.1f} ms")


# A small parent for the measured command: a child's peak RSS counts from the process it was
# forked from, and this benchmark's own process grows to gigabytes while jwst filters.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
error = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
print(wall, usage.ru_maxrss, code)
if code:
    sys.stderr.write(error.decode(errors="replace")[-1500:])
"""


def run_process(command, cwd):
    """Run a command; return (wall seconds, peak RSS in MiB)."""
    result = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(cwd), *map(str, command)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "STPIPE_DISABLE_CRDS_STEPPARS": "true"},
    )  # fmt: skip
    wall, peak_kib, code = result.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{command[0]} failed ({code}): {result.stderr}")
    return float(wall), int(peak_kib) / 1024


def process_benchmarks(folder: Path, repeats: int) -> None:
    print("Whole process on a 5-exposure MIRI association (science, 1 background, "
          "3 selfcals; save_flagged_bkg)")
    made = make_association(folder / "miri_cli", "MIRIFULONG", n_background=1, n_selfcal=3)
    # An editable install leaves our modules without bytecode (and PYTHONDONTWRITEBYTECODE
    # may forbid writing it), while pip compiled jwst's at install: compile ours likewise.
    import badpix_inspector

    compileall.compile_dir(Path(badpix_inspector.__file__).parent, quiet=1)
    bin_dir = Path(sys.executable).parent
    ours_cmd = shutil.which("badpix-selfcal", path=str(bin_dir)) or "badpix-selfcal"
    strun = shutil.which("strun", path=str(bin_dir)) or "strun"
    pars = write_parameter_file(
        folder / "pars.asdf", SelfcalParameters(save_flagged_bkg=True)
    )
    results = {"badpix-selfcal": [], "jwst strun": []}
    # Interleaved, so that a passing load on the machine hits both alike.
    for number in range(repeats):
        ours_dir = folder / f"ours_{number}"
        jwst_dir = folder / f"jwst_{number}"
        ours_dir.mkdir()
        jwst_dir.mkdir()
        results["badpix-selfcal"].append(run_process(
            [ours_cmd, str(made.association), "--save_flagged_bkg", "--output_dir", str(ours_dir)],
            ours_dir,
        ))  # fmt: skip
        results["jwst strun"].append(run_process(
            [strun, str(pars), str(made.association), "--output_dir", str(jwst_dir)], jwst_dir
        ))  # fmt: skip
    summary = {}
    for name, runs in results.items():
        wall = statistics.median(run[0] for run in runs)
        memory = max(run[1] for run in runs)
        summary[name] = (wall, memory)
        print(f"  {name:<16} wall {wall:6.2f} s (median of {len(runs)})   "
              f"peak RSS {memory:7.1f} MiB")
    (ours_wall, ours_memory), (jwst_wall, jwst_memory) = summary.values()
    print(f"  ratio            wall {ours_wall / jwst_wall:6.3f} (target <= 0.167)   "
          f"memory {ours_memory / jwst_memory:5.3f} (target <= 0.25)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--skip-2d", action="store_true", help="skip the square window")
    parser.add_argument("--core-only", action="store_true", help="skip the whole-process runs")
    arguments = parser.parse_args()
    print(f"badpix-inspector benchmark: {os.cpu_count()} cores, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench_core_") as folder:
        if not arguments.core_only:
            process_benchmarks(Path(folder), 3 if arguments.quick else 7)
        core_benchmarks(Path(folder), arguments.quick, arguments.skip_2d)


if __name__ == "__main__":
    main()
