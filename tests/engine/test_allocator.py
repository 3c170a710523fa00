"""The allocator set-up: large blocks are reused instead of being page-faulted in again."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest

from imgrestore.engine import allocator

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
    reason="the set-up is for glibc",
)

#: In a fresh process: configure, then allocate, touch and free 64 MiB six times with the C
#: allocator; report what configure said and the minor page faults of the last five rounds.
_CHILD = """
import ctypes, json, resource
from imgrestore.engine import allocator
done = allocator.configure()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
def once():
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
once()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    once()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
allocator.release()
print(json.dumps({"done": done, "faults": after - before}))
"""


def _child(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("IMGRESTORE_MALLOC", "GLIBC_TUNABLES", "LD_PRELOAD")}
    out = subprocess.run([sys.executable, "-c", _CHILD], env={**environment, **env},
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@glibc_only
def test_large_blocks_are_reused_after_configure() -> None:
    tuned = _child()
    system = _child(IMGRESTORE_MALLOC="system")
    assert tuned["done"].startswith("glibc: mmap off")
    assert system["done"] == "unchanged (IMGRESTORE_MALLOC=system)"
    # Unchanged, each 64 MiB block is a fresh mapping: at least one fault per 2 MiB page
    # (transparent huge pages) and usually one per 4 KiB page; reused, hardly any.
    assert system["faults"] >= 5 * 32
    assert tuned["faults"] <= 16


@glibc_only
def test_a_users_malloc_tunables_are_left_alone() -> None:
    done = _child(GLIBC_TUNABLES="glibc.malloc.mmap_max=0")["done"]
    assert done == "unchanged (GLIBC_TUNABLES sets malloc)"


def test_configure_runs_once_and_says_what_it_did() -> None:
    first = allocator.configure()
    assert allocator.configure() == first
    assert first.startswith(("glibc:", "unchanged ("))
    allocator.release()  # always safe
