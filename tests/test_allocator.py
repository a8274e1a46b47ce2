"""`hark train`'s malloc setting: after it, a block of several MB comes from the heap (reused
step after step) instead of a fresh mmap that is page-faulted in again each time."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import ctypes, ctypes.util
from hark.train.allocator import keep_freed_blocks
fields = ["arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"]
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in fields]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
def mapped_blocks_for(size):
    before = libc.mallinfo2().hblks
    block = libc.malloc(size)
    after = libc.mallinfo2().hblks
    libc.free(ctypes.c_void_p(block))
    return after - before
print(mapped_blocks_for(12 << 20), keep_freed_blocks(), mapped_blocks_for(12 << 20), mapped_blocks_for(64 << 20))
"""


def test_activation_sized_blocks_come_from_the_heap_after_the_setting():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's mallopt is Linux-only")
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    if "mallinfo2" in result.stderr:
        pytest.skip("this C library has no mallinfo2 (glibc older than 2.33, or not glibc)")
    assert result.returncode == 0, result.stderr
    before, applied, after, huge = result.stdout.split()
    # A fresh process maps a 12 MB block; with the setting the heap serves it. Blocks over
    # glibc's 32 MiB ceiling are still mapped.
    assert (before, applied, after, huge) == ("1", "True", "0", "1")
