"""glibc's malloc serves blocks above its mmap threshold (128 KiB at first, growing to at most
32 MiB as blocks are freed) with fresh mmap calls and returns them on free. A CPU training step
allocates and frees activations of several MB each, which then have to be page-faulted in
again. Raising the threshold to its ceiling and not trimming the heap lets freed activations be
reused from the next step on: `logmel-cnn` (the `default` recipe's model) steps about x1.15
faster, most other models within noise (`benchmarks/bench_train_throughput.py --part allocator`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_MMAP_THRESHOLD_MAX = 32 << 20  # 4 MiB x sizeof(long): mallopt refuses more
_KEEP_UP_TO = 1 << 30  # free heap top kept for reuse before it is given back


def keep_freed_blocks() -> bool:
    """Reuse freed activation buffers instead of mapping them anew; False where the C library
    has no glibc mallopt (nothing changes there). It lasts for the process."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    return mallopt(_M_MMAP_THRESHOLD, _GLIBC_MMAP_THRESHOLD_MAX) == 1 and mallopt(_M_TRIM_THRESHOLD, _KEEP_UP_TO) == 1
