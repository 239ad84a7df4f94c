"""PowerTrace: the instrument-neutral record of one power measurement.

Everything that produces power data in tinyrig (the LPM01A, JS220 and PPK2
drivers here, and the emulated energy model) produces this one type, so
everything that consumes it (energy windows, CSV, plots) is written once.

Canonical unit: **energy per sample, in joules**.  Why energy rather than
current: the MLPerf Tiny figure is a sum of energy, the reference instrument
(LPM01A in ``output energy`` mode) already integrates on-board, the JS220
reports per-block energy from its own accumulators, and summing joules is
exact where ``I * V * dt`` would assume a constant supply.  Current is
derived (``current_a``) from the nominal supply voltage for plotting.

Time base: sample ``i`` covers ``[i * T, (i + 1) * T)`` seconds from the start
of the trace, ``T`` being ``sample_period_s``.  A pin event at time ``t``
lies on that axis; instruments that see the edge between samples ``k - 1``
and ``k`` record it at ``t = k * T``, so the window between two such events
is exactly ``samples[k1:k2]``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from .errors import MissingEventError

Edge = Literal["falling", "rising"]
_CSV_MAGIC = "# tinyrig power trace v1"


@dataclass(frozen=True)
class PinEvent:
    """One edge of the DUT's timestamp pin, on the trace's time axis."""

    time_s: float
    edge: Edge = "falling"

    def __post_init__(self) -> None:
        if self.edge not in ("falling", "rising"):
            raise ValueError(f"edge must be 'falling' or 'rising', not {self.edge!r}")


@dataclass(frozen=True)
class EnergyWindow:
    """The energy between two timestamp-pin edges (the MLPerf Tiny window)."""

    start_s: float
    end_s: float
    energy_j: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def average_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else math.nan

    def per_inference_j(self, inferences: int) -> float:
        if inferences <= 0:
            raise ValueError(f"inference count must be > 0, got {inferences}")
        return self.energy_j / inferences


@dataclass
class PowerTrace:
    """Samples of one supply, plus the timestamp-pin events seen against them.

    ``complete`` is False for a run that died part-way (the samples up to the
    failure are kept); ``error`` then says why.
    """

    sample_period_s: float
    supply_voltage_v: float
    energy_j: np.ndarray
    events: list[PinEvent] = field(default_factory=list)
    source: str = "unknown"
    metadata: dict = field(default_factory=dict)
    complete: bool = True
    error: str | None = None

    def __post_init__(self) -> None:
        self.energy_j = np.asarray(self.energy_j, dtype=np.float64).reshape(-1)
        if not (self.sample_period_s > 0):
            raise ValueError(f"sample_period_s must be > 0, got {self.sample_period_s}")
        self.events = sorted(self.events, key=lambda e: e.time_s)

    # -- construction ------------------------------------------------------
    @classmethod
    def from_current(
        cls,
        current_a: Iterable[float],
        *,
        sample_period_s: float,
        supply_voltage_v: float,
        **kwargs,
    ) -> "PowerTrace":
        """Build from current samples at a constant supply (E = I * V * T)."""
        cur = np.asarray(current_a, dtype=np.float64)
        return cls(
            sample_period_s=sample_period_s,
            supply_voltage_v=supply_voltage_v,
            energy_j=cur * supply_voltage_v * sample_period_s,
            **kwargs,
        )

    # -- derived views -----------------------------------------------------
    def __len__(self) -> int:
        return int(self.energy_j.size)

    @property
    def duration_s(self) -> float:
        return len(self) * self.sample_period_s

    @property
    def times_s(self) -> np.ndarray:
        """Start time of each sample."""
        return np.arange(len(self)) * self.sample_period_s

    @property
    def current_a(self) -> np.ndarray:
        """Mean current of each sample at the nominal supply voltage."""
        if self.supply_voltage_v <= 0:
            raise ValueError("current needs a positive supply voltage")
        return self.energy_j / (self.supply_voltage_v * self.sample_period_s)

    @property
    def power_w(self) -> np.ndarray:
        return self.energy_j / self.sample_period_s

    @property
    def total_energy_j(self) -> float:
        return float(self.energy_j.sum())

    def falling_edges(self) -> list[PinEvent]:
        return [e for e in self.events if e.edge == "falling"]

    # -- energy --------------------------------------------------------------
    def energy_between(self, t0_s: float, t1_s: float) -> float:
        """Energy in [t0, t1), prorating the samples cut by either bound.

        Bounds on sample boundaries (which is where instruments put pin
        events) give an exact sum of whole samples; a bound inside a sample
        takes the covered fraction of it, i.e. assumes constant power over
        one sample period, the finest the instrument resolved anyway.
        """
        if t1_s < t0_s:
            raise ValueError(f"window end {t1_s} s is before its start {t0_s} s")
        n = len(self)
        if n == 0:
            return 0.0
        period = self.sample_period_s
        # Clamp to the recorded span: energy outside it was not measured.
        t0 = min(max(t0_s, 0.0), n * period)
        t1 = min(max(t1_s, 0.0), n * period)
        x0, x1 = t0 / period, t1 / period
        # Snap positions within float noise of a boundary onto it, so that an
        # event recorded as k * T selects exactly sample k.
        x0 = _snap(x0)
        x1 = _snap(x1)
        i0, i1 = int(math.floor(x0)), int(math.floor(x1))
        if i0 == i1:
            return float(self.energy_j[min(i0, n - 1)] * (x1 - x0)) if i0 < n else 0.0
        total = float(self.energy_j[i0 + 1 : i1].sum()) if i1 > i0 + 1 else 0.0
        total += float(self.energy_j[i0] * (i0 + 1 - x0))
        if i1 < n:
            total += float(self.energy_j[i1] * (x1 - i1))
        return total

    def energy_window(self) -> EnergyWindow:
        """The MLPerf Tiny window: between the last two falling edges."""
        falling = self.falling_edges()
        if len(falling) < 2:
            seen = ", ".join(f"{e.time_s:.6g} s" for e in falling) or "none"
            raise MissingEventError(
                "cannot take the energy window",
                instrument=self.source,
                expected="at least 2 falling edges of the timestamp pin",
                seen=f"{len(falling)} ({seen})",
                partial_trace=self,
            )
        start, end = falling[-2].time_s, falling[-1].time_s
        return EnergyWindow(start, end, self.energy_between(start, end))

    # -- partial traces --------------------------------------------------------
    def as_partial(self, error: str) -> "PowerTrace":
        """A copy marked incomplete, for err.partial_trace."""
        return PowerTrace(
            sample_period_s=self.sample_period_s,
            supply_voltage_v=self.supply_voltage_v,
            energy_j=self.energy_j.copy(),
            events=list(self.events),
            source=self.source,
            metadata=dict(self.metadata),
            complete=False,
            error=error,
        )

    # -- CSV -------------------------------------------------------------------
    def to_csv(self, path: str | Path | None = None) -> str:
        """Write (and return) CSV: '#' header lines, then one row per sample.

        Header lines carry what a bare sample table cannot: period, voltage,
        source, completeness, metadata (JSON) and one line per pin event.
        Floats are written with repr() so a read-back is bit-exact.
        """
        out = io.StringIO()
        out.write(_CSV_MAGIC + "\n")
        out.write(f"# source: {self.source}\n")
        out.write(f"# sample_period_s: {self.sample_period_s!r}\n")
        out.write(f"# supply_voltage_v: {self.supply_voltage_v!r}\n")
        out.write(f"# complete: {str(self.complete).lower()}\n")
        if self.error is not None:
            out.write(f"# error: {json.dumps(self.error)}\n")
        out.write(f"# metadata: {json.dumps(self.metadata, sort_keys=True, default=str)}\n")
        for ev in self.events:
            out.write(f"# event: {ev.time_s!r},{ev.edge}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["index", "time_s", "energy_j", "current_a"])
        cur = self.current_a if self.supply_voltage_v > 0 else np.full(len(self), np.nan)
        t = self.times_s
        for i in range(len(self)):
            writer.writerow([i, repr(float(t[i])), repr(float(self.energy_j[i])), repr(float(cur[i]))])
        text = out.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_csv(cls, source: str | Path) -> "PowerTrace":
        """Read a trace written by to_csv (a path, or the CSV text itself)."""
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
            text = Path(source).read_text(encoding="utf-8")
        else:
            text = source
        lines = text.splitlines()
        if not lines or lines[0].strip() != _CSV_MAGIC:
            raise ValueError(f"not a tinyrig power trace CSV (first line {lines[0]!r} if any)")
        header: dict[str, str] = {}
        events: list[PinEvent] = []
        body_start = len(lines)
        for n, line in enumerate(lines[1:], start=1):
            if not line.startswith("#"):
                body_start = n
                break
            key, _, value = line[1:].strip().partition(": ")
            if key == "event":
                t, _, edge = value.partition(",")
                events.append(PinEvent(float(t), edge))  # type: ignore[arg-type]
            else:
                header[key] = value
        rows = list(csv.reader(lines[body_start + 1 :]))
        energy = np.array([float(r[2]) for r in rows if r], dtype=np.float64)
        return cls(
            sample_period_s=float(header["sample_period_s"]),
            supply_voltage_v=float(header["supply_voltage_v"]),
            energy_j=energy,
            events=events,
            source=header.get("source", "unknown"),
            metadata=json.loads(header.get("metadata", "{}")),
            complete=header.get("complete", "true") == "true",
            error=json.loads(header["error"]) if "error" in header else None,
        )


def _snap(x: float) -> float:
    r = round(x)
    return float(r) if abs(x - r) <= 1e-9 * max(1.0, abs(x)) else x


class TraceBuilder:
    """Accumulates chunks of samples and events while a driver streams.

    Drivers append from a reader thread; ``snapshot()`` may be called from
    another thread at any time (that is how errors get their partial trace),
    so appends and snapshots take a lock.
    """

    def __init__(self, *, sample_period_s: float, supply_voltage_v: float, source: str) -> None:
        import threading

        self.sample_period_s = sample_period_s
        self.supply_voltage_v = supply_voltage_v
        self.source = source
        self.metadata: dict = {}
        self._chunks: list[np.ndarray] = []
        self._count = 0
        self._events: list[PinEvent] = []
        self._lock = threading.Lock()

    @property
    def sample_count(self) -> int:
        return self._count

    @property
    def event_count(self) -> int:
        return len(self._events)

    def add_samples(self, energy_j: np.ndarray) -> None:
        arr = np.asarray(energy_j, dtype=np.float64).reshape(-1)
        if arr.size == 0:
            return
        with self._lock:
            self._chunks.append(arr)
            self._count += arr.size

    def add_event(self, time_s: float, edge: Edge = "falling") -> None:
        with self._lock:
            self._events.append(PinEvent(float(time_s), edge))

    def snapshot(self, *, complete: bool = True, error: str | None = None) -> PowerTrace:
        with self._lock:
            energy = np.concatenate(self._chunks) if self._chunks else np.zeros(0)
            events = list(self._events)
            meta = dict(self.metadata)
        return PowerTrace(
            sample_period_s=self.sample_period_s,
            supply_voltage_v=self.supply_voltage_v,
            energy_j=energy,
            events=events,
            source=self.source,
            metadata=meta,
            complete=complete,
            error=error,
        )
