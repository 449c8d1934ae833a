"""Batch throughput on Dask (issue 5). Prints figures only.

Run:  python tests/benchmarks/bench_batch.py [--associations 8]

Makes N synthetic MIRI MRS associations (science, 1 background, 3 selfcals each), then
times: every product made one after the other in this process (serial); the same through
``badpix-selfcal batch`` machinery on a local Dask cluster of 2 worker processes (cluster
start-up excluded, then included); and Dask's overhead per task, from no-op tasks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from badpix_inspector import SelfcalParameters
from badpix_inspector.batch import plan_items, run_batch
from badpix_inspector.process import run_product
from badpix_inspector.simulate import make_association


def _noop(value):
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--associations", type=int, default=8)
    arguments = parser.parse_args()
    from distributed import Client, LocalCluster

    parameters = SelfcalParameters(save_flagged_bkg=True)
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as folder:
        folder = Path(folder)
        print(f"Making {arguments.associations} MIRI associations (5 exposures each)...",
              flush=True)
        detectors = ("MIRIFULONG", "MIRIFUSHORT")
        paths = [
            make_association(folder / f"in{n}", detectors[n % 2], n_background=1, n_selfcal=3,
                             seed=n, program=f"{1000 + n:05d}").association
            for n in range(arguments.associations)
        ]
        items = plan_items(paths)

        started = time.perf_counter()
        for item in items:
            run_product(item.members, parameters, folder / "serial")
        serial = time.perf_counter() - started

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
        startup = time.perf_counter() - started
        run_batch(items, parameters, folder / "warmup", client, quiet=True)  # imports on workers
        started = time.perf_counter()
        rows = run_batch(items, parameters, folder / "dask", client, quiet=True)
        on_dask = time.perf_counter() - started
        assert all(row["status"] == "complete" for row in rows), rows

        latencies = []
        for _ in range(5):
            started = time.perf_counter()
            client.gather(client.map(_noop, range(200), pure=False))
            latencies.append((time.perf_counter() - started) / 200)
        client.close()
        cluster.close()

    n = arguments.associations
    print(f"  serial, one process                {serial:6.2f} s  ({serial / n:.2f} s a product)")
    print(f"  Dask, 2 worker processes           {on_dask:6.2f} s  ({on_dask / n:.2f} s a product;"
          f" {serial / on_dask:.2f}x the serial speed)")
    print(f"  Dask, with cluster start-up        {on_dask + startup:6.2f} s  (start-up "
          f"{startup:.2f} s)")
    print(f"  Dask overhead per task (no-op)     {statistics.median(latencies) * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
