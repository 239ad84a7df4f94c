"""Run firmware on a physical board: flash it through the debug probe with pyOCD, find its
console port, and hand the bench a serial URL, with the same surface as `QemuTarget`.

A real board has no exit code and no instruction-exact window markers: `exit_code()` is None
while it runs and `new_window_marks()` is empty (timing comes from the firmware's own cycle
counter through `m-lap-us`, energy from a power monitor watching the timestamp pin).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tinyrig.boards import Board
from tinyrig.hil.dut.io_manager import RELAYED_DB_BYTES, IoManager
from tinyrig.hil.targets.base import Target, TargetError, TargetSettings
from tinyrig.hil.targets.flash import FlashResult, flash_elf
from tinyrig.hil.targets.ports import find_console_port


class HardwareError(TargetError):
    """The board could not be flashed or its console could not be found."""


@dataclass
class HardwareRun:
    """A flashed, running board: its console's pyserial URL and how it got there."""

    url: str
    board: Board
    flash: FlashResult | None
    markers: Any = None  # the runner's "has instruction-exact markers?" test: never on hardware
    # Behind an interface board (the energy set-up) the console is reached through its relay.
    serial_factory: Callable[..., Any] | None = None
    db_chunk_bytes: int | None = None
    # The board itself, on the same port as the relay: streaming mode sends it play/record_detections.
    interface_board: IoManager | None = None

    def new_window_marks(self) -> list:
        return []

    def exit_code(self) -> int | None:
        return None  # silicon has no semihosting exit; a fatal error prints e-[fatal: ...] and halts

    def describe_exit(self) -> str:
        probe = f" via probe {self.flash.probe}" if self.flash else ""
        return (f"{self.board.name} on {self.url}{probe} is still powered; a fatal firmware error shows as "
                f"'e-[fatal: ...]' on the console, a silent board usually means a hard fault before the UART "
                f"came up (attach a debugger: pyocd gdbserver -t {self.board.pyocd_target})")


class HardwareTarget(Target):
    """`start(elf)` flashes, verifies and resets the board, then returns its console URL."""

    kind = "hardware"
    emulated = False
    exact_counts = False

    @classmethod
    def supports(cls, board: Board) -> str | None:
        if board.is_emulated:
            return f"board {board.name} is an emulated board; use --target {board.emulator.kind}"
        return None

    @classmethod
    def create(cls, board: Board, settings: TargetSettings) -> "HardwareTarget":
        return cls(board, probe_id=settings.probe, port=settings.port, flash=settings.flash,
                   io_manager=settings.io_manager)

    def __init__(self, board: Board, probe_id: str | None = None, port: str | None = None, *,
                 flasher: Callable[..., FlashResult] = flash_elf,
                 port_finder: Callable[..., str] = find_console_port, flash: bool = True,
                 io_manager: str | None = None):
        self.require_support(board, HardwareError)
        self.board = board
        self.probe_id = probe_id
        self.port = port
        self.flash = flash
        self.io_manager = io_manager
        self._flasher = flasher
        self._port_finder = port_finder
        self.run: HardwareRun | None = None

    def start(self, elf: Path) -> HardwareRun:
        result = None
        if self.flash:
            result = self._flasher(self.board, Path(elf), self.probe_id)
        if self.io_manager:
            # The energy set-up: the probe's UART stays unplugged (it would back-power the MCU);
            # the interface board relays the console at the energy baud rate.
            interface_board = IoManager(self.io_manager)
            self.run = HardwareRun(url=self.io_manager, board=self.board, flash=result,
                                   serial_factory=interface_board.relay_factory(),
                                   db_chunk_bytes=RELAYED_DB_BYTES, interface_board=interface_board)
            return self.run
        url = self.port
        if url is None:
            # The probe that was just used names the port for certain; without flashing, the
            # given probe ID (or the only matching port) does.
            probe = result.probe.unique_id if result else self.probe_id
            url = self._port_finder(self.board, probe)
        self.run = HardwareRun(url=url, board=self.board, flash=result)
        return self.run

    def stop(self) -> int | None:
        """Nothing to tear down: the board keeps running the image until it is reset or unplugged."""
        self.run = None
        return None
