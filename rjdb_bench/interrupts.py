"""A Ctrl-C during a run always stops it, even when Python loses the KeyboardInterrupt.

CPython raises the ``KeyboardInterrupt`` of a SIGINT in whatever Python code runs next. When
that code is a finalizer (a generator closed by the garbage collector, a ``__del__``), the
exception is printed as "Exception ignored in ..." and dropped, and the run goes on to write
its results as if nobody had asked it to stop. :func:`stop_on_interrupt` remembers every
SIGINT it sees and raises ``KeyboardInterrupt`` again when its block ends, so the caller can
put the results' write after the block.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stop_on_interrupt() -> Iterator[None]:
    """Raise ``KeyboardInterrupt`` at the end of the block if a SIGINT arrived during it.

    Only Python's default SIGINT handler is replaced (and put back afterwards): an ignored
    SIGINT (a job started with ``nohup`` or in the background) stays ignored, a handler someone
    else installed stays theirs, and outside the main thread nothing changes.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received = False

    def remember_and_raise(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        received = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, remember_and_raise)
    try:
        yield
        if received:
            raise KeyboardInterrupt
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
