"""Small helpers shared by the emulator launchers: watchdog, waiting and log tailing (process-group
teardown lives in tinyrig.process_group, which builds use too)."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from tinyrig.process_group import kill_process_group  # noqa: F401 (the launchers import it from here)


def start_watchdog(process: subprocess.Popen, max_runtime_s: float) -> threading.Timer:
    """Kills the process group after `max_runtime_s` unless the returned timer is cancelled
    first: an emulator left running by a stuck bench cannot run forever."""
    watchdog = threading.Timer(max_runtime_s, kill_process_group, args=(process,))
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def wait_for_exit(process: subprocess.Popen, timeout_s: float) -> int | None:
    """The process's exit code once it has exited by itself within `timeout_s`; None if it still runs."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


class LineTail:
    """Reads the complete lines appended to a file since the last call.

    The writer (an emulator plugin or hook) may be mid-way through a line when we read, so an
    unterminated last line is kept back until its newline arrives. A file that does not exist
    yet reads as empty.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def read_new_lines(self) -> list[bytes]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        return lines


# -- emulators left behind -----------------------------------------------------------------------

PARENT_ENV = b"TINYRIG_PARENT="


@dataclass(frozen=True)
class TinyrigChild:
    """A process that a tinyrig started (it carries TINYRIG_PARENT=<that tinyrig's pid>)."""

    pid: int
    started_by: int  # the tinyrig's pid
    parent: int  # its parent now
    command: str

    @property
    def orphaned(self) -> bool:
        """Its tinyrig is gone: the kernel has handed it to another parent (init or a subreaper)."""
        return self.parent != self.started_by

    def describe(self) -> str:
        return (f"pid {self.pid} ({self.command[:100]}) was started by tinyrig pid {self.started_by}, which is "
                f"gone; it runs on by itself: kill {self.pid}")


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # gone meanwhile, or another user's
        return None


def tinyrig_emulators(started_by: int | None = None) -> list[TinyrigChild]:
    """Every live process a tinyrig started (optionally: the one with pid `started_by`), from /proc."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        environ = _read(f"/proc/{entry}/environ")
        if not environ or PARENT_ENV not in environ:
            continue
        value = next((v[len(PARENT_ENV):] for v in environ.split(b"\0") if v.startswith(PARENT_ENV)), b"")
        stat = _read(f"/proc/{entry}/stat")
        if not value.isdigit() or stat is None:
            continue
        if started_by is not None and int(value) != started_by:
            continue
        # stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) < 2 or fields[0] == b"Z":
            continue  # a zombie is already dead
        cmdline = (_read(f"/proc/{entry}/cmdline") or b"").replace(b"\0", b" ").decode(errors="replace").strip()
        found.append(TinyrigChild(int(entry), int(value), int(fields[1]), cmdline))
    return found


def stale_emulators() -> list[TinyrigChild]:
    """Emulators whose tinyrig died without taking them along."""
    return [p for p in tinyrig_emulators() if p.orphaned]
