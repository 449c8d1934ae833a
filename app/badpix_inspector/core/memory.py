"""Keeping a long-lived process's resident memory to what it uses (Linux, glibc).

Two things make a window that works on 2048x2048 frames hold far more memory than its
arrays (measured: ~630 MiB peak against ~210 MiB of arrays on a NIRSpec association):

- glibc's allocator raises its mmap threshold to the size of the largest block freed
  (up to 32 MiB), after which full-frame arrays come from the heap, where freed blocks are
  kept for reuse instead of going back to the system. `return_freed_blocks` fixes the
  threshold, so every block of 256 KiB or more is mapped on its own and unmapped when freed.
- numba's LLVM library (libllvmlite) touches ~66 MiB of its code while it loads, all of
  which stays resident although, once the kernels are loaded from numba's cache, only a
  new compilation would run it again. `release_library_pages` asks the kernel to reclaim
  such read-only, file-backed pages (``MADV_PAGEOUT``); a page used later is read back
  from the file, so nothing can break, it would only be slower.

Both are best effort: on other systems, or where the call is refused, nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

__all__ = ["release_library_pages", "return_freed_blocks"]

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_MADV_PAGEOUT = 21  # Linux 5.4 and later
#: Blocks at least this large are mapped on their own and given back when freed.
MMAP_THRESHOLD = 256 * 1024


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def return_freed_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Make glibc give large freed blocks back to the system at once.

    Returns
    -------
    bool
        True when the setting was taken (glibc), False otherwise.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    try:
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (AttributeError, ctypes.ArgumentError):
        return False


def release_library_pages(name: str) -> int:
    """Ask the kernel to reclaim the read-only pages of the shared libraries named ``name``.

    Parameters
    ----------
    name : str
        The end of the libraries' file names, e.g. ``"libllvmlite.so"``.

    Returns
    -------
    int
        The bytes of the mappings advised (0 where nothing was done). Only mappings
        without write permission are touched, so no modified page is concerned, and
        ``MADV_PAGEOUT`` only reclaims pages; their contents never change.
    """
    libc = _libc()
    if libc is None:
        return 0
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    advised = 0
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            lines = maps.readlines()
    except OSError:
        return 0
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or not fields[5].endswith(name) or "w" in fields[1]:
            continue
        start, stop = (int(bound, 16) for bound in fields[0].split("-"))
        if madvise(start, stop - start, _MADV_PAGEOUT) == 0:
            advised += stop - start
    log.debug("asked to reclaim %.0f MiB of %s", advised / 2**20, name)
    return advised
