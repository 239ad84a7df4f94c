"""ST X-NUCLEO-LPM01A ("PowerShield") over its text serial protocol.

Sources for the protocol, as the MLPerf Tiny runner drives it:
  * mlcommons/tiny, benchmark/runner/power_manager.py and
    power_manager/power_manager_lpm.py (setup sequence, data/event regexes,
    stop waiting for "Acquisition completed", the command table copied there
    from ST UM2269 "Getting started with PowerShield firmware").
  * mlcommons/tiny, benchmark/runner/script.py (_gather_power_results: the
    "TimeStamp: 001s 000ms, buff 00%" line comes every `freq` samples, the
    event line's position in the sample stream is the event's time).
  * UM2269 via the table above: ascii_dec value "6409-07" = 6409e-7;
    `output energy` = energy integrated over each sample period (max 10 kHz);
    ascii_dec unlimited acquisition only up to 5 kHz; volt in [1800m, 3300m].

Wire format (what this driver parses), host -> device lines end in "\\n":
  htc / hrc                        take / release host control
  volt 1800m, freq 1k, acqtime inf, trigdelay 0, trigsrc sw,
  eventsrc d7 fal, output energy, format ascii_dec, pwr on|off, start, stop
device -> host lines end in "\\r\\n", answers may carry the "PowerShield > "
prompt:
  ack <command> [payload]          accepted
  error <command> / Error detail: <text>   rejected
  dddd±ee[dddd±ee...]              samples (J per sample in energy mode)
  TimeStamp: 001s 000ms, buff 00%  every second of samples (sanity check)
  event <n> ris|fal                a D7 edge, between the samples around it
  ... Acquisition completed        end of the acquisition after `stop`
"""

from __future__ import annotations

import collections
import re
import threading

import numpy as np

from ._stream import StreamingMonitor
from .errors import (
    CommandRejectedError,
    DeviceVanishedError,
    GarbledDataError,
    MonitorTimeoutError,
    PowerMonitorError,
)
from .trace import PowerTrace

PROMPT = "PowerShield > "
DEFAULT_BAUD = 3686400  # the runner's and ST's default for the virtual COM port

# UM2269 `freq` values.  ascii_dec streams unlimited acquisitions up to 5 kHz,
# and `output energy` integrates at most at 10 kHz.
_FREQ_HZ = {
    "100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5_000,
    "2k": 2_000, "1k": 1_000, "500": 500, "200": 200, "100": 100, "50": 50,
    "20": 20, "10": 10, "5": 5, "2": 2, "1": 1,
}
_MAX_ASCII_ENERGY_HZ = 5_000

# A data line is one or more 7-character values back to back; the runner
# splits them with the same pattern (extract_current_values).
_VALUE = re.compile(r"(\d{4})([+-])(\d{2})")
_DATA_LINE = re.compile(r"(?:\d{4}[+-]\d{2})+")
_TIMESTAMP = re.compile(r"TimeStamp:\s*[ ><]?(\d+)s (\d+)ms, buff (\d+)%")
# The runner matches `event (\d+) ris` although it configures `eventsrc d7
# fal`; the edge reported is the configured one, so accept either spelling.
_EVENT = re.compile(r"event (\d+) (ris|fal)\w*")
# What a sample that is not a valid one looks like during an acquisition: a number in another
# form (a sign in front, a decimal point, an exponent in e-notation) or a non-number (nan, inf).
# Energy per sample is never negative and never infinite: such a line is garbage, not a sample.
_SAMPLE_LIKE = re.compile(r"[-+.\d]|(?i:nan|inf|-?inf)")


def _freq_token(freq) -> str:
    if isinstance(freq, str) and freq in _FREQ_HZ:
        return freq
    hz = int(freq)
    for token, value in _FREQ_HZ.items():
        if value == hz:
            return token
    raise ValueError(f"LPM01A sampling frequency {freq!r} is not one of {sorted(_FREQ_HZ.values())} Hz")


def parse_values(line: str) -> np.ndarray:
    """'6409-07' -> 6.409e-4; several values may share a line."""
    return np.array(
        [int(m) * 10.0 ** (int(e) if s == "+" else -int(e)) for m, s, e in _VALUE.findall(line)],
        dtype=np.float64,
    )


class LPM01A(StreamingMonitor):
    """X-NUCLEO-LPM01A in energy mode, ASCII output, D7 falling edges as events."""

    name = "lpm01a"
    instrument = "X-NUCLEO-LPM01A"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = DEFAULT_BAUD,
        freq: int | str = 1000,
        timeout_s: float = 2.0,
        stop_timeout_s: float = 5.0,
        serial_factory=None,
    ) -> None:
        super().__init__()
        self.port = port
        self.baudrate = baudrate
        self.freq = _freq_token(freq)
        if _FREQ_HZ[self.freq] > _MAX_ASCII_ENERGY_HZ:
            raise ValueError(
                f"LPM01A energy output in ascii_dec streams unlimited acquisitions only up to "
                f"{_MAX_ASCII_ENERGY_HZ} Hz (UM2269); {self.freq} asked"
            )
        self.timeout_s = timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._serial_factory = serial_factory
        self._ser = None
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._replies: collections.deque[str] = collections.deque()
        self._acquiring = False
        self._voltage_v: float | None = None
        self._last_ts: tuple[float, int] | None = None
        self.board_id: str | None = None
        self.version: str | None = None
        self.messages: list[str] = []  # free text the instrument sent, for the log

    # -- connection ------------------------------------------------------------
    def open(self) -> None:
        if self._ser is not None:
            return
        factory = self._serial_factory
        if factory is None:
            import serial  # pyserial: a core dependency of tinyrig

            factory = serial.serial_for_url
        try:
            # A short read timeout keeps the reader thread responsive to close().
            self._ser = factory(self.port, baudrate=self.baudrate, timeout=0.05, write_timeout=self.timeout_s)
        except Exception as exc:  # pyserial raises SerialException/OSError/ValueError
            raise DeviceVanishedError(
                "cannot open the serial port", instrument=self.instrument, port=self.port,
                expected="a PowerShield virtual COM port", seen=f"{type(exc).__name__}: {exc}",
            ) from exc
        self._closing.clear()
        self._reader = threading.Thread(target=self._read_loop, name=f"lpm01a-{self.port}", daemon=True)
        self._reader.start()
        self._command("htc")
        ok, payload = self._command("powershield")
        self.board_id = payload or None
        _, self.version = self._command("version")

    def close(self) -> None:
        if self._ser is None:
            return
        try:
            if self._running:
                try:
                    self.stop()
                except PowerMonitorError:
                    pass
            if self._error is None:
                # As the runner's tear_down: unpower the DUT, hand control back.
                for cmd in ("pwr off", "hrc"):
                    try:
                        self._command(cmd, timeout_s=min(self.timeout_s, 1.0))
                    except PowerMonitorError:
                        break
        finally:
            self._closing.set()
            if self._reader is not None:
                self._reader.join(timeout=2.0)
            try:
                self._ser.close()
            except Exception:
                pass
            self._ser = None
            self._reader = None

    # -- configuration ---------------------------------------------------------
    def configure(self, voltage_v: float, **options) -> None:
        """Energy output, ASCII, `freq`, infinite acquisition, software trigger.

        The order and values are the MLPerf Tiny runner's setup(); `eventsrc
        d7 fal` makes the timestamp pin's falling edges appear as event lines.
        """
        if options:
            raise TypeError(f"LPM01A.configure: unknown options {sorted(options)}")
        for cmd in (
            "acqtime inf",
            "trigdelay 0",
            "trigsrc sw",
            "eventsrc d7 fal",
            "output energy",
            "format ascii_dec",
            f"freq {self.freq}",
            f"volt {int(round(voltage_v * 1000))}m",
        ):
            self._command(cmd)
        self._voltage_v = voltage_v

    def set_dut_power(self, on: bool) -> None:
        self._command("pwr on nostatus" if on else "pwr off")

    # -- acquisition -------------------------------------------------------------
    def start(self) -> None:
        if self._voltage_v is None:
            raise PowerMonitorError("start() before configure()", instrument=self.instrument, port=self.port)
        builder = self._new_builder(
            sample_period_s=1.0 / _FREQ_HZ[self.freq], supply_voltage_v=self._voltage_v
        )
        builder.metadata.update(
            instrument=self.instrument, port=self.port, freq=self.freq,
            board_id=self.board_id, version=self.version, unit="J per sample (output energy)",
        )
        self._last_ts = None
        self._acquiring = True
        self._running = True
        try:
            self._command("start")
        except PowerMonitorError:
            self._acquiring = False
            self._running = False
            raise

    def stop(self, *, expect_events: int | None = None) -> PowerTrace:
        if not self._running:
            raise PowerMonitorError("stop() without start()", instrument=self.instrument, port=self.port)
        self._running = False
        try:
            if self._error is None:
                # `stop` is not acked: the instrument flushes its buffer and ends
                # with "Acquisition completed" (runner: PowerManager.stop()).
                self._write("stop")
                finished = self._wait(lambda: self._finished, self.stop_timeout_s)
                if not finished and self._error is None:
                    raise MonitorTimeoutError(
                        f"no end of acquisition within {self.stop_timeout_s:g} s after 'stop'",
                        instrument=self.instrument, port=self.port,
                        expected="a line containing 'Acquisition completed'",
                        seen=f"{self._builder.sample_count} samples and no end marker",
                        partial_trace=self._partial("no end of acquisition"),
                    )
            return self._finish_trace(expect_events)
        finally:
            self._acquiring = False

    # -- serial I/O ------------------------------------------------------------
    def _write(self, line: str) -> None:
        try:
            self._ser.write((line + "\n").encode("ascii"))
            self._ser.flush()
        except Exception as exc:
            err = DeviceVanishedError(
                "write failed", instrument=self.instrument, port=self.port,
                expected=f"to send {line!r}", seen=f"{type(exc).__name__}: {exc}",
            )
            self._fail(err)
            self._raise_stored_error()

    def _command(self, cmd: str, timeout_s: float | None = None) -> tuple[bool, str]:
        """Send one command; return (True, payload) on `ack`, raise otherwise."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        self._raise_stored_error()
        with self._cond:
            self._replies.clear()
        self._write(cmd)
        verb = re.escape(cmd)
        answer = re.compile(rf"^(ack|error)\s+{verb}(?:\s+(.*))?$")
        found: list[re.Match] = []

        def answered() -> bool:
            while self._replies:
                m = answer.match(self._replies.popleft())
                if m:
                    found.append(m)
                    return True
            return False

        if not self._wait(answered, timeout_s):
            self._raise_stored_error()
            raise MonitorTimeoutError(
                f"no answer to {cmd!r} within {timeout_s:g} s",
                instrument=self.instrument, port=self.port,
                expected=f"'ack {cmd}' or 'error {cmd}'", seen="nothing",
            )
        kind, payload = found[0].group(1), (found[0].group(2) or "").strip()
        if kind == "error":
            detail: list[str] = []

            def got_detail() -> bool:
                while self._replies:
                    line = self._replies.popleft()
                    if line.startswith("Error detail"):
                        detail.append(line.partition(":")[2].strip())
                        return True
                return False

            # The detail line follows at once when there is one.
            self._wait(got_detail, 0.5)
            raise CommandRejectedError(
                f"command {cmd!r} rejected", instrument=self.instrument, port=self.port,
                expected=f"'ack {cmd}'", seen=f"'error {cmd}'" + (f" ({detail[0]})" if detail else ""),
            )
        return True, payload

    def _read_loop(self) -> None:
        buf = b""
        while not self._closing.is_set():
            try:
                chunk = self._ser.read(max(1, self._ser.in_waiting))
            except Exception as exc:
                if self._closing.is_set():
                    return
                self._fail(DeviceVanishedError(
                    "the serial port failed", instrument=self.instrument, port=self.port,
                    expected="samples or answers", seen=f"{type(exc).__name__}: {exc}",
                ))
                return
            if not chunk:
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                try:
                    self._handle_line(raw.decode("ascii", errors="replace").strip("\r\n\0 "))
                except PowerMonitorError as err:
                    self._fail(err)
                    return

    def _handle_line(self, line: str) -> None:
        if line.startswith(PROMPT.strip()):
            line = line[len(PROMPT.strip()):].strip()
        if not line:
            return
        b = self._builder
        if self._acquiring and b is not None:
            if _DATA_LINE.fullmatch(line):
                b.add_samples(parse_values(line))
                return
            if _SAMPLE_LIKE.match(line):
                # Starts like a sample but is not one: a corrupted data line, a negative or
                # non-finite value.
                raise GarbledDataError(
                    f"garbled data line {line!r} after {b.sample_count} samples",
                    instrument=self.instrument, port=self.port,
                    expected="values like '6409-07' (4 digits, sign, 2-digit exponent)",
                    seen=repr(line),
                )
            m = _EVENT.fullmatch(line)
            if m:
                b.add_event(b.sample_count * b.sample_period_s, "falling")
                self._notify()
                return
            m = _TIMESTAMP.search(line)
            if m:
                self._check_timestamp(int(m.group(1)) + int(m.group(2)) / 1000, int(m.group(3)))
                return
            if "Acquisition completed" in line:
                self._mark_finished()
                return
        with self._cond:
            self._replies.append(line)
            self.messages.append(line)
            self._cond.notify_all()

    def _check_timestamp(self, t_s: float, buffer_pct: int) -> None:
        """Catch lost samples: between two TimeStamp lines exactly freq*dt arrive."""
        b = self._builder
        if self._last_ts is not None:
            t0, n0 = self._last_ts
            expected = int(round((t_s - t0) * _FREQ_HZ[self.freq]))
            got = b.sample_count - n0
            if got != expected:
                raise GarbledDataError(
                    f"samples lost or duplicated between device timestamps {t0:.3f} s and {t_s:.3f} s",
                    instrument=self.instrument, port=self.port,
                    expected=f"{expected} samples", seen=f"{got}",
                )
        self._last_ts = (t_s, b.sample_count)
        b.metadata["max_buffer_pct"] = max(buffer_pct, b.metadata.get("max_buffer_pct", 0))
