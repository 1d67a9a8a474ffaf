"""A worker gives the memory freed inside glibc's heap back to the system, now and then.

Python's objects larger than 512 bytes live in glibc's heap. When a request frees some of them, glibc keeps the
freed pages for the next allocation, and returns only what lies at the very top of the heap. `malloc_trim(0)`
returns every whole free page, wherever it lies (the pages stay mapped, and cost nothing until used again). Run
every `MALLOC_TRIM_EVERY` requests, after the response is sent: about 0.5 MB less resident in a worker after
10,000 mixed requests (docs/PERFORMANCE.md, "Memory"). Where the C library has no `malloc_trim` (musl, macOS)
nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
from collections.abc import Callable

from flask import Flask, Response, current_app


@functools.cache
def malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, from the C library the process runs on (looked up at the first trim, not when the
    app is built), or None where there is none."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back() -> None:
    """Every whole free page of glibc's heap back to the system."""
    if (trim := malloc_trim()) is not None:
        trim(0)


def init_app(app: Flask) -> None:
    served = itertools.count(1)

    @app.after_request
    def give_memory_back_now_and_then(response: Response) -> Response:
        every = current_app.config["MALLOC_TRIM_EVERY"]
        if every and next(served) % every == 0:
            response.call_on_close(give_back)
        return response
