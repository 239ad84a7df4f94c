"""Joulescope JS220 through pyjoulescope_driver (pip install pyjoulescope_driver).

The JS220 is an inline meter: it measures the DUT supply, it does not make
it.  It computes statistics on the instrument (s/stats/value: per-block
average current, voltage and power over every 1 MS/s sample, plus charge and
energy accumulators) and samples its general-purpose inputs in lock-step
with current: GPI0 rides in the LSB of each current sample and
pyjoulescope_driver hands it to the host as its own 1-bit stream,
s/gpi/0/!data, on the same sample-id axis.

So the trace is made of instrument statistics (one sample per block, energy
= the block's power integral) and the pin events come from the GPI stream
with 1 µs resolution, found with numpy on whole packed chunks.  No Python
code runs per sample.

Topics and payloads used (pyjoulescope_driver 2.2.12 binding, entry_points
statistics.py and gpi.py, joulescope.v1 js220.py/driver.py):
  publish  s/i/range/mode auto, s/v/range/select "15 V", s/v/range/mode manual,
           s/extio/voltage <mV>, s/stats/scnt <samples at 1 MHz>,
           s/stats/ctrl 1|0, s/gpi/<n>/ctrl 1|0
  subscribe {dev}/s/stats/value   dict: time.samples.value [start, end],
           time.sample_freq.value, signals.power.avg.value, accumulators...
           {dev}/s/gpi/<n>/!data  dict: sample_id, sample_rate,
           decimate_factor, data (uint1 packed 8 per uint8, LSB first)
           @/!remove              device path of an unplugged instrument
"""

from __future__ import annotations

import math

import numpy as np

from ._stream import StreamingMonitor
from .errors import (
    DeviceVanishedError,
    DriverUnavailableError,
    GarbledDataError,
    MonitorTimeoutError,
    PowerMonitorError,
)
from .trace import PowerTrace

# s/extio/voltage choices (joulescope parameters "io_voltage"), in mV.
_IO_MV = (1800, 2100, 2500, 2700, 3000, 3300, 3600, 5000)
_STATS_BASE_HZ = 1_000_000  # s/stats/scnt counts samples at the 1 MHz output rate


def _load_driver():
    try:
        from pyjoulescope_driver import Driver
    except ImportError as exc:
        raise DriverUnavailableError(
            "the pyjoulescope_driver package is not installed",
            instrument="Joulescope JS220",
            expected="`pip install pyjoulescope_driver` (tested with 2.2.12)",
            seen=f"ImportError: {exc}",
        ) from exc
    return Driver()


class JS220(StreamingMonitor):
    name = "js220"
    instrument = "Joulescope JS220"

    def __init__(
        self,
        device: str | None = None,
        *,
        gpi: int = 0,
        stats_rate_hz: int = 1000,
        timeout_s: float = 2.0,
        driver=None,
    ) -> None:
        super().__init__()
        if gpi not in (0, 1):
            raise ValueError(f"JS220 general-purpose inputs are GPI0 and GPI1, not GPI{gpi}")
        if _STATS_BASE_HZ % stats_rate_hz:
            raise ValueError(f"stats_rate_hz must divide {_STATS_BASE_HZ}, got {stats_rate_hz}")
        self.device = device
        self.gpi = gpi
        self.stats_rate_hz = stats_rate_hz
        self.timeout_s = timeout_s
        self._driver = driver
        self._owns_driver = driver is None
        self._voltage_v: float | None = None
        self._subs: list[tuple[str, object]] = []
        self._reset_stream_state()

    def _reset_stream_state(self) -> None:
        self._t0_id: int | None = None  # sample id where the trace starts
        self._fs: float | None = None
        self._next_id: int | None = None  # where the next stats block must start
        self._end_id: int | None = None
        self._gpi_pending = None  # (sample_id, decimate, bits) awaiting its length
        self._gpi_level: int | None = None
        self._edge_ids: list[tuple[int, str]] = []  # edges before t0 is known

    # -- connection ------------------------------------------------------------
    def open(self) -> None:
        if self.port is not None:
            return
        if self._driver is None:
            self._driver = _load_driver()
        paths = [p for p in self._driver.device_paths() if "/js220/" in p.lower()]
        if self.device is not None:
            paths = [p for p in paths if self.device.lower() in p.lower()]
        if len(paths) != 1:
            raise PowerMonitorError(
                "cannot choose a JS220", instrument=self.instrument,
                expected=f"exactly one JS220{' matching ' + repr(self.device) if self.device else ''} attached",
                seen=f"{paths or 'none'}",
            )
        path = paths[0]
        self._subscribe("@/!remove", self._on_remove)
        try:
            self._driver.open(path, "defaults")
        except Exception as exc:
            raise DeviceVanishedError(
                "cannot open the device", instrument=self.instrument, port=path,
                expected="an attached JS220", seen=f"{type(exc).__name__}: {exc}",
            ) from exc
        self.port = path

    def close(self) -> None:
        if self._driver is None:
            return
        try:
            if self._running:
                try:
                    self.stop()
                except PowerMonitorError:
                    pass
            for topic, fn in self._subs:
                try:
                    self._driver.unsubscribe(topic, fn, timeout=0)
                except Exception:
                    pass
            self._subs.clear()
            if self.port is not None and self._error is None:
                try:
                    self._driver.close(self.port)
                except Exception:
                    pass
        finally:
            if self._owns_driver:
                try:
                    self._driver.finalize()
                except Exception:
                    pass
                self._driver = None
            self.port = None

    # -- configuration ---------------------------------------------------------
    def configure(self, voltage_v: float, **options) -> None:
        """Declare the DUT supply (for current and the GPI threshold); auto ranging."""
        if options:
            raise TypeError(f"JS220.configure: unknown options {sorted(options)}")
        io_mv = min(_IO_MV, key=lambda mv: abs(mv - voltage_v * 1000))
        self._publish("s/i/range/mode", "auto")
        self._publish("s/v/range/select", "15 V")
        self._publish("s/v/range/mode", "manual")
        # GPI logic levels follow the EXTIO voltage: match the DUT's I/O.
        self._publish("s/extio/voltage", io_mv)
        self._publish("s/stats/scnt", _STATS_BASE_HZ // self.stats_rate_hz)
        self._voltage_v = voltage_v

    # -- acquisition -------------------------------------------------------------
    def start(self) -> None:
        if self._voltage_v is None:
            raise PowerMonitorError("start() before configure()", instrument=self.instrument, port=self.port)
        b = self._new_builder(sample_period_s=1.0 / self.stats_rate_hz, supply_voltage_v=self._voltage_v)
        b.metadata.update(instrument=self.instrument, device=self.port, pin=f"GPI{self.gpi}",
                          unit="J per statistics block (instrument power integral)")
        self._reset_stream_state()
        self._running = True
        self._subscribe(f"{self.port}/s/stats/value", self._on_stats)
        self._subscribe(f"{self.port}/s/gpi/{self.gpi}/!data", self._on_gpi)
        self._publish(f"s/gpi/{self.gpi}/ctrl", 1)
        self._publish("s/stats/ctrl", 1)

    def stop(self, *, expect_events: int | None = None) -> PowerTrace:
        if not self._running:
            raise PowerMonitorError("stop() without start()", instrument=self.instrument, port=self.port)
        self._running = False
        if self._error is None:
            try:
                self._publish("s/stats/ctrl", 0)
                self._publish(f"s/gpi/{self.gpi}/ctrl", 0)
            except PowerMonitorError:
                pass
        for topic in (f"{self.port}/s/stats/value", f"{self.port}/s/gpi/{self.gpi}/!data"):
            self._unsubscribe(topic)
        # The last GPI chunk's length is bounded by the last statistics block.
        self._flush_gpi(self._end_id)
        if self._error is None and self._builder.sample_count == 0:
            self._fail(MonitorTimeoutError(
                "no statistics arrived", instrument=self.instrument, port=self.port,
                expected=f"s/stats/value at {self.stats_rate_hz} Hz", seen="none",
            ))
        return self._finish_trace(expect_events)

    # -- driver plumbing ---------------------------------------------------------
    def _publish(self, topic: str, value) -> None:
        full = f"{self.port}/{topic}"
        try:
            self._driver.publish(full, value, timeout=self.timeout_s)
        except Exception as exc:
            err = DeviceVanishedError(
                f"publish {topic} failed", instrument=self.instrument, port=self.port,
                expected=f"{topic} = {value!r} accepted", seen=f"{type(exc).__name__}: {exc}",
            )
            self._fail(err)
            self._raise_stored_error()

    def _subscribe(self, topic: str, fn) -> None:
        self._driver.subscribe(topic, "pub", fn, timeout=self.timeout_s)
        self._subs.append((topic, fn))

    def _unsubscribe(self, topic: str) -> None:
        for t, fn in list(self._subs):
            if t == topic:
                try:
                    self._driver.unsubscribe(t, fn, timeout=0)
                except Exception:
                    pass
                self._subs.remove((t, fn))

    # -- callbacks (driver thread) -----------------------------------------------
    def _on_remove(self, topic, value) -> None:
        if self.port is not None and str(value).rstrip("/") == self.port:
            self._fail(DeviceVanishedError(
                "the device was removed", instrument=self.instrument, port=self.port,
                expected="statistics and GPI data", seen=f"{topic} {value}",
            ))

    def _on_stats(self, topic, value) -> None:
        if not self._running or self._error is not None:
            return
        b = self._builder
        try:
            s0, s1 = (int(x) for x in value["time"]["samples"]["value"])
            fs = float(value["time"]["sample_freq"]["value"])
            p_avg = float(value["signals"]["power"]["avg"]["value"])
        except (KeyError, TypeError, ValueError) as exc:
            self._fail(GarbledDataError(
                f"malformed statistics message after {b.sample_count} blocks",
                instrument=self.instrument, port=self.port,
                expected="time.samples, time.sample_freq, signals.power.avg",
                seen=f"{type(exc).__name__}: {exc}",
            ))
            return
        dt = (s1 - s0) / fs
        problem = None
        if not math.isfinite(p_avg):
            problem = ("a finite average power", repr(p_avg))
        elif not math.isclose(dt, b.sample_period_s, rel_tol=1e-9):
            problem = (f"{b.sample_period_s:g} s blocks", f"{dt:g} s")
        elif self._next_id is not None and s0 != self._next_id:
            problem = (f"block starting at sample {self._next_id}", f"{s0} ({(s0 - self._next_id) / fs:g} s gap)")
        if problem:
            self._fail(GarbledDataError(
                f"bad statistics block after {b.sample_count} blocks", instrument=self.instrument,
                port=self.port, expected=problem[0], seen=problem[1],
            ))
            return
        if self._t0_id is None:
            self._t0_id, self._fs = s0, fs
        self._next_id = self._end_id = s1
        b.add_samples(np.array([p_avg * dt]))
        self._flush_edges()

    def _on_gpi(self, topic, value) -> None:
        if not self._running or self._error is not None:
            return
        try:
            sid = int(value["sample_id"])
            decimate = int(value.get("decimate_factor") or 1)
            bits = np.unpackbits(np.asarray(value["data"], dtype=np.uint8), bitorder="little")
        except (KeyError, TypeError, ValueError) as exc:
            self._fail(GarbledDataError(
                "malformed GPI message", instrument=self.instrument, port=self.port,
                expected="sample_id, decimate_factor and packed uint1 data", seen=f"{type(exc).__name__}: {exc}",
            ))
            return
        # A uint1 payload is padded to whole bytes and carries no count, so a
        # chunk's length is known only when the next one starts.
        self._flush_gpi(sid)
        self._gpi_pending = (sid, decimate, bits)

    def _flush_gpi(self, until_id: int | None) -> None:
        pending, self._gpi_pending = self._gpi_pending, None
        if pending is None or until_id is None:
            return
        sid, decimate, bits = pending
        n = max(0, min(bits.size, (until_id - sid) // decimate))
        level = bits[:n].astype(np.int8)
        if n == 0:
            return
        prev = level[0] if self._gpi_level is None else self._gpi_level
        change = np.diff(np.concatenate(([prev], level)))
        for k in np.flatnonzero(change):
            self._edge_ids.append((sid + int(k) * decimate, "falling" if change[k] < 0 else "rising"))
        self._gpi_level = int(level[-1])
        self._flush_edges()

    def _flush_edges(self) -> None:
        if self._t0_id is None or not self._edge_ids:
            return
        b = self._builder
        falling = False
        for sid, edge in self._edge_ids:
            if sid >= self._t0_id:  # edges before the first block are outside the trace
                b.add_event((sid - self._t0_id) / self._fs, edge)
                falling |= edge == "falling"
        self._edge_ids.clear()
        if falling:
            self._notify()
