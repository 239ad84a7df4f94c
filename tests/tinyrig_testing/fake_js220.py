"""A fake pyjoulescope_driver.Driver with one simulated JS220 attached.

It implements the part of the Driver API the JS220 driver uses (device_paths,
open, close, publish, subscribe, unsubscribe, finalize) with the real topic
names and payload shapes (see tinyrig/hil/power/joulescope.py for sources):
on s/stats/ctrl=1 a thread plays a scripted 1 MS/s current waveform and
publishes s/stats/value blocks computed from it with numpy, and the GPI0
level as packed uint1 s/gpi/0/!data chunks, both on the 2 MHz sample-id
axis (decimate_factor 2), as the instrument does.
"""

from __future__ import annotations

import threading

import numpy as np

PATH = "u/js220/004079"
SAMPLE_ID_HZ = 2_000_000
DECIMATE = 2  # 1 MS/s output
GPI_CHUNK = 4096  # output samples per GPI message (not a multiple of 8: padding is real)


class FakeDriver:
    def __init__(self, current_a, gpi0, *, voltage_v=1.8, idle_a=1e-3,
                 vanish_at_block=None, garble_at_block=None, stall_at_block=None,
                 first_sample_id=123_456):
        self.current = np.asarray(current_a, dtype=np.float64)
        self.gpi0 = np.asarray(gpi0, dtype=np.uint8)
        self.voltage_v = voltage_v
        self.idle_a = idle_a
        self.vanish_at_block = vanish_at_block
        self.garble_at_block = garble_at_block
        self.stall_at_block = stall_at_block
        self.first_sample_id = first_sample_id
        self.published: list[tuple[str, object]] = []
        self.subs: dict[str, list] = {}
        self.opened: list[str] = []
        self.removed = False
        self.finalized = False
        self.blocks_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.retained: dict[str, object] = {}

    # -- Driver API ----------------------------------------------------------
    def device_paths(self, timeout=None):
        return [] if self.removed else [PATH]

    def open(self, device_prefix, mode=None, timeout=None):
        if self.removed or device_prefix != PATH:
            raise RuntimeError(f"jsdrv_open failed 5 NOT_FOUND | {device_prefix}")
        self.opened.append(device_prefix)

    def close(self, device_prefix, timeout=None):
        self._halt()
        self.opened.remove(device_prefix)

    def finalize(self, timeout=None):
        self._halt()
        self.finalized = True

    def subscribe(self, topic, flags, fn, timeout=None):
        with self._lock:
            self.subs.setdefault(topic, []).append(fn)

    def unsubscribe(self, topic, fn, timeout=None):
        with self._lock:
            if fn in self.subs.get(topic, []):
                self.subs[topic].remove(fn)

    def publish(self, topic, value, timeout=None):
        if self.removed:
            raise RuntimeError(f"jsdrv_publish failed 5 NOT_FOUND | {topic}")
        self.published.append((topic, value))
        self.retained[topic] = value
        if topic == f"{PATH}/s/stats/ctrl":
            if value:
                self._stop.clear()
                self._thread = threading.Thread(target=self._stream, daemon=True)
                self._thread.start()
            else:
                self._halt()

    # -- simulation ------------------------------------------------------------
    def _halt(self):
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _emit(self, topic, value):
        with self._lock:
            fns = list(self.subs.get(topic, []))
        for fn in fns:
            fn(topic, value)

    @property
    def scnt(self) -> int:
        return int(self.retained[f"{PATH}/s/stats/scnt"])

    def expected_block_energy(self) -> np.ndarray:
        """Energy of each scripted statistics block, computed independently."""
        p = self.current * self.voltage_v
        n = p.size // self.scnt
        return p[: n * self.scnt].reshape(n, self.scnt).sum(axis=1) / 1e6

    def _stats(self, sid0, cur):
        v = np.full(cur.size, self.voltage_v)
        p = cur * v
        dt = cur.size / 1e6
        return {
            "time": {
                "samples": {"value": [sid0, sid0 + cur.size * DECIMATE], "units": "samples"},
                "sample_freq": {"value": SAMPLE_ID_HZ, "units": "Hz"},
                "delta": {"value": dt, "units": "s"},
                "decimate_factor": {"value": DECIMATE, "units": "samples"},
            },
            "signals": {
                "current": {"avg": {"value": float(cur.mean()), "units": "A"},
                            "std": {"value": float(cur.std()), "units": "A"},
                            "min": {"value": float(cur.min()), "units": "A"},
                            "max": {"value": float(cur.max()), "units": "A"}},
                "voltage": {"avg": {"value": float(v.mean()), "units": "V"}},
                "power": {"avg": {"value": float(p.mean()), "units": "W"},
                          "integral": {"value": float(p.mean()) * dt, "units": "J"}},
            },
            "accumulators": {"energy": {"value": 0.0, "units": "J"},
                             "charge": {"value": 0.0, "units": "C"}},
        }

    def _stream(self):
        stats_topic = f"{PATH}/s/stats/value"
        gpi_topic = f"{PATH}/s/gpi/0/!data"
        scnt = self.scnt
        pos = 0  # output-sample index
        block = 0
        gpi_pos = 0
        while not self._stop.is_set():
            if self.vanish_at_block is not None and block == self.vanish_at_block:
                self.removed = True
                self._emit("@/!remove", PATH)
                return
            if self.stall_at_block is not None and block >= self.stall_at_block:
                self._stop.wait(5)
                return
            if pos + scnt <= self.current.size:
                cur = self.current[pos : pos + scnt]
            else:
                self._stop.wait(0.001)  # idle after the script: real time-ish
                cur = np.full(scnt, self.idle_a)
            # GPI runs a little ahead of the statistics, as it would over USB.
            while gpi_pos < pos + scnt:
                levels = self.gpi0[gpi_pos : gpi_pos + GPI_CHUNK]
                if levels.size < GPI_CHUNK:
                    levels = np.concatenate([levels, np.ones(GPI_CHUNK - levels.size, np.uint8)])
                self._emit(gpi_topic, {
                    "sample_id": self.first_sample_id + gpi_pos * DECIMATE,
                    "sample_rate": SAMPLE_ID_HZ, "decimate_factor": DECIMATE,
                    "field_id": 5, "index": 0, "element_type": "u1", "element_size_bits": 1,
                    "data": np.packbits(levels, bitorder="little"),
                })
                gpi_pos += GPI_CHUNK
            msg = self._stats(self.first_sample_id + pos * DECIMATE, cur)
            if self.garble_at_block is not None and block == self.garble_at_block:
                del msg["signals"]["power"]
            self._emit(stats_topic, msg)
            self.blocks_sent += 1
            pos += scnt
            block += 1
