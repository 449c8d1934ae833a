"""``badpix-selfcal``: the headless command, a drop-in for ``strun badpix_selfcal``.

Exit status: 0 on success or a skip, 2 on a usage error (bad option or parameter value),
1 on a data or file error. Every error is one line on standard error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core import PARAMETER_SPECS, ParameterError, SelfcalParameters

__all__ = ["build_parser", "main"]

PROG = "badpix-selfcal"
EXIT_OK, EXIT_DATA_ERROR, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("badpix_selfcal")


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit 2)."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _spellings(name: str) -> list[str]:
    """Jwst's underscore spelling (documented) and the dashed one (also accepted)."""
    dashed = name.replace("_", "-")
    return [f"--{name}"] if dashed == name else [f"--{name}", f"--{dashed}"]


def build_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parser = _OneLineParser(
        prog=PROG,
        description=(
            "Flag bad pixels in a MIRI MRS or NIRSpec IFU exposure exactly as jwst's "
            "badpix_selfcal step does (calwebb_spec2), and write products the pipeline "
            "takes back."
        ),
        epilog=(
            "Example: badpix-selfcal jw_spec2_asn.json --kernel_size 15 --output_dir out "
            "--save_flagged_bkg. Many associations on Dask: badpix-selfcal batch --help. "
            "Exit status: 0 done or skipped, 1 data or file error, 2 usage error."
        ),
    )
    parser.add_argument(
        "input", metavar="INPUT",
        help="science exposure (FITS, e.g. *_rate.fits) or calwebb_spec2 association (JSON)",
    )  # fmt: skip
    # Values are kept as text: SelfcalParameters checks them, naming the range.
    _add_parameter_options(parser, defaults=True)
    parser.add_argument(
        "--selfcal", "--selfcal_list", "--selfcal-list", dest="selfcal", nargs="+",
        action="extend", default=[], metavar="FILE",
        help="more exposures for the minimum image only (jwst's selfcal_list)",
    )  # fmt: skip
    parser.add_argument(
        "--bkg", "--bkg_list", "--bkg-list", dest="bkg", nargs="+", action="extend",
        default=[], metavar="FILE",
        help="more background exposures, flagged too (jwst's bkg_list)",
    )  # fmt: skip
    parser.add_argument(
        *_spellings("output_dir"), dest="output_dir", type=Path, default=Path("."),
        metavar="DIR", help="folder for the products (default: the current folder)",
    )  # fmt: skip
    parser.add_argument(
        *_spellings("output_file"), dest="output_file", metavar="STEM",
        help="stem of the product names (default: the science file's, without its suffix)",
    )  # fmt: skip
    parser.add_argument(
        "--edits", type=Path, metavar="FILE.json",
        help="hand edits saved by badpix-inspector: pixels forced bad or good on top of the "
        "algorithm's flags",
    )  # fmt: skip
    parser.add_argument(
        "--save-parameters", "--save_parameters", dest="save_parameters", type=Path,
        metavar="FILE.asdf",
        help="also write the parameters as a jwst parameter file (for strun or stpipe)",
    )  # fmt: skip
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    root = logging.getLogger("badpix_selfcal")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _add_parameter_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Add the step's parameters as options (no defaults: a parameter file may set them)."""
    for name, spec in PARAMETER_SPECS.items():  # the one list of parameters
        if spec.kind is bool:
            parser.add_argument(*_spellings(name), dest=name, action="store_true",
                                default=False if defaults else None, help=spec.help)
            continue
        parser.add_argument(
            *_spellings(name), dest=name, metavar="N" if spec.kind is int else "F",
            default=spec.default if defaults else None,
            help=f"{spec.help} (default {spec.default})",
        )  # fmt: skip


def build_batch_parser() -> argparse.ArgumentParser:
    """Return the parser of ``badpix-selfcal batch``."""
    parser = _OneLineParser(
        prog=f"{PROG} batch",
        description=(
            "Run badpix_selfcal on many associations (or exposures) on a Dask cluster: a local "
            "one sized to this machine, or an existing scheduler. Products newer than their "
            "inputs are skipped unless --overwrite. Writes a CSV summary and an HTML overview."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="ASN_OR_GLOB",
                        help="associations or exposures; quote globs: 'data/*_asn.json'")
    parser.add_argument("--pars", type=Path, metavar="FILE.asdf",
                        help="parameter file (from the window or --save-parameters); options "
                        "given as well override it")
    _add_parameter_options(parser, defaults=False)
    parser.add_argument(*_spellings("output_dir"), dest="output_dir", type=Path, default=Path("."),
                        metavar="DIR", help="folder for the products (default: current)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="workers of the local cluster (default: one per core)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo products that are newer than their inputs")
    parser.add_argument("--summary", type=Path, metavar="FILE.csv",
                        help="summary table (default: OUTPUT_DIR/badpix_selfcal_summary.csv; "
                        "the overview goes beside it as .html)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    return parser


def batch_main(argv: Sequence[str]) -> int:
    """Run ``badpix-selfcal batch``; return its exit status (1 when any product failed)."""
    parser = build_batch_parser()
    arguments = parser.parse_args(argv)
    _configure_logging(False, True)  # the workers' step logs would drown the progress
    from .io import InputError, read_parameter_file

    try:
        base = read_parameter_file(arguments.pars) if arguments.pars else SelfcalParameters()
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    # Options left out are None (or False for the switches): the parameter file's value holds.
    changes = {name: getattr(arguments, name) for name in PARAMETER_SPECS
               if getattr(arguments, name) is not None and getattr(arguments, name) is not False}
    try:
        parameters = base.replace(**changes)
    except ParameterError as error:
        parser.error(str(error))
    if arguments.workers is not None and arguments.workers < 1:
        parser.error("--workers must be 1 or more")
    if arguments.scheduler and arguments.workers:
        parser.error("--workers sizes the local cluster; leave it out with --scheduler")

    from .batch import (
        expand_inputs,
        plan_items,
        refuse_collisions,
        run_batch,
        write_overview,
        write_summary,
    )
    from .io import check_output_folder, make_output_folder

    summary = arguments.summary or arguments.output_dir / "badpix_selfcal_summary.csv"
    try:
        items = plan_items(expand_inputs(arguments.inputs))
        check_output_folder(arguments.output_dir)
        check_output_folder(summary.parent)
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    refuse_collisions(items, parameters, arguments.output_dir)
    make_output_folder(arguments.output_dir)
    try:
        client, cluster = _dask_client(arguments.scheduler, arguments.workers)
    except OSError as error:
        print(f"{PROG}: error: cannot reach the Dask scheduler {arguments.scheduler} "
              f"({error}); check the address", file=sys.stderr)
        return EXIT_DATA_ERROR
    try:
        rows = run_batch(items, parameters, arguments.output_dir.resolve(), client,
                         overwrite=arguments.overwrite, quiet=arguments.quiet)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished products are kept, none is half-written, and a "
              "rerun picks up where this one stopped", file=sys.stderr)
        return 130
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    make_output_folder(summary.parent)
    write_summary(rows, summary)
    write_overview(rows, summary.with_suffix(".html"), parameters)
    failed = [row for row in rows if row["status"] == "failed"]
    done = sum(row["status"] == "complete" for row in rows)
    skipped = sum(row["status"] in ("up to date", "skipped") for row in rows)
    print(f"{PROG} batch: {done} made, {skipped} up to date or skipped, {len(failed)} failed; "
          f"summary {summary}", file=sys.stderr)
    for row in failed:
        print(f"  failed: {row['association']} [{row['product']}]: {row['reason']}",
              file=sys.stderr)
    return EXIT_DATA_ERROR if failed else EXIT_OK


def _dask_client(scheduler: str | None, workers: int | None):
    """Connect to ``scheduler``, or start a local cluster of processes; return both."""
    import os

    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="10s"), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(cluster), cluster


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success or a skip, 1 on a data or file error, 2 on a usage error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "batch":
        return batch_main(argv[1:])
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        parameters = SelfcalParameters(**{name: getattr(arguments, name)
                                          for name in PARAMETER_SPECS})
    except ParameterError as error:
        parser.error(str(error))
    _configure_logging(arguments.verbose, arguments.quiet)

    # Imported here so that --help and usage errors answer at once.
    from .io import InputError, collect_inputs, read_edits, write_parameter_file
    from .process import run_product

    try:
        products = collect_inputs(arguments.input, arguments.bkg, arguments.selfcal)
        if arguments.output_file and len(products) > 1:
            parser.error(
                f"--output_file names one product, but {arguments.input} has {len(products)}; "
                "leave it out"
            )
        edits = None if arguments.edits is None else read_edits(arguments.edits)
        if edits is not None and len(products) > 1:
            parser.error(f"--edits is for one exposure, but {arguments.input} has "
                         f"{len(products)} products")
        if arguments.save_parameters is not None:
            written = write_parameter_file(arguments.save_parameters, parameters)
            log.info("Saved parameters in %s", written)
        for members in products:
            run_product(members, parameters, arguments.output_dir, arguments.output_file,
                        edits=edits)
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_DATA_ERROR
    except MemoryError:
        print(f"{PROG}: error: out of memory; close other programs", file=sys.stderr)
        return EXIT_DATA_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial file was left behind", file=sys.stderr)
        return 130
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
