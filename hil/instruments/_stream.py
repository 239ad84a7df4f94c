"""Shared acquisition bookkeeping for the drivers.

Each driver receives data on a thread it does not control (its own serial
reader thread, or the USB callback thread of pyjoulescope_driver).  This base
keeps the one piece of logic they all need: accumulate samples and events,
remember the first fatal error, and let the bench thread wait on "N events
seen" or "acquisition finished" through a Condition instead of polling.
"""

from __future__ import annotations

import threading
import time

from .errors import GarbledDataError, MissingEventError, MonitorTimeoutError, PowerMonitorError
from .monitor import PowerMonitor
from .trace import PowerTrace, TraceBuilder


class StreamingMonitor(PowerMonitor):
    """PowerMonitor with a TraceBuilder fed from a background thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._builder: TraceBuilder | None = None
        self._error: PowerMonitorError | None = None
        self._finished = False  # the instrument said the acquisition is over
        self._running = False

    # -- called from the data thread -------------------------------------------
    def _new_builder(self, *, sample_period_s: float, supply_voltage_v: float) -> TraceBuilder:
        with self._cond:
            self._builder = TraceBuilder(
                sample_period_s=sample_period_s,
                supply_voltage_v=supply_voltage_v,
                source=self.name,
            )
            self._error = None
            self._finished = False
        return self._builder

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _fail(self, err: PowerMonitorError) -> None:
        """Record the first fatal error; later ones are consequences of it."""
        with self._cond:
            if self._error is None:
                self._error = err
            self._cond.notify_all()

    def _mark_finished(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    # -- called from the bench thread ------------------------------------------
    def _partial(self, why: str) -> PowerTrace:
        if self._builder is None:
            # Nothing was started: an empty trace still tells "no samples".
            return PowerTrace(1.0, 0.0, [], source=self.name, complete=False, error=why)
        return self._builder.snapshot(complete=False, error=why)

    def _raise_stored_error(self) -> None:
        err = self._error
        if err is not None:
            raise err.attach_trace(self._partial(str(err.what)))

    def _wait(self, predicate, timeout_s: float) -> bool:
        """Wait for predicate() or a stored error; True if predicate held."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                # What already arrived counts even if the stream died after it
                # (the error still surfaces at the next call or at stop()).
                if predicate():
                    return True
                if self._error is not None:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)

    def _falling_count(self) -> int:
        b = self._builder
        if b is None:
            return 0
        # falling edges only: that is what the window is made of
        return sum(1 for e in b._events if e.edge == "falling")

    def wait_for_events(self, count: int, timeout_s: float) -> int:
        if not self._running and self._builder is None:
            raise PowerMonitorError(
                "wait_for_events before start()", instrument=self.instrument, port=self.port
            )
        ok = self._wait(lambda: self._falling_count() >= count, timeout_s)
        self._raise_stored_error()
        if not ok:
            seen = self._falling_count()
            raise MonitorTimeoutError(
                f"timed out after {timeout_s:g} s waiting for timestamp-pin events",
                instrument=self.instrument,
                port=self.port,
                expected=f"{count} falling edges",
                seen=f"{seen}",
                partial_trace=self._partial("timeout waiting for pin events"),
            )
        return self._falling_count()

    def _finish_trace(self, expect_events: int | None) -> PowerTrace:
        """Turn the builder into the result of stop(), or raise."""
        self._raise_stored_error()
        assert self._builder is not None
        trace = self._builder.snapshot(complete=True)
        if len(trace) == 0:
            # No energy is not 0 J: a trace without samples measured nothing.
            raise GarbledDataError(
                "the acquisition ended without a single sample",
                instrument=self.instrument, port=self.port,
                expected="samples between start and stop", seen="none",
                partial_trace=trace.as_partial("no samples"),
            )
        if expect_events is not None:
            falling = trace.falling_edges()
            if len(falling) < expect_events:
                raise MissingEventError(
                    "acquisition ended short of timestamp-pin events",
                    instrument=self.instrument,
                    port=self.port,
                    expected=f"{expect_events} falling edges",
                    seen=f"{len(falling)}",
                    partial_trace=trace.as_partial("missing timestamp-pin events"),
                )
        return trace
