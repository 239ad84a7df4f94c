"""Nordic Power Profiler Kit II through ``ppk2-api`` (pip install ppk2-api).

What the wire carries (ppk2-api 0.9.2 ppk2_api.py, which follows Nordic's
pc-nrfconnect-ppk serialDevice):
  * host -> device single-byte opcodes with arguments: 0x19 metadata,
    0x11 power mode (1 ampere meter, 2 source meter), 0x0d regulator mV,
    0x0c DUT power, 0x06 start, 0x07 stop.  No acknowledgements.
  * metadata: "NAME: VALUE" lines ending with "END" (calibration R0..R4,
    GS, GI, O, S, I, UG per range, HW, IA).
  * samples: 100 kS/s, 4 bytes little-endian each:
      bits  0..13 ADC value (x4), 14..16 current range (clamped to 4),
      18..23 a 6-bit sample counter (pc-nrfconnect-ppk MEAS_COUNTER),
      24..31 the logic inputs D0..D7.

ppk2-api does the device control and reads the metadata into its
``modifiers``.  Samples are decoded here with numpy, with ppk2-api's own
calibration formula (get_adc_result) vectorised, because its per-sample
Python loop cannot keep up with 100 kS/s.  ppk2-api's spike filter (a display
smoothing after range switches) is not applied: it redistributes charge
across a few samples and is not part of the instrument's measurement.  The
counter, which ppk2-api ignores, is checked so a lost or corrupted byte
shows up as an error instead of a silently shifted stream.
"""

from __future__ import annotations

import threading

import numpy as np

from ._stream import StreamingMonitor
from .errors import (
    CommandRejectedError,
    DeviceVanishedError,
    DriverUnavailableError,
    GarbledDataError,
    MonitorTimeoutError,
    PowerMonitorError,
)
from .trace import PowerTrace

SAMPLE_RATE_HZ = 100_000
ADC_MULT = 1.8 / 163840  # ppk2-api PPK2_API.adc_mult
_RANGES = 5


def _load_api():
    try:
        from ppk2_api.ppk2_api import PPK2_API
    except ImportError as exc:
        raise DriverUnavailableError(
            "the ppk2-api package is not installed",
            instrument="Nordic PPK2",
            expected="`pip install ppk2-api` (tested with 0.9.2)",
            seen=f"ImportError: {exc}",
        ) from exc
    return PPK2_API


def calibration_arrays(modifiers: dict, vdd_mv: float) -> dict[str, np.ndarray]:
    """ppk2-api ``modifiers`` -> one float array per coefficient, indexed by range."""
    out = {}
    for key in ("R", "GS", "GI", "O", "S", "I", "UG"):
        out[key] = np.array([float(modifiers[key][str(r)]) for r in range(_RANGES)])
    out["vdd_v"] = np.float64(vdd_mv / 1000.0)
    return out


def decode_words(words: np.ndarray, cal: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint32 sample words -> (current in A, logic byte, 6-bit counter).

    The current formula is ppk2-api's get_adc_result without spike filtering.
    """
    words = words.astype(np.uint32, copy=False)
    rng = np.minimum((words >> 14) & 0x7, _RANGES - 1)
    adc = (words & 0x3FFF).astype(np.float64) * 4
    r, gs, gi, o, s, i, ug = (cal[k][rng] for k in ("R", "GS", "GI", "O", "S", "I", "UG"))
    without_gain = (adc - o) * (ADC_MULT / r)
    current = ug * (without_gain * (gs * without_gain + gi) + (s * cal["vdd_v"] + i))
    return current, ((words >> 24) & 0xFF).astype(np.uint8), ((words >> 18) & 0x3F).astype(np.uint8)


class PPK2(StreamingMonitor):
    """PPK2 as source meter (it powers the DUT) or ampere meter, one logic pin as the timestamp."""

    name = "ppk2"
    instrument = "Nordic PPK2"

    def __init__(
        self,
        port: str | None = None,
        *,
        pin: int = 0,
        mode: str = "source",
        timeout_s: float = 2.0,
        quiet_s: float = 0.1,
        api_class=None,
    ) -> None:
        super().__init__()
        if not 0 <= pin <= 7:
            raise ValueError(f"PPK2 logic inputs are D0..D7, not D{pin}")
        if mode not in ("source", "ampere"):
            raise ValueError(f"PPK2 mode is 'source' or 'ampere', not {mode!r}")
        self.port = port
        self.pin = pin
        self.mode = mode
        self.timeout_s = timeout_s
        self.quiet_s = quiet_s  # silence that ends the stream after stop (no end marker exists)
        self._api_class = api_class
        self._ppk = None
        self._vdd_mv: int | None = None
        self._cal: dict | None = None
        self._reader: threading.Thread | None = None
        self._stop_requested = threading.Event()
        # decoder state across chunks
        self._rest = b""
        self._counter: int | None = None
        self._level: int | None = None

    # -- connection ------------------------------------------------------------
    def open(self) -> None:
        if self._ppk is not None:
            return
        api = self._api_class or _load_api()
        if self.port is None:
            found = api.list_devices()
            if len(found) != 1:
                raise PowerMonitorError(
                    "cannot choose a PPK2 port", instrument=self.instrument,
                    expected="exactly one PPK2 attached (or port=...)", seen=f"{found or 'none'}",
                )
            self.port = found[0]
        try:
            self._ppk = api(self.port, timeout=0.05, write_timeout=self.timeout_s)
        except Exception as exc:
            raise DeviceVanishedError(
                "cannot open the serial port", instrument=self.instrument, port=self.port,
                expected="a PPK2 CDC ACM port", seen=f"{type(exc).__name__}: {exc}",
            ) from exc
        # ppk2-api reads for ~0.5 s and returns None if no "END" came. It decodes whatever came as
        # UTF-8 and parses floats from it unguarded: a port that is not a PPK2 (line noise, another
        # device) makes it raise, which is the same answer: no calibration metadata.
        try:
            modifiers = self._ppk.get_modifiers()
        except (UnicodeDecodeError, ValueError, IndexError, KeyError, TypeError) as exc:
            self._close_port()
            raise GarbledDataError(
                "the answer to the metadata request is not PPK2 metadata (is this port a PPK2?)",
                instrument=self.instrument, port=self.port,
                expected="'NAME: VALUE' text lines ending with END", seen=f"{type(exc).__name__}: {exc}",
            ) from None
        if not modifiers:
            self._close_port()
            raise MonitorTimeoutError(
                "no calibration metadata", instrument=self.instrument, port=self.port,
                expected="'NAME: VALUE' lines ending with END after command 0x19", seen="none",
            )

    def _close_port(self) -> None:
        if self._ppk is not None:
            try:
                self._ppk.ser.close()
            except Exception:
                pass
            self._ppk = None

    def close(self) -> None:
        if self._ppk is None:
            return
        try:
            if self._running:
                try:
                    self.stop()
                except PowerMonitorError:
                    pass
        finally:
            self._stop_requested.set()
            if self._reader is not None:
                self._reader.join(timeout=2.0)
                self._reader = None
            self._close_port()

    # -- configuration ---------------------------------------------------------
    def configure(self, voltage_v: float, **options) -> None:
        """Source mode: the PPK2 supplies voltage_v to the DUT; ampere mode:
        voltage_v declares the external supply (ppk2-api needs it either way)."""
        if options:
            raise TypeError(f"PPK2.configure: unknown options {sorted(options)}")
        mv = int(round(voltage_v * 1000))
        if not 800 <= mv <= 5000:
            raise CommandRejectedError(
                "supply voltage out of range", instrument=self.instrument, port=self.port,
                expected="800..5000 mV", seen=f"{mv} mV",
            )
        self._require_open()
        if self.mode == "source":
            self._ppk.use_source_meter()
        else:
            self._ppk.use_ampere_meter()
        self._ppk.set_source_voltage(mv)
        self._vdd_mv = mv
        self._cal = calibration_arrays(self._ppk.modifiers, mv)

    def set_dut_power(self, on: bool) -> None:
        self._require_open()
        if self.mode != "source":
            super().set_dut_power(on)
        self._ppk.toggle_DUT_power("ON" if on else "OFF")

    def _require_open(self) -> None:
        if self._ppk is None:
            raise PowerMonitorError("not open", instrument=self.instrument, port=self.port)

    # -- acquisition -------------------------------------------------------------
    def start(self) -> None:
        if self._cal is None:
            raise PowerMonitorError("start() before configure()", instrument=self.instrument, port=self.port)
        b = self._new_builder(sample_period_s=1.0 / SAMPLE_RATE_HZ, supply_voltage_v=self._vdd_mv / 1000)
        b.metadata.update(
            instrument=self.instrument, port=self.port, mode=self.mode, pin=f"D{self.pin}",
            hw=self._ppk.modifiers.get("HW"), calibrated=self._ppk.modifiers.get("Calibrated"),
        )
        self._rest, self._counter, self._level = b"", None, None
        self._stop_requested.clear()
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name=f"ppk2-{self.port}", daemon=True)
        self._reader.start()
        self._ppk.start_measuring()

    def stop(self, *, expect_events: int | None = None) -> PowerTrace:
        if not self._running:
            raise PowerMonitorError("stop() without start()", instrument=self.instrument, port=self.port)
        self._running = False
        self._ppk.stop_measuring()
        self._stop_requested.set()
        # The PPK2 has no end-of-stream marker: the stream is over when it has
        # been quiet for quiet_s after the stop opcode.
        if not self._wait(lambda: self._finished, self.timeout_s) and self._error is None:
            self._fail(MonitorTimeoutError(
                f"still streaming {self.timeout_s:g} s after the stop command",
                instrument=self.instrument, port=self.port,
                expected=f"silence for {self.quiet_s:g} s after opcode 0x07", seen="more samples",
            ))
        if self._reader is not None:
            self._reader.join(timeout=2.0)
            self._reader = None
        return self._finish_trace(expect_events)

    def _read_loop(self) -> None:
        ser = self._ppk.ser
        quiet_reads = 0
        while True:
            try:
                first = ser.read(1)  # blocks up to the port timeout
                data = first + (self._ppk.get_data() if first else b"")
            except Exception as exc:
                if self._ppk is None:
                    return
                self._fail(DeviceVanishedError(
                    "the serial port failed", instrument=self.instrument, port=self.port,
                    expected="4-byte samples", seen=f"{type(exc).__name__}: {exc}",
                ))
                return
            if data:
                quiet_reads = 0
                try:
                    self._consume(data)
                except PowerMonitorError as err:
                    self._fail(err)
                    return
            elif self._stop_requested.is_set():
                quiet_reads += 1
                if quiet_reads * 0.05 >= self.quiet_s:
                    self._mark_finished()
                    return
            if self._error is not None:
                return

    def _consume(self, data: bytes) -> None:
        b = self._builder
        buf = self._rest + data
        n = len(buf) // 4
        self._rest = buf[n * 4 :]
        if n == 0:
            return
        words = np.frombuffer(buf[: n * 4], dtype="<u4")
        current, logic, counter = decode_words(words, self._cal)

        # Counter: +1 per sample modulo 64.  A break means lost or shifted bytes.
        prev = (int(counter[0]) - 1) & 0x3F if self._counter is None else self._counter
        steps = (np.diff(np.concatenate(([prev], counter)).astype(np.int16)) & 0x3F)
        bad = np.flatnonzero(steps != 1)
        good = n if bad.size == 0 else int(bad[0])
        base = b.sample_count
        self._add(current[:good], logic[:good], base)
        if bad.size:
            expected = (int(counter[good - 1]) + 1) & 0x3F if good else (prev + 1) & 0x3F
            raise GarbledDataError(
                f"sample counter broke after {base + good} samples (lost or corrupted bytes)",
                instrument=self.instrument, port=self.port,
                expected=f"counter {expected}", seen=f"{int(counter[good])}",
            )
        self._counter = int(counter[-1])

    def _add(self, current: np.ndarray, logic: np.ndarray, base: int) -> None:
        if current.size == 0:
            return
        b = self._builder
        level = ((logic >> self.pin) & 1).astype(np.int8)
        prev = level[0] if self._level is None else self._level
        change = np.diff(np.concatenate(([prev], level)))
        # An edge between samples k-1 and k is at time k*T (trace.py's convention).
        for k in np.flatnonzero(change):
            b.add_event((base + int(k)) * b.sample_period_s, "falling" if change[k] < 0 else "rising")
        self._level = int(level[-1])
        b.add_samples(current * (self._vdd_mv / 1000.0) / SAMPLE_RATE_HZ)
        if np.any(change < 0):
            self._notify()
