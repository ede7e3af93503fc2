"""Give the C allocator's free memory back to the system once a burst is over.

A retry storm holds thousands of deliveries in memory at once. When they are answered,
Python frees the objects, but glibc keeps the freed heap pages mapped (RSS stays at the
storm's peak) until something asks it to trim: `malloc_trim(0)` returns every whole free
page (measured in the storm test: the Python objects go back to their baseline count,
and this returns the part of the peak that glibc, not pymalloc, was holding). It walks the
heap under the allocator's lock, so it is called from the webhook writer's thread when
the queue has been quiet for a while, never per request.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim  # glibc only (not musl, not macOS)
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    """`malloc_trim(0)` where the C library has it; nothing elsewhere."""
    trim = _malloc_trim()
    if trim is None:
        return
    released = trim(0)
    log.debug("returned free heap memory to the system: %s", bool(released))
