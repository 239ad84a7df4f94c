"""Text from outside tinyrig (paths, exception messages, what a device or instrument sends) made
safe to show on a terminal.

Two dangers: control characters (a serial port can send ESC sequences that move the cursor,
retitle the window or hide text) and rich markup (a folder named `[/x]` makes rich raise
MarkupError, and a firmware answer `e-[infer: ...]` would vanish as an unknown tag). Everything
printed through rich goes through `for_rich`; device lines go through `printable` as they arrive.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode format characters that
# reorder or hide text (bidi overrides and isolates, zero-width marks).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every unsafe character written as a visible escape (ESC -> `\\x1b`)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       text)


def for_rich(value: object) -> str:
    """`value` as text for rich's console.print: printable, and with markup escaped."""
    from rich.markup import escape

    return escape(printable(str(value)))


def output_problem(path) -> str | None:
    """Why `path` cannot take a report or summary, or None: an output replaces a regular file or
    makes a new one; a device, a pipe or a folder of that name is never written over (a pipe would
    block, and replacing /dev/zero with a report, as root, breaks the machine)."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    return None if stat.S_ISREG(mode) else "exists and is not a regular file"


def first_line(text: str) -> str:
    """The headline of a multi-line message (the rest goes to the session log, not the terminal)."""
    return next((line for line in str(text).splitlines() if line.strip()), "")
