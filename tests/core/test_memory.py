"""Process memory housekeeping: pages given back, and nothing broken by it."""

import mmap
import os
import sys

import numpy as np
import pytest

from badpix_inspector.core import kernels, median_filter, memory

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def resident_kib(name, field="Rss:"):
    """KiB of the mappings of the files whose name ends with ``name`` (a smaps field)."""
    total = 0
    current = None
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                current = fields[5] if len(fields) > 5 else ""
            elif fields[0] == field and current.endswith(name):
                total += int(fields[1])
    return total


@linux
def test_release_gives_back_the_read_only_pages_of_a_mapped_file(tmp_path):
    # A file only this process maps, like a library once loaded: pages read stay resident.
    path = tmp_path / "libprobe-badpix.so"
    path.write_bytes(np.random.default_rng(0).bytes(32 << 20))
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        assert sum(mapped[offset] for offset in range(0, len(mapped), 4096)) > 0
        before = resident_kib(path.name)
        advised = memory.release_library_pages(path.name)
        if advised == 0:
            pytest.skip("this kernel refuses MADV_PAGEOUT (Linux < 5.4)")
        after = resident_kib(path.name)
        assert advised == 32 << 20
        assert before > 24 * 1024 and after < before / 4, (before, after)
        # Nothing changed: the pages read back are the file's.
        assert mapped[: 1 << 20] == path.read_bytes()[: 1 << 20]


@linux
def test_loaded_kernels_leave_llvm_mostly_paged_out_and_still_run_exactly():
    release = tuple(int(part) for part in os.uname().release.split(".")[:2])
    if release < (5, 4):
        pytest.skip("MADV_PAGEOUT needs Linux 5.4")
    kernels.warm_up(background=False)
    try:
        # Loading touched ~66 MiB of LLVM's code; what stays are its few written pages
        # (pages another process maps too, shared, cannot be reclaimed and are not ours).
        assert resident_kib("libllvmlite.so", "Private_Clean:") < 8 * 1024
        image = np.random.default_rng(1).normal(size=(200, 300)).astype(np.float32)
        image[::7, ::5] = np.nan
        for kernel_size, dispaxis in ((15, 1), (9, 2), (5, None)):
            axis = None if dispaxis is None else 2 - dispaxis
            got = kernels.compiled_median_filter(image, kernel_size, axis, 2)
            assert got is not None
            np.testing.assert_array_equal(
                got, median_filter(image, kernel_size, dispaxis, compiled=False))
    finally:
        kernels._compiled = None  # the next tests take the plain path again


@linux
def test_writable_mappings_are_never_advised(monkeypatch):
    # Only read-only mappings may be reclaimed: a written page must never be concerned.
    calls = []

    class FakeLibc:
        class madvise:  # stands in for the C function
            argtypes = restype = None

            def __new__(cls, start, length, advice):
                calls.append((start, length, advice))
                return 0

    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc)
    advised = memory.release_library_pages("libpython3")  # ends no file name: nothing
    assert advised == 0 and calls == []
    advised = memory.release_library_pages(".so")
    maps = open("/proc/self/maps").read().splitlines()
    writable = {int(line.split()[0].split("-")[0], 16) for line in maps
                if len(line.split()) > 5 and "w" in line.split()[1]}
    assert calls, "no read-only library mapping was found"
    assert not {start for start, _, _ in calls} & writable
    assert advised == sum(length for _, length, _ in calls)


@linux
def test_return_freed_blocks_is_taken_by_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert memory.return_freed_blocks() is True
