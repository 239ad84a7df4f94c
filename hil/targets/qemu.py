"""Run firmware under QEMU with deterministic timing and a loopback TCP console.

- `-icount shift=N` (never `auto`): every instruction advances virtual time by 2**N ns, so
  timer readings are instruction counts and identical from run to run, even on a loaded host.
- The console is a TCP server chardev on 127.0.0.1 with `wait=on`: the guest is held until the
  bench connects, so no boot output is lost; `nodelay=on` avoids Nagle's 3x slowdown.
- Semihosting is enabled so the firmware can exit with a code (a fatal error exits with 3) and
  read input files on the fast path.
- QEMU runs in its own process group, bound to die with the bench (hil/targets/base.py).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.boards import Board
from tinyrig.hil.targets.base import (EmulatorProcess, TargetError, TargetSettings, other_emulator_hint,
                                      spawn_emulator)
from tinyrig.hil.targets.cycle_model import CycleModel
from tinyrig.hil.targets.processes import wait_for_exit
from tinyrig.hil.targets.pinwatch import MarkerLog, MarkerStore, PinwatchError, build_plugin, plugin_args, symbol_range

PORT_RE = re.compile(r"tcp:127\.0\.0\.1:(\d+),server")
# The streaming wakeword firmware's pin functions (templates/firmware/drivers/stream_pins.c.j2).
STREAM_PIN_FUNCTIONS = ("board_detect_pin_pulse", "board_processing_pin_high", "board_processing_pin_low",
                        "board_audio_clock_mark")

# Where each pin driver's marker store lands, from the port base in `timestamp_pin.register`:
# the plugin must watch the register the firmware writes (templates/firmware/drivers/pin_*.c.j2),
# not the port's first one. stm32-gpio writes only BSRR.
MARKER_STORE_OFFSET = {"mps2-fpgaio-led": 0x00, "stm32-gpio": 0x18}


def marker_register(board: Board, pin=None) -> int:
    """The address the stores of `pin` (default: the timestamp pin) go to."""
    pin = pin or board.timestamp_pin
    if pin.driver not in MARKER_STORE_OFFSET:
        raise QemuError(f"board {board.name}: pin driver {pin.driver!r} has no store register tinyrig's "
                        f"QEMU plugin knows (known: {', '.join(MARKER_STORE_OFFSET)}, none)")
    return pin.register + MARKER_STORE_OFFSET[pin.driver]


class QemuError(TargetError):
    """QEMU could not be started, or stopped unexpectedly."""


@dataclass
class QemuRun:
    """A running QEMU: the console's pyserial URL and the process behind it."""

    url: str
    process: subprocess.Popen
    command: list[str]
    icount_shift: int
    stderr_lines: list[str] = field(default_factory=list)
    # Stores to the timestamp-pin register with exact instruction counts (tinyrig's QEMU plugin),
    # and estimated cycles when the target has a cycle model.
    markers: MarkerLog | None = None
    # [lo, hi) of board_pin_mark, the function whose stores bracket the timed inferences.
    mark_range: tuple[int, int] | None = None

    def new_window_marks(self) -> list[MarkerStore]:
        """Window markers stored since the last call (stores from other functions dropped)."""
        if self.markers is None or self.mark_range is None:
            return []
        lo, hi = self.mark_range
        return [m for m in self.markers.read_new() if lo <= m.pc < hi]

    def exit_code(self) -> int | None:
        return self.process.poll()

    def describe_exit(self) -> str:
        """Why QEMU is gone, in words, with the end of what it printed."""
        code = self.process.poll()
        if code is None:
            return "QEMU is still running"
        meaning = {3: "the firmware stopped on a fatal error (hard fault)", 124: "timeout"}.get(code, "")
        if code < 0:
            meaning = f"killed by signal {-code}"
        tail = " | ".join(self.stderr_lines[-5:])
        return f"QEMU exited with code {code}" + (f" ({meaning})" if meaning else "") + (f"; stderr: {tail}" if tail else "")


def qemu_binary() -> str:
    path = shutil.which("qemu-system-arm")
    if path is None:
        raise QemuError("qemu-system-arm not found on PATH (Debian package: qemu-system-arm)")
    return path


def qemu_command(board: Board, elf: Path, icount_shift: int = 0, plugin_args: list[str] | None = None,
                 icount_sleep: bool = True) -> list[str]:
    """The QEMU command line for `board` (one QemuTarget.supports() accepted).

    `icount_sleep=False` (QEMU's `sleep=off`): while the guest waits in WFI, virtual time jumps to
    the next timer event at once instead of passing in real time. Only firmware that sleeps (the
    streaming wakeword between audio hops) notices; virtual time stays deterministic."""
    cmd = [
        qemu_binary(),
        "-M",
        board.emulator.qemu_machine,
        "-nographic",
        "-monitor",
        "none",
        "-icount",
        f"shift={icount_shift}" + ("" if icount_sleep else ",sleep=off"),
        "-semihosting-config",
        "enable=on,target=native",
        "-chardev",
        "socket,id=con0,host=127.0.0.1,port=0,server=on,wait=on,nodelay=on",
        "-serial",
        "chardev:con0",
        "-kernel",
        str(elf),
    ]
    if board.emulator.qemu_cpu:
        cmd[3:3] = ["-cpu", board.emulator.qemu_cpu]
    if plugin_args:
        cmd += plugin_args
    return cmd


class QemuTarget(EmulatorProcess):
    """Starts firmware under QEMU; `start()` returns the console URL, `stop()` always cleans up."""

    kind = "qemu"

    @classmethod
    def supports(cls, board: Board) -> str | None:
        if not board.emulator.qemu_machine:
            return (f"board {board.name} has no QEMU machine (emulator.qemu_machine in its board file)"
                    f"{other_emulator_hint(board)}")
        return None

    @classmethod
    def create(cls, board: Board, settings: TargetSettings) -> "QemuTarget":
        return cls(board, icount_shift=settings.icount_shift, marker_log=settings.marker_log,
                   cycle_model=settings.cycle_model, stream_pins=settings.stream_pins,
                   icount_sleep=settings.icount_sleep)

    def __init__(self, board: Board, *, icount_shift: int = 0, start_timeout_s: float = 10.0,
                 max_runtime_s: float = 3600.0, plugin_args: list[str] | None = None,
                 cwd: Path | None = None, marker_log: Path | None = None,
                 cycle_model: CycleModel | None = None, stream_pins: bool = False, icount_sleep: bool = True):
        """`cycle_model` (tinyrig.hil.targets.cycle_model.cycle_model_for) makes every marker carry
        estimated cycles beside its instruction count; it needs `marker_log`, and its parameter
        file is written next to it. `stream_pins`: also log the streaming wakeword's detection and
        processing pins and audio-clock marks (the board's [detection_pin] / [processing_pin]
        registers); `icount_sleep=False` lets virtual time skip while the guest sleeps."""
        self.require_support(board, QemuError)
        if cycle_model is not None and marker_log is None:
            raise QemuError("a cycle model reports at the window markers: give QemuTarget a marker_log too")
        if cycle_model is not None and board.timestamp_pin.driver == "none":
            raise QemuError(f"board {board.name} has no timestamp pin to carry window markers, so no cycles either")
        super().__init__(board, max_runtime_s=max_runtime_s)
        self.cycle_model = cycle_model
        self.icount_shift = icount_shift
        self.start_timeout_s = start_timeout_s
        self.plugin_args = plugin_args
        self.cwd = cwd
        self.marker_log = marker_log
        self.stream_pins = stream_pins
        self.icount_sleep = icount_sleep
        self.run: QemuRun | None = None

    @property
    def instructions_per_second(self) -> float:
        """Virtual time per instruction is 2**shift ns: the 'clock' instruction counts run at."""
        return 1e9 / (2**self.icount_shift)

    def start(self, elf: Path) -> QemuRun:
        elf = Path(elf)
        if not elf.is_file():
            raise QemuError(f"firmware not found: {elf}")
        extra = list(self.plugin_args or [])
        mark_range = None
        if self.marker_log is not None and self.board.timestamp_pin.driver != "none":
            # Watch the timestamp-pin register; only the pin functions pay for the store callback.
            mark_range = symbol_range(elf, "board_pin_mark")
            watch = mark_range
            try:  # energy-mode builds also pulse the pin; performance builds drop that function
                pulse = symbol_range(elf, "board_pin_pulse")
                watch = (min(watch[0], pulse[0]), max(watch[1], pulse[1]))
            except PinwatchError:
                pass
            Path(self.marker_log).unlink(missing_ok=True)
            registers = [marker_register(self.board)]
            if self.stream_pins:
                stream = symbol_range(elf, *STREAM_PIN_FUNCTIONS)
                watch = (min(watch[0], stream[0]), max(watch[1], stream[1]))
                registers += [marker_register(self.board, self.board.detection_pin),
                              marker_register(self.board, self.board.processing_pin)]
            # The SysTick wrap handler runs at times set by boot-time UART traffic: leave it out
            # of the counts so a window's count depends only on the code inside it.
            skip = symbol_range(elf, "SysTick_Handler")
            cycles = None
            if self.cycle_model is not None:
                log = Path(self.marker_log)
                cycles = self.cycle_model.write(log.with_name(f"{log.stem}-cycle-model.txt"))
            extra += plugin_args(build_plugin(), registers, self.marker_log, watch, skip, cycles)
        cmd = qemu_command(self.board, elf, self.icount_shift, extra, self.icount_sleep)
        process = spawn_emulator(cmd, cwd=self.cwd)
        self.process = process
        run = QemuRun(url="", process=process, command=cmd, icount_shift=self.icount_shift,
                      markers=MarkerLog(self.marker_log) if mark_range else None, mark_range=mark_range)
        self.run = run
        try:
            port = self._wait_for_port(run)
        except BaseException:
            self.stop()
            raise
        run.url = f"socket://127.0.0.1:{port}"
        threading.Thread(target=self._drain_stderr, args=(run,), daemon=True).start()
        self._launched(process)
        return run

    def _wait_for_port(self, run: QemuRun) -> int:
        deadline = time.monotonic() + self.start_timeout_s
        pending = b""
        stream = run.process.stderr
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stream], [], [], 0.1)
            if ready:
                chunk = os.read(stream.fileno(), 4096)
                if not chunk:
                    # stderr closed: QEMU is exiting. Let it be reaped so its own message is
                    # reported (e.g. "unsupported machine type") rather than a timeout.
                    wait_for_exit(run.process, 2.0)
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace").strip()
                    run.stderr_lines.append(line)
                    match = PORT_RE.search(line)
                    if match:
                        return int(match.group(1))
            elif run.process.poll() is not None:
                break
        if run.process.poll() is not None:
            raise QemuError(f"QEMU did not start: {run.describe_exit()}; command: {' '.join(run.command)}")
        raise QemuError(f"QEMU did not announce its console port within {self.start_timeout_s:.0f} s")

    @staticmethod
    def _drain_stderr(run: QemuRun) -> None:
        try:
            for raw in iter(run.process.stderr.readline, b""):
                run.stderr_lines.append(raw.decode(errors="replace").rstrip())
        except (ValueError, OSError):
            pass  # the pipe was closed by stop()

    def _release(self) -> None:
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
