"""Running tinyrig the way a user does, and judging how it ended.

`tinyrig_cli` runs the real console script in a subprocess (its own pid, so the emulators it
starts can be found by their TINYRIG_PARENT afterwards); `invoke` runs a command in this process
through click's runner, for the many cases that end before anything is built (fast). Either way
the result says whether a traceback or a hang was seen, and `assert_clear` checks the one line.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.hil.targets.processes import tinyrig_emulators

TRACEBACK = "Traceback (most recent call last)"
# Raw control characters a hostile device or path could smuggle onto the terminal.
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The lines that state a failure: `error: ...`, click's usage `Error: ...`, `<benchmark> failed: ...`.
FAILURE_LINE = re.compile(r"^(error: |Error: |\w+ failed: )")


@dataclass
class Observed:
    """Per case: commands run and what went wrong beyond the expected error."""

    commands: int = 0
    tracebacks: int = 0
    hangs: int = 0
    leaked: int = 0


@dataclass
class Result:
    code: int | None
    out: str
    err: str
    pid: int | None = None
    hung: bool = False
    leaked: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.out + self.err

    def failure_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if FAILURE_LINE.match(line)]


def _note(observed: Observed | None, result: Result) -> Result:
    if observed is not None:
        observed.commands += 1
        observed.tracebacks += TRACEBACK in result.text
        observed.hangs += result.hung
        observed.leaked += len(result.leaked)
    return result


def leftover_emulators(pid: int, wait_s: float = 5.0) -> list:
    """Emulators started by tinyrig `pid` still alive after `wait_s` (the death signal is asynchronous)."""
    deadline = time.monotonic() + wait_s
    while True:
        alive = tinyrig_emulators(started_by=pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def reap(processes) -> None:
    """Kills leaked emulators so one failing case does not burden the machine."""
    for p in processes:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def tinyrig_cli(*args, observed: Observed | None = None, timeout: float = 300, env: dict | None = None,
                cwd: Path | None = None) -> Result:
    """The console script in a subprocess, as a user runs it."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "tinyrig.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full_env, cwd=cwd, start_new_session=True)
    hung = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    leaked = leftover_emulators(proc.pid)
    reap(leaked)
    return _note(observed, Result(proc.returncode, out, err, proc.pid, hung, leaked))


def invoke(*args, observed: Observed | None = None, env: dict | None = None) -> Result:
    """A command run in this process through click's runner (nothing is built or started)."""
    from click.testing import CliRunner

    from tinyrig.cli.main import main

    runner = CliRunner()
    result = runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=True)
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += "".join(traceback.format_exception(result.exception))
    return _note(observed, Result(result.exit_code, result.stdout, err))


def assert_clear(result: Result, code: int, *needles: str) -> str:
    """Exit status `code`, exactly one failure line naming every needle, no traceback, no hang,
    no leaked emulator, no raw control character on the terminal. Returns the line."""
    assert not result.hung, f"hung; output so far:\n{result.text[-2000:]}"
    assert TRACEBACK not in result.text, result.text[-3000:]
    assert not result.leaked, f"emulators left behind: {result.leaked}"
    assert not RAW_CONTROL.search(result.text), repr(result.text[-500:])
    lines = result.failure_lines()
    assert result.code == code, f"exit {result.code}, expected {code}:\n{result.text[-2000:]}"
    assert len(lines) == 1, f"expected one failure line, got {lines}:\n{result.text[-2000:]}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def assert_ok(result: Result, *needles: str) -> None:
    assert not result.hung and TRACEBACK not in result.text and not result.leaked, result.text[-3000:]
    assert not RAW_CONTROL.search(result.text), repr(result.text[-500:])
    assert result.code == 0, f"exit {result.code}:\n{result.text[-2000:]}"
    for needle in needles:
        assert needle in result.text, f"{needle!r} not in the output:\n{result.text[-2000:]}"
