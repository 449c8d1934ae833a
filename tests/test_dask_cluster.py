"""badpix-selfcal batch on a real Dask cluster: a scheduler and two workers as processes.

One worker is killed while the batch runs; Dask runs its tasks again on the other. Every
product must then exist once, be complete (no temporary file left) and be identical to
what the single command makes.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from badpix_inspector.cli import main
from badpix_inspector.simulate import make_association

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

DASK = Path(sys.executable).parent / "dask"
N_ASSOCIATIONS = 8


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers on 127.0.0.1, on free ports."""
    if not DASK.exists():
        pytest.skip("the dask command is not installed beside this Python")
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []

    def start(name, *arguments):
        log = open(logs / f"{name}.log", "w")  # closed with the process, below
        process = subprocess.Popen([str(DASK), *arguments], stdout=log, stderr=log,
                                   cwd=tmp_path, start_new_session=True)
        processes.append((process, log))
        return process

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
              "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file))
        wait_for(scheduler_file.exists, 60, "the scheduler")
        time.sleep(0.2)  # the file is written whole after its creation
        workers = [start(f"worker{number}", "worker", "--scheduler-file", str(scheduler_file),
                         "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                         "--no-dashboard", "--name", f"w{number}")
                   for number in range(2)]
        from distributed import Client

        address = __import__("json").loads(scheduler_file.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers, logs
    finally:
        for process, _ in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process, log in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster_inputs")
    return [
        make_association(folder / f"a{number}", "NRS1", n_background=1, n_selfcal=1,
                         shape=(400, 512), seed=40 + number, program=f"0200{number}").association
        for number in range(N_ASSOCIATIONS)
    ]


def test_batch_survives_a_killed_worker(cluster, inputs, tmp_path):
    address, workers, logs = cluster
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-m", "badpix_inspector.cli", "batch", *map(str, inputs),
         "--scheduler", address, "--output_dir", str(out), "--save_flagged_bkg",
         "--kernel_size", "31"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Mid-run: the first products are there, most are not.
        wait_for(lambda: out.is_dir() and any(out.glob("*_badpix_selfcal.fits")), 120,
                 "the first product")
        made_before = len(list(out.glob("*_badpix_selfcal.fits")))
        assert made_before < N_ASSOCIATIONS, "too fast to kill a worker mid-run"
        workers[0].send_signal(signal.SIGKILL)
        print(f"\nkilled a worker after {made_before} of {N_ASSOCIATIONS} products",
              file=sys.__stderr__)
        _, err = batch.communicate(timeout=300)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
    assert batch.returncode == 0, err + "".join(
        (logs / name).read_text() for name in os.listdir(logs))
    assert workers[0].wait(timeout=10) == -signal.SIGKILL

    with open(out / "badpix_selfcal_summary.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == N_ASSOCIATIONS
    # A task whose worker died after writing its products but before reporting is run
    # again: it then finds them made ("up to date") and does not write them twice.
    statuses = [row["status"] for row in rows]
    assert set(statuses) <= {"complete", "up to date"}, statuses
    assert statuses.count("complete") >= N_ASSOCIATIONS - 1
    products = sorted(path.name for path in out.glob("*.fits"))
    assert len(products) == 2 * N_ASSOCIATIONS == len(set(products))
    # Nothing else: no temporary file of the killed worker, no stray output.
    assert sorted(os.listdir(out)) == sorted(
        [*products, "badpix_selfcal_summary.csv", "badpix_selfcal_summary.html"])

    single = tmp_path / "single"
    for association in inputs:
        assert main([str(association), "--output_dir", str(single), "--save_flagged_bkg",
                     "--kernel_size", "31", "-q"]) == 0
    assert sorted(path.name for path in single.glob("*.fits")) == products
    for name in products:
        with fits.open(out / name) as ours, fits.open(single / name) as theirs:
            assert len(ours) == len(theirs)
            for mine, reference in zip(ours, theirs, strict=True):
                if mine.data is None or mine.name == "ASDF":
                    continue
                assert np.array_equal(mine.data, reference.data, equal_nan=True), name
            assert ours[0].header.get("S_BPXSLF") == theirs[0].header.get("S_BPXSLF")
