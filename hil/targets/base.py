"""The one interface every place firmware can run behind: QEMU, Renode, a flashed board, or a lab's own.

    target = make_target("qemu", board, TargetSettings(marker_log=...))   # from the registry
    with target:                                  # stop() on every way out
        run = target.start(elf)                  # -> Run: the console's pyserial URL and more
        with Dut(run.url) as dut: ...
        marks = run.new_window_marks()           # instruction-exact window markers, if it has them

A `Run` is what a started target hands the bench: the console URL, whether the process behind it
has exited (and why, in words), and an optional marker source (emulators that watch the
timestamp-pin register; a board has none: its timing comes from the firmware's own timer).

The process-backed emulators share `EmulatorProcess`: their own process group, a death signal so
they never outlive the bench (whatever signal ends it), a watchdog and a bounded teardown.
"""

from __future__ import annotations

import os
import subprocess
import threading
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from tinyrig.boards import Board
from tinyrig.hil.targets.processes import kill_process_group, start_watchdog, wait_for_exit
from tinyrig.process_group import die_with_parent

if TYPE_CHECKING:
    from tinyrig.hil.targets.cycle_model import CycleModel


class TargetError(RuntimeError):
    """A target could not run the firmware: not installed, refused the board, or stopped unexpectedly."""


class TargetUnavailable(TargetError):
    """The target cannot run this board (the message says why and what to use instead)."""


@dataclass(frozen=True)
class TargetSettings:
    """What a run asks of its target; each target reads the fields that concern it."""

    icount_shift: int = 0  # QEMU: 2**shift ns of virtual time per instruction
    marker_log: Path | None = None  # emulators: where the timestamp-pin stores are logged
    workdir: Path | None = None  # Renode: its working folder (log, private TMPDIR)
    probe: str | None = None  # hardware: the debug probe's unique ID
    port: str | None = None  # hardware: the console port (else found by USB VID:PID)
    flash: bool = True  # hardware: flash before running (False: the board already runs it)
    io_manager: str | None = None  # hardware: the interface board relaying the console (energy set-up)
    cycle_model: CycleModel | None = None  # QEMU: estimated cycles at every marker (targets/cycle_model.py)
    stream_pins: bool = False  # QEMU: also watch the streaming wakeword's detection and processing pins
    icount_sleep: bool = True  # QEMU: False lets virtual time skip while the guest sleeps (streaming)


def other_emulator_hint(board: Board) -> str:
    """The " (use --target X)" that names the board's own emulator, for a target that cannot run it."""
    return f" (use --target {board.emulator.kind})" if board.emulator.kind != "none" else ""


class Run(Protocol):
    """A started target, as the bench sees it."""

    url: str  # the console's pyserial URL

    def new_window_marks(self) -> list: ...  # MarkerStore list since the last call; [] without markers

    def exit_code(self) -> int | None: ...  # None while it runs

    def describe_exit(self) -> str: ...  # why it is gone, in words


class Target(ABC):
    """Where firmware runs. Subclasses set `kind` and implement `supports`, `start` and `stop`."""

    kind: ClassVar[str]
    emulated: ClassVar[bool] = True
    # True when the target's instruction counts are exact (an emulator with -icount or its own
    # instruction counter): figures are then compared exactly and never timed against a clock.
    exact_counts: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def supports(cls, board: Board) -> str | None:
        """None if this target can run `board`, else one line saying why not (and what to use)."""

    @classmethod
    def require_support(cls, board: Board, error: type[Exception]) -> None:
        """Raises `error` with `supports`' reason when this target cannot run `board` (constructors call it)."""
        reason = cls.supports(board)
        if reason:
            raise error(reason)

    @classmethod
    @abstractmethod
    def create(cls, board: Board, settings: TargetSettings) -> "Target":
        """The target for `board`, configured from `settings`."""

    @abstractmethod
    def start(self, elf: Path) -> Run:
        """Loads and starts `elf`; returns once the console can be opened."""

    @abstractmethod
    def stop(self) -> int | None:
        """Stops whatever `start` started (idempotent); the exit code where there is one."""

    def wait(self, timeout_s: float) -> int | None:
        """Waits for the firmware to end by itself (a semihosting exit); None if it still runs."""
        return None

    @property
    def instructions_per_second(self) -> float | None:
        """The rate virtual time advances at, in instructions per second (None on hardware)."""
        return None

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- process-backed emulators -----------------------------------------------------------------

def spawn_emulator(command: list[str], *, cwd: Path | None = None, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Starts an emulator in its own process group, bound to die with this process.

    `TINYRIG_PARENT` in its environment names the bench that started it, so `tinyrig doctor` can
    find emulators left behind by an older tinyrig that died without the death signal.
    """
    parent = os.getpid()
    child_env = dict(os.environ if env is None else env)
    child_env["TINYRIG_PARENT"] = str(parent)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd,
                               env=child_env, start_new_session=True,  # its own group, killed as a whole
                               preexec_fn=lambda: die_with_parent(parent))
    # If the bench object is dropped without stop(), the finalizer still takes the group down.
    weakref.finalize(process, kill_process_group, process)
    return process


class EmulatorProcess(Target):
    """Shared lifecycle of a target backed by one emulator process: watchdog, wait and teardown."""

    def __init__(self, board: Board, *, max_runtime_s: float = 3600.0):
        self.board = board
        self.max_runtime_s = max_runtime_s
        self.process: subprocess.Popen | None = None
        self._watchdog: threading.Timer | None = None

    def _launched(self, process: subprocess.Popen) -> None:
        """Call once the emulator is up: arms the watchdog (a stuck bench cannot run it forever)."""
        self._watchdog = start_watchdog(process, self.max_runtime_s)

    def _shutdown(self) -> None:
        """Target-specific polite stop before the process group is killed (e.g. Renode's `quit`)."""

    def _release(self) -> None:
        """Target-specific clean-up after the process is gone (close pipes and logs)."""

    def wait(self, timeout_s: float) -> int | None:
        if self.process is None:
            return None
        return wait_for_exit(self.process, timeout_s)

    def stop(self) -> int | None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._shutdown()
        kill_process_group(self.process)
        self._release()
        return self.process.returncode
