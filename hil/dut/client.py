"""The MLPerf Tiny protocol client: drives any conforming firmware over any pyserial URL.

The same class talks to `socket://127.0.0.1:PORT` under QEMU or Renode and to `/dev/ttyACM0`
on a real board. It knows nothing about what is on the other end beyond protocol.md (plus
tinyrig's optional `tinyrig ...` extensions, which it asks for and never assumes).

Every wait has a timeout; every line in and out goes to the transcript callback; an error
names the command and shows the last lines received.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import serial

from tinyrig.terminal import printable

READY = "m-ready"
# `tinyrig load` reads only files that begin with this header (and only in the folder of its first
# load): whoever else reaches the console cannot make the firmware read the host's files.
INPUT_MAGIC = b"TRIN"
# `tinyrig batch` files: this magic, the input size and the stride (uint32 LE each), then the data.
BATCH_MAGIC = b"TRBT"
MAX_DB_BYTES_DIRECT = 31  # protocol.md: at most 31 data bytes per `db` talking to the DUT directly

_RESULTS_RE = re.compile(r"m-results-\[(.*)\]")
_LAP_RE = re.compile(r"m-lap-us-(\d+)")


class Transcript(Protocol):
    def __call__(self, direction: str, line: str) -> None: ...


class DutError(RuntimeError):
    """The device answered with an error, answered nonsense, or stopped answering."""

    def __init__(self, message: str, command: str = "", recent: list[str] | None = None):
        self.message = message
        self.command = command
        self.recent = list(recent or [])
        detail = f"{message}"
        if command:
            detail = f"'{command}': {message}"
        self.headline = detail  # one line; the recent lines follow it in str()
        if self.recent:
            detail += "\n  last lines received:\n    " + "\n    ".join(self.recent[-8:])
        super().__init__(detail)


class DutTimeout(DutError):
    pass


class DutDisconnected(DutError):
    pass


@dataclass
class Profile:
    name: str
    firmware: str
    model: str


@dataclass
class InferResult:
    iterations: int
    warmup: int
    lap_us: tuple[int, ...]  # the m-lap-us values (performance mode: start and end)
    scores: list[float]
    lines: list[str]

    @property
    def window_us(self) -> int | None:
        if len(self.lap_us) < 2:
            return None
        return self.lap_us[-1] - self.lap_us[-2]


def input_file_bytes(data: bytes) -> bytes:
    """An input as the firmware's `tinyrig load` reads it: magic, byte count (uint32 LE), bytes."""
    return INPUT_MAGIC + len(data).to_bytes(4, "little") + data


def batch_file_bytes(input_bytes: int, stride: int, data: bytes) -> bytes:
    """A batch as the firmware's `tinyrig batch` reads it: input i is data[i*stride : i*stride+input_bytes]."""
    return BATCH_MAGIC + input_bytes.to_bytes(4, "little") + stride.to_bytes(4, "little") + data


def parse_scores(line: str) -> list[float] | None:
    match = _RESULTS_RE.search(line)
    if not match:
        return None
    body = match.group(1).strip()
    return [float(v) for v in body.split(",")] if body else []  # float() reads nan/inf as printed


class Dut:
    """One connection to a device under test."""

    def __init__(self, url: str, *, baudrate: int = 115200, timeout_s: float = 10.0,
                 transcript: Transcript | None = None, serial_factory: Callable[..., serial.SerialBase] | None = None):
        self.url = url
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.transcript = transcript or (lambda direction, line: None)
        self._factory = serial_factory or serial.serial_for_url
        self._port: serial.SerialBase | None = None
        self._pending = b""
        self.recent: deque[str] = deque(maxlen=50)
        self.boot_lines: list[str] = []
        self._caps: set[str] | None = None
        self._saw_ready = False
        self.db_chunk_bytes = MAX_DB_BYTES_DIRECT  # 26 when an interface board relays (the runner's figure)
        self._host_folder: Path | None = None

    # -- connection ------------------------------------------------------------------------

    def open(self, boot_timeout_s: float = 10.0, retries: int = 3) -> Profile:
        """Connects, collects the boot banner if there is one, and identifies the device."""
        try:
            self._port = self._factory(self.url, baudrate=self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DutDisconnected(f"cannot open {self.url}: {exc}") from None
        # A freshly booted DUT prints its banner and m-ready; one that was already running
        # prints nothing until asked. Either way, resynchronise before the first command.
        self.boot_lines = self._read_until_ready("(boot)", boot_timeout_s, missing_ok=True)
        if self._pending or not self._saw_ready:
            # No m-ready (or half a line) at the end of the banner: line noise, a device that
            # was already running, or a banner cut short. Flush and ask for a clean m-ready.
            try:
                self.resync(timeout_s=boot_timeout_s)
            except DutTimeout:
                pass  # the identity commands below retry and report properly
        last_error: DutError | None = None
        for _ in range(retries):
            try:
                return self.profile()
            except DutError as exc:  # no answer, or another answer's lines (a stray m-ready in line noise)
                last_error = exc
                try:
                    self.resync(settle_s=0.3)
                except DutTimeout:
                    pass
        assert last_error is not None
        raise last_error

    def close(self) -> None:
        if self._host_folder is not None:
            shutil.rmtree(self._host_folder, ignore_errors=True)
            self._host_folder = None
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None

    def host_folder(self) -> Path:
        """A private folder for the files an emulated DUT opens by name through semihosting
        (`tinyrig audio`, `trace`). The firmware accepts host paths only in the first folder it
        was given, so every stream of this connection uses this one; removed on close. Short and
        without spaces: the protocol splits commands on spaces."""
        if self._host_folder is None:
            self._host_folder = Path(tempfile.mkdtemp(prefix="trdut", dir="/tmp" if Path("/tmp").is_dir() else None))
        return self._host_folder

    def __enter__(self) -> "Dut":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- raw I/O ---------------------------------------------------------------------------

    def _write(self, command: str) -> None:
        if self._port is None:
            raise DutDisconnected("not connected", command)
        self.transcript("send", command)
        try:
            self._port.write(command.encode("ascii") + b"%")
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DutDisconnected(f"write failed: {exc}", command, list(self.recent)) from None

    def _readline(self, command: str, deadline: float) -> str | None:
        """One line, or None when the deadline passes first."""
        while b"\n" not in self._pending:
            if time.monotonic() >= deadline:
                return None
            try:
                # One byte (waiting up to the port timeout), then whatever else has arrived:
                # a plain read(4096) would sit out the whole timeout on every short answer.
                chunk = self._port.read(1)
                if chunk:
                    chunk += self._port.read(self._port.in_waiting)
            except (serial.SerialException, OSError) as exc:
                raise DutDisconnected(f"connection lost: {exc}", command, list(self.recent)) from None
            if chunk:
                self._pending += chunk
        raw, self._pending = self._pending.split(b"\n", 1)
        # Whatever the port sends (line noise, a hostile device, ESC sequences) is kept as visible
        # escapes: these lines reach the transcript, error messages and the terminal.
        line = printable(raw.decode("ascii", errors="backslashreplace").strip("\r\x00 "))
        self.recent.append(line)
        self.transcript("recv", line)
        return line

    def _read_until_ready(self, command: str, timeout_s: float, missing_ok: bool = False) -> list[str]:
        deadline = time.monotonic() + timeout_s
        lines: list[str] = []
        self._saw_ready = False
        while True:
            line = self._readline(command, deadline)
            if line is None:
                if missing_ok:
                    return lines
                raise DutTimeout(f"no m-ready within {timeout_s:g} s", command, list(self.recent))
            if READY in line:
                self._saw_ready = True
                return lines
            if line:
                lines.append(line)

    def resync(self, timeout_s: float = 5.0, settle_s: float = 0.0) -> None:
        """After garbage or a lost answer: an empty command, then drop everything up to m-ready,
        and whatever else arrives until the line has been quiet for `settle_s` (answers still in
        flight when the input was flushed, each with its own m-ready)."""
        self._pending = b""
        if self._port is not None:
            try:
                self._port.reset_input_buffer()
            except (serial.SerialException, OSError):
                pass
        self._write("")
        self._read_until_ready("(resync)", timeout_s)
        while self._readline("(resync)", time.monotonic() + settle_s) is not None:
            pass

    def command(self, command: str, timeout_s: float | None = None, allow_error: bool = False) -> list[str]:
        """Sends one command; returns the lines before m-ready. An `e-` line raises DutError."""
        self._write(command)
        lines = self._read_until_ready(command, self.timeout_s if timeout_s is None else timeout_s)
        errors = [line for line in lines if line.startswith("e-")]
        if errors and not allow_error:
            raise DutError(f"device error {errors[0]}", command, list(self.recent))
        return lines

    # -- protocol commands -----------------------------------------------------------------

    def _expect(self, lines: list[str], prefix: str, command: str) -> str:
        for line in lines:
            if line.startswith(prefix):
                return line
        for line in lines:  # line noise glued in front of the answer: take it from the prefix on
            if prefix in line:
                return line[line.index(prefix):]
        raise DutError(f"expected a line starting '{prefix}'", command, list(self.recent))

    @staticmethod
    def _bracketed(line: str) -> str:
        start, end = line.find("["), line.rfind("]")
        return line[start + 1 : end] if start >= 0 and end > start else ""

    def profile(self) -> Profile:
        name_line = self._expect(self.command("name"), "m-name-", "name")
        lines = self.command("profile")
        firmware = self._bracketed(self._expect(lines, "m-profile-", "profile"))
        model = self._bracketed(self._expect(lines, "m-model-", "profile"))
        return Profile(name=self._bracketed(name_line), firmware=firmware, model=model)

    def timestamp_mode(self) -> str | None:
        for line in self.boot_lines:
            if line.startswith("m-timestamp-mode-"):
                return line[len("m-timestamp-mode-") :]
        return None

    def load(self, data: bytes, chunk_bytes: int | None = None) -> None:
        """Loads one input with `db load N` and `db <hex>` commands."""
        chunk_bytes = chunk_bytes or self.db_chunk_bytes
        if not data:
            raise ValueError("cannot load an empty input")
        self._expect(self.command(f"db load {len(data)}"), "m-[Expecting", "db load")
        last: list[str] = []
        for offset in range(0, len(data), chunk_bytes):
            last = self.command("db " + data[offset : offset + chunk_bytes].hex())
        if not any(line.startswith("m-load-done") for line in last):
            raise DutError(f"no m-load-done after {len(data)} bytes", "db", list(self.recent))

    def infer(self, iterations: int, warmup: int, timeout_s: float | None = None) -> InferResult:
        command = f"infer {iterations} {warmup}"
        lines = self.command(command, timeout_s=timeout_s)
        laps = tuple(int(m.group(1)) for m in map(_LAP_RE.search, lines) if m)
        for required in ("m-warmup-done", "m-infer-done"):
            if required not in lines:
                raise DutError(f"no '{required}' in the answer", command, list(self.recent))
        scores = None
        for line in lines:
            scores = parse_scores(line) if scores is None else scores
        if scores is None:
            raise DutError("no m-results line after m-infer-done", command, list(self.recent))
        return InferResult(iterations, warmup, laps, scores, lines)

    def results(self) -> list[float]:
        line = self._expect(self.command("results"), "m-results-", "results")
        return parse_scores(line) or []

    # -- tinyrig extensions (asked for, never assumed) ---------------------------------------

    def capabilities(self) -> set[str]:
        if self._caps is None:
            lines = self.command("tinyrig caps", allow_error=True)
            caps_line = next((line for line in lines if line.startswith("m-caps-")), "")
            self._caps = {c for c in self._bracketed(caps_line).split(",") if c}
        return self._caps

    def raw_output(self) -> bytes:
        line = self._expect(self.command("tinyrig raw"), "m-raw-", "tinyrig raw")
        return bytes.fromhex(self._bracketed(line))

    def window_ticks(self) -> tuple[int, int, int]:
        """(start ticks, end ticks, timer Hz) of the last timed window."""
        line = self._expect(self.command("tinyrig ticks"), "m-ticks-", "tinyrig ticks")
        start, end, hz = line[len("m-ticks-") :].split("-")
        return int(start), int(end), int(hz)

    def batch(self, path: str, expected: int, silence_s: float) -> list[str]:
        """Runs `tinyrig batch PATH`: the `m-results-[...]` line of each of its `expected` inputs.

        A batch may take minutes, so there is no deadline for the whole answer: the device
        counts as gone only when it stays silent for `silence_s` (one input's worth, with margin)."""
        command = f"tinyrig batch {path}"
        self._write(command)
        lines: list[str] = []
        count: int | None = None  # from m-batch-done-N
        error: str | None = None
        while True:
            line = self._readline(command, time.monotonic() + silence_s)
            if line is None:
                raise DutTimeout(f"the device stopped answering: no line within {silence_s:.0f} s after "
                                 f"{len(lines)} of {expected} inputs", command, list(self.recent))
            if READY in line:
                break
            if line.startswith("e-"):
                error = error or line  # raised once its m-ready is read: the next command starts clean
            elif line.startswith("m-results-"):
                lines.append(line)
            elif line.startswith("m-batch-done-") and line[len("m-batch-done-"):].isdigit():
                count = int(line[len("m-batch-done-"):])
        if error is not None:
            raise DutError(f"device error {error}", command, list(self.recent))
        if count != expected or len(lines) != expected:
            raise DutError(f"expected {expected} inputs and m-batch-done-{expected}, got {len(lines)} result lines "
                           f"and {'m-batch-done-' + str(count) if count is not None else 'no m-batch-done'}",
                           command, list(self.recent))
        return lines

    def fast_load(self, path: str) -> None:
        lines = self.command(f"tinyrig load {path}")
        self._expect(lines, "m-load-done", "tinyrig load")
