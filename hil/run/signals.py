"""SIGTERM ends a run the way Ctrl-C does: the bench's `with` blocks stop the emulator, close
the DUT and instruments, and the session is marked interrupted (resumable), instead of Python's
default of dying on the spot. SIGKILL cannot be caught: the emulators' death signal
(hil/targets/base.py) covers that."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt("SIGTERM")


def by_sigterm(interrupt: KeyboardInterrupt) -> bool:
    """Whether the interrupt is SIGTERM's (raised by terminate_as_interrupt), not Ctrl-C's."""
    return interrupt.args == ("SIGTERM",)


@contextmanager
def terminate_as_interrupt():
    """Inside the block, SIGTERM raises KeyboardInterrupt("SIGTERM") in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
