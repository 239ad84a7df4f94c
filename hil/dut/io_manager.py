"""The MLPerf Tiny interface board ("IO manager"): the DUT's console relayed at the energy set-up.

In the official energy set-up the power monitor powers the DUT, so the probe's USB UART must not
be connected (it would back-power the MCU through its TX pin). An interface board (an Arduino
running EEMBC's IO Manager, or the STM32H573I-DK "tinyML Enhanced Interface Board" of the
streaming benchmark) sits between the host and the DUT's UART instead: it isolates the lines and
talks to the DUT at the energy baud rate (9600 for the L4R5 reference), while the host talks to
it at 115200. Its protocol, as the open runner speaks it (benchmark/runner/io_manager.py):

    host  -> board:  name%                 board: <its name> / m-ready
    host  -> board:  dut <command>%        board: m-dut-passthrough(<command>) / m-ready,
                                            then the DUT's answer, each line "[dut]: <line>",
                                            ending "[dut]: m-ready"
    streaming extras: play <file>%, record_detections%, print_detections%, print_dutycycle%

`IoManagerPort` wraps that as a pyserial-like port, so tinyrig's `Dut` client drives a DUT behind
the board exactly as it drives one on a direct UART (only the `db` chunk shrinks to 26 bytes,
as the runner sends when a board relays).
"""

from __future__ import annotations

import time
from typing import Callable

import serial

PASSTHROUGH = "dut"
DUT_PREFIX = b"[dut]: "
READY = "m-ready"
BOARD_BAUD = 115200  # the runner's devices yaml: the interface board's own rate
RELAYED_DB_BYTES = 26  # data bytes per `db` command when a board relays (the runner's figure)
DETECTIONS_HEADER = "Detection Timestamps (ms)"
DUTY_START_HEADER = "Duty cycle start times"
DUTY_STOP_HEADER = "Duty cycle stop times"
TICK_S = 10e-6  # the board's TIM2 period, by which the runner scales the duty-cycle edges
MAX_DUTY_EDGES = 100  # the board keeps this many processing edges of each kind (its MAX_FRAMES)


class IoManagerError(RuntimeError):
    """The interface board did not answer, or answered something else than its protocol."""


class IoManagerPort:
    """A pyserial-like port to the DUT behind the board: writes become `dut ...%` commands, and only
    the DUT's relayed lines (prefix removed) are read back; the board's own lines are dropped."""

    def __init__(self, board: serial.SerialBase):
        self._board = board
        self._command = b""  # the DUT command being written, up to its '%'
        self._incoming = b""  # the board's bytes not yet split into lines
        self._out = bytearray()  # the DUT's lines, ready for read()
        self.timeout = board.timeout

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> int:
        self._command += bytes(data)
        while b"%" in self._command:
            command, _, self._command = self._command.partition(b"%")
            self._board.write(PASSTHROUGH.encode() + b" " + command.strip() + b"%")
        return len(data)

    def flush(self) -> None:
        self._board.flush()

    # -- reading ---------------------------------------------------------------------------

    def _pump(self, wait: bool) -> None:
        """Moves whatever the board sent into the DUT's line buffer (waiting up to its timeout once)."""
        chunk = self._board.read(1) if wait else b""
        waiting = self._board.in_waiting
        if waiting:
            chunk += self._board.read(waiting)
        if not chunk:
            return
        self._incoming += chunk
        while b"\n" in self._incoming:
            line, _, self._incoming = self._incoming.partition(b"\n")
            if line.startswith(DUT_PREFIX):
                self._out += line[len(DUT_PREFIX):] + b"\n"
            # anything else is the board's own: its passthrough echo, its m-ready, its banner

    def read(self, size: int = 1) -> bytes:
        if not self._out:
            self._pump(wait=True)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    @property
    def in_waiting(self) -> int:
        self._pump(wait=False)
        return len(self._out)

    def reset_input_buffer(self) -> None:
        self._board.reset_input_buffer()
        self._incoming, self._out = b"", bytearray()

    def close(self) -> None:
        self._board.close()


class IoManager:
    """The board's own commands (identification, the streaming benchmark's player and recorder) and
    the relay to the DUT (`dut_port`)."""

    def __init__(self, url: str, *, baudrate: int = BOARD_BAUD, timeout_s: float = 5.0,
                 serial_factory: Callable[..., serial.SerialBase] | None = None):
        self.url, self.baudrate, self.timeout_s = url, baudrate, timeout_s
        self._factory = serial_factory or serial.serial_for_url
        self._port: serial.SerialBase | None = None

    def open(self) -> "IoManager":
        try:
            self._port = self._factory(self.url, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise IoManagerError(f"cannot open the interface board on {self.url}: {exc}") from None
        return self

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def __enter__(self) -> "IoManager":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self, command: str, timeout_s: float | None = None) -> list[str]:
        """One board command; its lines up to (not including) m-ready.

        As the runner's SerialDevice, a line that *contains* m-ready ends the answer: the board's
        print_dutycycle ends its last row of times with "m-ready" on the same line when the count
        is not a multiple of 8; what precedes it on that line is kept."""
        if self._port is None:
            raise IoManagerError("the interface board is not open")
        self._port.write(command.encode("ascii") + b"%")
        limit = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        lines, pending = [], b""
        while time.monotonic() < deadline:
            chunk = self._port.read(1)
            if chunk:
                chunk += self._port.read(self._port.in_waiting)
            pending += chunk
            while b"\n" in pending:
                raw, _, pending = pending.partition(b"\n")
                line = raw.decode("ascii", errors="replace").strip("\r\x00 ")
                if READY in line:
                    before = line[: line.index(READY)].strip()
                    return lines + ([before] if before else [])
                if line:
                    lines.append(line)
        raise IoManagerError(f"the interface board on {self.url} did not answer '{command}' with m-ready "
                             f"within {limit:g} s (got {lines[-3:] or 'nothing'}); check its port and baud rate "
                             f"({self.baudrate})")

    def name(self) -> str:
        lines = self.command("name")
        if not lines:
            raise IoManagerError(f"the device on {self.url} answered 'name' with nothing: not an interface board?")
        return lines[0]

    def dut_port(self) -> IoManagerPort:
        """The DUT behind the board, as a port for `Dut(..., serial_factory=...)`."""
        if self._port is None:
            self.open()
        return IoManagerPort(self._port)

    def relay_factory(self) -> Callable[..., IoManagerPort]:
        """A `serial_factory` for `Dut` that relays through this board's own port, so the bench can
        still send the board its own commands (play, record_detections, ...) while the DUT is open."""

        def open_relay(_url: str, **_kwargs) -> IoManagerPort:
            try:
                return self.dut_port()
            except IoManagerError as exc:
                raise serial.SerialException(str(exc)) from None

        return open_relay

    # -- the streaming benchmark's player and recorder (Enhanced Interface Board) -------------
    # Formats from the board's firmware (mlcommons/tiny benchmark/interface, InterfaceMenu.cpp) and
    # how the runner reads them (streaming_ww_utils.py process_timestamps / process_dutycycle).

    def play(self, wav_name: str, timeout_s: float = 3600.0) -> list[str]:
        """Plays a wav from the board's SD card over I2S; blocks until the board says it is done."""
        lines = self.command(f"play {wav_name}", timeout_s)
        if any(line.startswith("Error") for line in lines):
            raise IoManagerError(f"the interface board could not play {wav_name!r}: {' '.join(lines)} "
                                 f"(is it on the board's SD card, as a 2-channel 16 kHz wav?)")
        return lines

    def record_detections(self) -> None:
        """Zeroes the board's 10 us timer and clears its detection and duty-cycle records."""
        self.command("record_detections")

    def print_detections(self) -> list[int]:
        """Detection times in ms since record_detections, as the board timed them (10 ms lock-out)."""
        lines = self.command("print_detections")
        if not lines or lines[0] != DETECTIONS_HEADER:
            raise IoManagerError(f"print_detections: expected '{DETECTIONS_HEADER}', got {lines[:1] or 'nothing'}")
        try:
            return [int(line.strip().rstrip(",")) for line in lines[1:] if line.strip()]
        except ValueError:
            raise IoManagerError(f"print_detections: a timestamp is not a whole number of ms: {lines[1:4]}") from None

    def print_dutycycle(self) -> tuple[list[float], list[float]]:
        """The processing pin's rising and falling edges (s since record_detections). The board
        counts in 10 us ticks and keeps the first MAX_DUTY_EDGES of each."""
        lines = self.command("print_dutycycle")
        if not lines or DUTY_START_HEADER not in lines[0]:
            raise IoManagerError(f"print_dutycycle: expected '{DUTY_START_HEADER} (s)', got {lines[:1] or 'nothing'}")
        starts: list[int] = []
        stops: list[int] = []
        target = starts
        for line in lines[1:]:
            if DUTY_STOP_HEADER in line:
                target = stops
                continue
            try:
                target.extend(int(v) for v in line.replace(" ", "").split(",") if v)
            except ValueError:
                raise IoManagerError(f"print_dutycycle: not a list of 10 us ticks: {line!r}") from None
        return [t * TICK_S for t in starts], [t * TICK_S for t in stops]


def relayed_dut_factory(board_url: str, *, baudrate: int = BOARD_BAUD) -> Callable[..., IoManagerPort]:
    """A `serial_factory` for `Dut`: the DUT is reached through the interface board on `board_url`
    (the URL and baud rate the Dut passes are the DUT's own, which only the board uses)."""
    return IoManager(board_url, baudrate=baudrate).relay_factory()
