"""The C memory allocator, set up once for networks that allocate large tensors (torch-free).

Why: glibc's ``malloc`` hands every block above its mmap threshold (at most 32 MiB on 64-bit
systems) out as a fresh ``mmap`` and unmaps it on ``free``; freed memory at the top of the
heap is returned to the system too. A forward of these networks allocates and frees
hundreds of feature maps of 20-300 MB, so every one of them is page-faulted in again: one
512² MIRNet-v2 forward took 7-8 million minor page faults and 13 s of system time, and the
1 MP ``imgrestore denoise`` ran 1.7x slower than with the memory kept (docs/performance.md).

What :func:`configure` does, once per process, before the first forward:

* on glibc: ``mallopt(M_MMAP_MAX, 0)`` (large blocks come from the heap and are reused)
  and ``mallopt(M_TRIM_THRESHOLD, 2 GiB)`` (free memory at the top of the heap is kept
  for the next tensors). Peak memory grows by about a sixth (fragmentation); the tile
  planner's bytes per pixel are measured with this setting. :func:`release` (called by
  the engine after each image) gives the free memory back: memory is reused within an
  image and returned between images.
* with jemalloc or tcmalloc preloaded (``LD_PRELOAD``), or with glibc malloc tunables in
  ``GLIBC_TUNABLES``: nothing; the user chose. jemalloc was measured too: by default it
  returns memory as eagerly as glibc; with ``MALLOC_CONF=dirty_decay_ms:-1,
  muzzy_decay_ms:-1`` it is as fast as the glibc setting, but it cannot be chosen from
  inside a running process, so glibc's ``mallopt`` is the default.
* ``IMGRESTORE_MALLOC=system`` leaves the allocator as it is.

>>> configure()
'glibc: mmap off, trim threshold 2048 MiB'
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading

ENV = "IMGRESTORE_MALLOC"
#: ``mallopt`` parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: Free memory at the top of the heap kept for the next allocations: at least the largest
#: tile forward the CPU budget allows (engine.devices.CPU_TILE_BUDGET, 2 GiB).
TRIM_THRESHOLD = (1 << 31) - 1

_lock = threading.Lock()
_done: str | None = None
_trim: ctypes._CFuncPtr | None = None


def configure() -> str:
    """Set the allocator up for large tensors (once per process); what was done, in words."""
    global _done
    with _lock:
        if _done is None:
            _done = _configure()
        return _done


def _configure() -> str:
    if os.environ.get(ENV, "").strip().lower() == "system":
        return f"unchanged ({ENV}=system)"
    if not sys.platform.startswith("linux"):
        return "unchanged (not Linux)"
    try:
        process = ctypes.CDLL(None)
    except OSError:
        return "unchanged (no C library found)"
    for symbol, name in (("mallctl", "jemalloc"), ("tc_malloc", "tcmalloc")):
        if hasattr(process, symbol):
            return f"unchanged ({name} is in use)"
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return "unchanged (GLIBC_TUNABLES sets malloc)"
    if not _is_glibc(process):
        return "unchanged (not glibc)"
    mallopt = process.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not (mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return "unchanged (mallopt refused)"
    global _trim
    _trim = process.malloc_trim
    _trim.argtypes, _trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return f"glibc: mmap off, trim threshold {(TRIM_THRESHOLD + 1) >> 20} MiB"


def release() -> None:
    """Give free heap memory back to the system (after an image; no-op unless configured)."""
    if _trim is not None:
        _trim(0)


def _is_glibc(process: ctypes.CDLL) -> bool:
    if not hasattr(process, "gnu_get_libc_version"):
        return False
    return hasattr(process, "mallopt")


__all__ = ["ENV", "configure", "release"]
