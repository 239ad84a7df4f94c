"""The PowerMonitorError family.

Every error names the instrument, the port (or device path) and what was
expected against what was seen, and carries the samples taken so far in
``partial_trace`` so that a run that died half-way is not thrown away: the
bench can still plot it, and a human can still see where it stopped.

These live in their own module (re-exported by ``monitor``) because both
``trace`` and ``monitor`` need them and neither should import the other's
internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .trace import PowerTrace


class PowerMonitorError(Exception):
    """Base of every power-monitor failure.

    Attributes are kept separate from the message so that callers (the
    bench, the session log) can act on them without parsing text.
    """

    def __init__(
        self,
        what: str,
        *,
        instrument: str = "power monitor",
        port: str | None = None,
        expected: str | None = None,
        seen: str | None = None,
        partial_trace: "PowerTrace | None" = None,
    ) -> None:
        self.what = what
        self.instrument = instrument
        self.port = port
        self.expected = expected
        self.seen = seen
        self.partial_trace = partial_trace
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.instrument + (f" on {self.port}" if self.port else "")
        msg = f"{where}: {self.what}"
        if self.expected is not None:
            msg += f"; expected {self.expected}"
        if self.seen is not None:
            msg += f", saw {self.seen}" if self.expected is not None else f"; saw {self.seen}"
        pt = self.partial_trace
        if pt is not None:
            msg += (
                f" [kept {len(pt)} samples ({pt.duration_s:.6g} s) and "
                f"{len(pt.events)} pin events in .partial_trace]"
            )
        return msg

    def attach_trace(self, trace: "PowerTrace") -> "PowerMonitorError":
        """Attach the samples taken so far and refresh the message."""
        self.partial_trace = trace
        self.args = (self._format(),)
        return self


class DeviceVanishedError(PowerMonitorError):
    """The instrument disappeared (USB unplugged, port closed, pty hung up)."""


class GarbledDataError(PowerMonitorError):
    """A line, frame or message could not be parsed, or the stream lost sync."""


class MissingEventError(PowerMonitorError):
    """Fewer timestamp-pin events than the energy window needs."""


class MonitorTimeoutError(PowerMonitorError, TimeoutError):
    """The instrument did not answer, or stopped streaming, within the timeout."""


class CommandRejectedError(PowerMonitorError):
    """The instrument answered a command with an error."""


class DriverUnavailableError(PowerMonitorError, ImportError):
    """The optional Python package a driver needs is not installed."""


class UnknownMonitorError(PowerMonitorError, LookupError):
    """get_monitor() was asked for a name nobody registered."""
