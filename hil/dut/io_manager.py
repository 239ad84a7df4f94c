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

import re
import time
from typing import Callable

import serial

PASSTHROUGH = "dut"
DUT_PREFIX = b"[dut]: "
READY = "m-ready"
BOARD_BAUD = 115200  # the runner's devices yaml: the interface board's own rate
RELAYED_DB_BYTES = 26  # data bytes per `db` command when a board relays (the runner's figure)


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
        """One board command; its lines up to (not including) m-ready."""
        if self._port is None:
            raise IoManagerError("the interface board is not open")
        self._port.write(command.encode("ascii") + b"%")
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        lines, pending = [], b""
        while time.monotonic() < deadline:
            chunk = self._port.read(1)
            if chunk:
                chunk += self._port.read(self._port.in_waiting)
            pending += chunk
            while b"\n" in pending:
                raw, _, pending = pending.partition(b"\n")
                line = raw.decode("ascii", errors="replace").strip("\r\x00 ")
                if line == READY:
                    return lines
                if line:
                    lines.append(line)
        raise IoManagerError(f"the interface board on {self.url} did not answer '{command}' with m-ready "
                             f"within {self.timeout_s if timeout_s is None else timeout_s:g} s "
                             f"(got {lines[-3:] or 'nothing'}); check its port and baud rate ({self.baudrate})")

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

    # -- the streaming benchmark's player and recorder (Enhanced Interface Board) -------------

    def play(self, wav_name: str, timeout_s: float = 3600.0) -> None:
        lines = self.command(f"play {wav_name}", timeout_s)
        if any(line.startswith("Error") for line in lines):
            raise IoManagerError(f"the interface board could not play {wav_name!r}: {' '.join(lines)}")

    def record_detections(self) -> None:
        self.command("record_detections")

    def print_detections(self) -> list[int]:
        """Detection times in ms since record_detections, as the board timed them."""
        return [int(v) for line in self.command("print_detections") for v in re.findall(r"(\d+),", line)]

    def print_dutycycle(self) -> tuple[list[float], list[float]]:
        """The DUT's busy periods: start times and stop times (s)."""
        starts, stops, current = [], [], None
        for line in self.command("print_dutycycle"):
            if "start times" in line:
                current = starts
            elif "stop times" in line:
                current = stops
            elif current is not None:
                current.extend(float(v) for v in re.findall(r"([0-9.]+),", line))
        return starts, stops


def relayed_dut_factory(board_url: str, *, baudrate: int = BOARD_BAUD) -> Callable[..., IoManagerPort]:
    """A `serial_factory` for `Dut`: the DUT is reached through the interface board on `board_url`
    (the URL and baud rate the Dut passes are the DUT's own, which only the board uses)."""

    def open_relay(_url: str, **_kwargs) -> IoManagerPort:
        try:
            return IoManager(board_url, baudrate=baudrate).open().dut_port()
        except IoManagerError as exc:
            raise serial.SerialException(str(exc)) from None

    return open_relay
