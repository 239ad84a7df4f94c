"""Small helpers shared by the emulator launchers: process-group teardown and log tailing."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path


def kill_process_group(process: subprocess.Popen, term_timeout_s: float = 3.0) -> None:
    """SIGTERM the process's group, then SIGKILL if it has not gone within `term_timeout_s`.

    The launchers start emulators with start_new_session=True, so the group holds the emulator
    and anything it spawned; nothing is left behind on any way out.
    """
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=term_timeout_s)
    except (ProcessLookupError, PermissionError):
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


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
