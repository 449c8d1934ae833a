"""Shared fixtures: synthetic exposures written once per session, and file helpers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

# jwst reads this when it is imported (parity tests): no CRDS server is reachable here.
os.environ.setdefault("STPIPE_DISABLE_CRDS_STEPPARS", "true")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from badpix_inspector.simulate import make_association


def file_digests(folder: Path) -> dict[str, str]:
    """Return every file below ``folder`` with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def digests():
    """The `file_digests` helper: take a snapshot of a folder's files."""
    return file_digests


@pytest.fixture(scope="session")
def small_nirspec(tmp_path_factory):
    """A 96x128 NIRSpec IFU association (science, 1 background, 2 selfcals)."""
    return make_association(
        tmp_path_factory.mktemp("small_nirspec"), "NRS1", n_background=1, n_selfcal=2,
        shape=(96, 128), seed=3,
    )  # fmt: skip


@pytest.fixture(scope="session")
def miri_long(tmp_path_factory):
    """A full-frame MIRIFULONG association (science, 1 background, 3 selfcals)."""
    return make_association(tmp_path_factory.mktemp("miri_long"), "MIRIFULONG", seed=0)


@pytest.fixture
def small_copy(small_nirspec, tmp_path):
    """A private copy of the small association, free to damage."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    for path in [small_nirspec.association, *small_nirspec.exposures]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder, folder / small_nirspec.association.name


@pytest.fixture
def samp_hub(tmp_path, monkeypatch):
    """A private SAMP hub on localhost (its lock file in tmp_path, found through $SAMP_HUB)."""
    from pyvo.samp import SAMPHubServer

    lockfile = tmp_path / "samp-lock"
    server = SAMPHubServer(web_profile=False, lockfile=str(lockfile), pool_size=2)
    server.start()
    monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{lockfile.as_uri()}")
    try:
        yield server
    finally:
        server.stop()
