"""Where energy mode gets its power traces: a model of the board under emulation, or a real monitor.

Both give a `PowerTrace` per window with the timestamp pin's edges on its time axis; energy mode
does not know which one it has.

The emulated model
------------------
Under QEMU tinyrig's plugin logs the exact instruction count at every store to the timestamp
pin (a `timestamp` in energy mode is a low pulse: a store of the low level, then of the idle
level), and with the cycle model (on by default, docs/cycle-model.md) the estimated cycles so far.
Time comes from a documented clock model: **estimated cycles at the board's clock**
(`boards/<board>.toml` `clock_hz`), so t = cycles / clock_hz; a run without the cycle model
(`--no-cycles`) falls back to one instruction per cycle, t = instructions / clock_hz. Power comes from the
board's power model (`[power]`: supply voltage and active current, with the datasheet each came
from). The firmware never sleeps (between commands it polls the UART, as the reference firmware
does), so the core draws its active current throughout; the trace is sampled at 1 kHz like the
LPM01A, or finer when the window is short, so it always has at least 1000 samples in the window.
Same firmware, same input: the same trace, bit for bit, on any host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from tinyrig.boards import Board
from tinyrig.hil.targets.pinwatch import MarkerStore
from tinyrig.hil.instruments.errors import MissingEventError
from tinyrig.hil.instruments.monitor import PowerMonitor
from tinyrig.hil.instruments.trace import PinEvent, PowerTrace

CLOCK_MODEL = ("estimated cycles (tinyrig's cycle model: the core's documented timing and the board's flash wait "
               "states) at the board clock")
INSTRUCTION_CLOCK_MODEL = "1 instruction per cycle at the board clock (run without the cycle model)"


class TraceSource(Protocol):
    name: str

    def begin_window(self) -> None: ...

    def end_window(self) -> PowerTrace: ...


@dataclass
class EmulatedPowerModel:
    board: Board
    read_pin_stores: Callable[[], list[MarkerStore]]
    pulse_range: tuple[int, int]  # [lo, hi) of board_pin_pulse: the stores that are pin edges
    name: str = "emulated"
    cycles: bool = True  # the target's stores carry estimated cycles (QemuTarget with a cycle model)

    @property
    def clock_model(self) -> str:
        return CLOCK_MODEL if self.cycles else INSTRUCTION_CLOCK_MODEL

    def begin_window(self) -> None:
        self.read_pin_stores()  # forget stores from before this window

    def end_window(self) -> PowerTrace:
        lo, hi = self.pulse_range
        stores = [s for s in self.read_pin_stores() if lo <= s.pc < hi]
        idle_high = self.board.timestamp_pin.idle == "high"
        if len(stores) % 2:
            raise MissingEventError("odd number of timestamp-pin stores", instrument="QEMU pinwatch",
                                    expected="pairs (pulse start, pulse end)", seen=str(len(stores)))
        if self.cycles and any(s.cycles is None for s in stores):
            raise MissingEventError("timestamp-pin stores without estimated cycles", instrument="QEMU pinwatch",
                                    expected="cycles at every store (the target's cycle model)", seen="instructions only")
        # Each timestamp is a pulse: the first store leaves the idle level, the second returns.
        edges: list[tuple[int, str]] = []
        for first, second in zip(stores[0::2], stores[1::2]):
            edges.append((self._count(first), "falling" if idle_high else "rising"))
            edges.append((self._count(second), "rising" if idle_high else "falling"))
        if len(edges) < 4:
            raise MissingEventError("too few timestamp pulses in the window", instrument="QEMU pinwatch",
                                    expected="2 pulses (start and end of the timed loop)", seen=str(len(edges) // 2))
        return self.trace_from_edges(edges)

    def _count(self, store: MarkerStore) -> int:
        """The store's position on the clock: estimated cycles, or instructions without a cycle model."""
        return store.cycles if self.cycles else store.instructions

    def trace_from_edges(self, edges: list[tuple[int, str]]) -> PowerTrace:
        """A trace from pin edges at cycle counts (or instruction counts, without a cycle model)."""
        clock = float(self.board.clock_hz)
        power = self.board.power
        # Everything is computed from counts relative to the first edge (integers),
        # never from absolute counts, which depend on when the host's bytes arrived at boot: so
        # the same window gives the same floats, bit for bit, in every run.
        first = edges[0][0]
        span_instr = edges[-1][0] - first
        margin_instr = span_instr // 20  # 5% of the span before the first and after the last edge
        span = span_instr / clock
        period = min(1e-3, span / 1000.0) if span > 0 else 1e-3
        samples = int(np.ceil((span_instr + 2 * margin_instr) / clock / period))
        events = [PinEvent((count - first + margin_instr) / clock, edge) for count, edge in edges]
        trace = PowerTrace.from_current(
            np.full(samples, power.active_current_a),
            sample_period_s=period,
            supply_voltage_v=power.supply_v,
            events=events,
            source=f"emulated {self.board.name}",
            metadata={
                "clock_model": self.clock_model,
                "clock_hz": self.board.clock_hz,
                "active_current_a": power.active_current_a,
                "power_model_source": power.source,
                "edge_cycles" if self.cycles else "edge_instructions": [count - first for count, _ in edges],
            },
        )
        return trace


@dataclass
class MonitorSource:
    """A real power monitor: sampling runs for the duration of each window."""

    monitor: PowerMonitor
    name: str = "monitor"

    def begin_window(self) -> None:
        self.monitor.start()

    def end_window(self) -> PowerTrace:
        return self.monitor.stop(expect_events=2)
