"""tinyrig's exit statuses: one per kind of trouble, so scripts and CI can tell them apart.

Every failure also prints one `error:` line naming the thing (file, field, tensor, database,
session) and what is allowed or what to do; the status says which kind it was.
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1  # a benchmark failed (its line says why; the others still ran), or a regression
    USAGE = 2  # an option, a board or a benchmark name that cannot work
    MODEL = 3  # a model file tinyrig cannot read or compile
    MISMATCH = 4  # measured, but the device's outputs differ from the tflite-micro interpreter's
    DATABASE = 5  # the results database cannot be opened, read or written
    SESSION = 6  # a session folder that cannot be created, written or resumed
    BUILD = 8  # the firmware does not build (for instance it does not fit the board)
    INTERRUPTED = 130  # Ctrl-C; everything measured is kept (--resume continues)
    TERMINATED = 143  # SIGTERM; the same
