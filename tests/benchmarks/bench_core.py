"""Side-by-side timings of badpix-inspector and jwst 3.0.0 (SPEC §7). Prints figures only.

Run:  python tests/benchmarks/bench_core.py [--quick] [--skip-2d]

- the core ``badpix_selfcal`` on a 1024x1032 MIRI frame (1-D window), a 2048x2048 NIRSpec
  frame (1-D window) and the MIRI frame with the square window, against jwst's function on
  the same combined image;
- the staged core: a flag-fraction change and a kernel change after the first result;
- the command as a whole process on a 5-exposure MIRI association against jwst's step
  (``strun`` with the same parameters): wall time and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import compileall
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
from badpix_inspector.core import SelfcalStages, combine
from badpix_inspector.io import read_exposure, write_parameter_file
from badpix_inspector.simulate import make_association


def best_of(function, repeats):
    """Return the fastest of ``repeats`` wall times (s) and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def combined_image(made, detector):
    return combine([read_exposure(path).sci for path in made.exposures], detector).image


def row(label, ours, theirs=None, same=None):
    line = f"  {label:<44} ours {ours * 1000:9.1f} ms"
    if theirs is not None:
        line += f"   jwst {theirs * 1000:9.1f} ms   {theirs / ours:6.1f}x faster"
    if same is not None:
        line += "   flags identical" if same else "   FLAGS DIFFER"
    print(line, flush=True)


def core_benchmarks(folder: Path, quick: bool, skip_2d: bool) -> None:
    from jwst.badpix_selfcal.badpix_selfcal import badpix_selfcal as jwst_badpix_selfcal

    print("\nCore badpix_selfcal (same combined image for both; best of several runs)")
    miri = make_association(folder / "miri_core", "MIRIFULONG", n_background=1, n_selfcal=3)
    nirspec = make_association(folder / "nrs_core", "NRS1", n_background=0, n_selfcal=1)
    cases = [("MIRI 1024x1032, DISPAXIS=2, k=15", combined_image(miri, "MIRIFULONG"), 2),
             ("NIRSpec 2048x2048, DISPAXIS=1, k=15", combined_image(nirspec, "NRS1"), 1)]
    if not skip_2d:
        cases.append(("MIRI 1024x1032, square 15x15 window", cases[0][1], None))
    for label, image, dispaxis in cases:
        repeats_ours = 3 if dispaxis is None else 7
        repeats_jwst = 1 if dispaxis is None or quick else 3
        ours, our_flags = best_of(
            lambda image=image, axis=dispaxis: badpix_selfcal(image, dispaxis=axis), repeats_ours
        )
        theirs, their_flags = best_of(
            lambda image=image, axis=dispaxis: jwst_badpix_selfcal(image, dispaxis=axis),
            repeats_jwst,
        )
        same = all(np.array_equal(a, b) for a, b in zip(our_flags, their_flags, strict=True))
        row(label, ours, theirs, same)

    print("\nStaged core on the MIRI association (what the window recomputes)")
    stages = SelfcalStages([read_exposure(p).sci for p in miri.exposures], "MIRIFULONG")
    parameters = SelfcalParameters()
    first, _ = best_of(lambda: stages.flags(parameters, 2), 1)
    row("first result (combine + filter + flags)", first)
    fraction = parameters.replace(flagfrac_upper=0.002)
    changed, _ = best_of(lambda: stages.flags(fraction, 2), 5)
    row("flag-fraction change (mask)", changed)
    counting, _ = best_of(
        lambda: stages.filtered(15, 2).count_beyond(stages.thresholds(fraction, 2)), 5
    )
    row("flag-fraction change (thresholds + counts)", counting)
    kernels = iter(range(17, 1000, 2))
    kernel, _ = best_of(lambda: stages.flags(parameters.replace(kernel_size=next(kernels)), 2), 5)
    row("kernel change (filter + flags)", kernel)


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
    parser.add_argument("--skip-2d", action="store_true", help="skip jwst's ~18 s square window")
    arguments = parser.parse_args()
    print(f"badpix-inspector benchmark: {os.cpu_count()} cores, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench_core_") as folder:
        process_benchmarks(Path(folder), 3 if arguments.quick else 7)
        core_benchmarks(Path(folder), arguments.quick, arguments.skip_2d)


if __name__ == "__main__":
    main()
