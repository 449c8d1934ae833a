"""``badpix-selfcal``: the headless command, a drop-in for ``strun badpix_selfcal``.

Exit status: 0 on success or a skip, 2 on a usage error (bad option or parameter value),
1 on a data or file error. Every error is one line on standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core import PARAMETER_SPECS, ParameterError, SelfcalParameters

__all__ = ["build_parser", "main"]

PROG = "badpix-selfcal"
EXIT_OK, EXIT_DATA_ERROR, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("badpix_selfcal")


def _printable(text: str) -> str:
    r"""Return ``text`` safe for any terminal: bytes of a non-UTF-8 file name as ``\xNN``."""
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # not a file name: text with unpaired surrogates
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _say(text: str) -> None:
    """Write one line to standard error, whatever bytes the file names in it hold."""
    print(_printable(text), file=sys.stderr)


class _PrintableFormatter(logging.Formatter):
    r"""Log lines with non-UTF-8 file names shown as ``\xNN``, never a logging error."""

    def format(self, record: logging.LogRecord) -> str:
        return _printable(super().format(record))


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
    handler.setFormatter(
        _PrintableFormatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    root = logging.getLogger("badpix_selfcal")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


#: A kernel_size above this is no window at all (detectors are 2048 pixels wide at most):
#: refused as typed, before it is rounded through a float or sized against an image.
_ABSURD_KERNEL = 2**31 - 1


def _refuse_absurd_kernel(parser: argparse.ArgumentParser, value: object) -> None:
    """Make a usage error of a kernel_size no image could hold (a 20-digit number)."""
    if value is None:
        return
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return  # not a number: SelfcalParameters says so
    if abs(number) > _ABSURD_KERNEL:
        parser.error(f"kernel_size {text} is absurd: the median window must fit in the image "
                     "(detectors are at most 2048 pixels wide); jwst's default is 15")


def _unexpected(error: BaseException) -> int:
    """Report an error nobody foresaw in one line (the traceback goes to the debug log)."""
    log.debug("unexpected error", exc_info=error)
    _say(f"{PROG}: error: unexpected {type(error).__name__}: {error}; please report it "
         "(run with -v to see where it happened)")
    return EXIT_DATA_ERROR


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
        _say(f"{PROG}: error: {error}")
        return EXIT_DATA_ERROR
    # Options left out are None (or False for the switches): the parameter file's value holds.
    _refuse_absurd_kernel(parser, arguments.kernel_size)
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
        batch_inputs,
        expand_inputs,
        plan_items,
        refuse_collisions,
        run_batch,
        write_overview,
        write_summary,
    )
    from .io import OutputGuard, check_output_folder, make_output_folder

    summary = arguments.summary or arguments.output_dir / "badpix_selfcal_summary.csv"
    overview = summary.with_suffix(".html")
    try:
        items = plan_items(expand_inputs(arguments.inputs))
        # Every file the batch reads is protected; the summary is checked before any work.
        pars = [arguments.pars] if arguments.pars else []
        guard = OutputGuard([*batch_inputs(items), *pars])
        guard.check(summary)
        guard.check(overview)
        check_output_folder(arguments.output_dir)
        check_output_folder(summary.parent)
        refuse_collisions(items, parameters, arguments.output_dir)
    except InputError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_DATA_ERROR
    try:
        client, cluster = _dask_client(arguments.scheduler, arguments.workers)
    except Exception as error:  # distributed raises OSError, ValueError, TimeoutError...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        _say(f"{PROG}: error: cannot reach the Dask scheduler {arguments.scheduler} "
             f"({reason}); check the address (e.g. tcp://host:8786)")
        return EXIT_DATA_ERROR
    try:
        make_output_folder(arguments.output_dir)  # once the cluster answers: none left empty
    except InputError as error:
        client.close()
        if cluster is not None:
            cluster.close()
        _say(f"{PROG}: error: {error}")
        return EXIT_DATA_ERROR
    if not arguments.quiet and getattr(client, "dashboard_link", None):
        print(f"{PROG} batch: Dask dashboard at {client.dashboard_link}", file=sys.stderr)
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
    try:
        make_output_folder(summary.parent)
        with guard.batch() as outputs:  # the summary and the overview: both or neither
            write_summary(rows, summary, outputs)
            write_overview(rows, overview, parameters, outputs)
    except InputError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_DATA_ERROR
    failed = [row for row in rows if row["status"] == "failed"]
    done = sum(row["status"] == "complete" for row in rows)
    skipped = sum(row["status"] in ("up to date", "skipped") for row in rows)
    _say(f"{PROG} batch: {done} made, {skipped} up to date or skipped, {len(failed)} failed; "
         f"summary {summary}")
    for row in failed:
        _say(f"  failed: {row['association']} [{row['product']}]: {row['reason']}")
    return EXIT_DATA_ERROR if failed else EXIT_OK


def _dask_client(scheduler: str | None, workers: int | None):
    """Connect to ``scheduler``, or start a local cluster of processes; return both."""
    import os

    from distributed import Client, LocalCluster

    if scheduler:
        import dask

        # Fail in seconds, not the default half minute, on an address nobody answers.
        with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
            return Client(scheduler, timeout="10s"), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(cluster), cluster


class _WarningsToDebugLog(logging.Handler):
    """Pass library warnings on to the command's log as DEBUG lines (seen with -v only)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        log.debug("warning from a library: %s", message[:500])


@contextlib.contextmanager
def _warnings_as_debug_log():
    """Route warnings (astropy's header checks, numpy's) to the debug log while running.

    A damaged header card makes astropy warn card by card; the command's promise is one
    line per error and nothing else, so the text goes to the log, shown with ``-v``.
    """
    captured = logging.getLogger("py.warnings")
    handler = _WarningsToDebugLog()
    saved = captured.handlers[:], captured.propagate
    captured.handlers[:] = [handler]
    captured.propagate = False
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        captured.handlers[:], captured.propagate = saved


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
    with _warnings_as_debug_log():
        if argv and argv[0] == "batch":
            return batch_main(argv[1:])
        return _single_main(argv)


def _single_main(argv: list[str]) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    _refuse_absurd_kernel(parser, arguments.kernel_size)
    try:
        parameters = SelfcalParameters(**{name: getattr(arguments, name)
                                          for name in PARAMETER_SPECS})
    except ParameterError as error:
        parser.error(str(error))
    _configure_logging(arguments.verbose, arguments.quiet)

    # Imported here so that --help and usage errors answer at once.
    from .io import InputError, OutputGuard, collect_inputs, read_edits, write_parameter_file
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
        # Every file read is protected; every file written (the parameter file and all the
        # products) is staged, then renamed in place together: all of them, or none.
        guard = OutputGuard([arguments.input, *arguments.bkg, *arguments.selfcal,
                             *([arguments.edits] if arguments.edits else [])])
        for members in products:
            guard.protect(*members.all_paths)
        with guard.batch() as outputs:
            if arguments.save_parameters is not None:
                write_parameter_file(arguments.save_parameters, parameters, outputs)
            for members in products:
                run_product(members, parameters, arguments.output_dir, arguments.output_file,
                            edits=edits, outputs=outputs)
        for path in outputs.written:
            log.info("Saved %s in %s", "model" if path.suffix == ".fits" else "parameters", path)
    except InputError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_DATA_ERROR
    except MemoryError:
        print(f"{PROG}: error: out of memory; close other programs", file=sys.stderr)
        return EXIT_DATA_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial file was left behind", file=sys.stderr)
        return 130
    except RecursionError:
        _say(f"{PROG}: error: {arguments.input}: nested too deeply to be read; give a file "
             "as the pipeline writes it")
        return EXIT_DATA_ERROR
    except Exception as error:
        return _unexpected(error)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
