"""The PowerMonitor interface, the driver registry and the error family.

A bench run uses a monitor like this::

    with get_monitor("lpm01a", port="/dev/ttyACM0") as pm:
        pm.configure(voltage_v=1.8)
        pm.set_dut_power(True)           # where the instrument powers the DUT
        pm.start()
        ...                              # DUT runs `infer N W`
        pm.wait_for_events(2, timeout_s=60)
        trace = pm.stop(expect_events=2)
    window = trace.energy_window()

Drivers are imported lazily by name so that optional packages (ppk2-api,
pyjoulescope_driver) are only needed by the driver that uses them.
"""

from __future__ import annotations

import abc
from typing import Callable

from tinyrig.plugins import import_spec, plugin_specs

from .errors import (  # re-exported: the error family belongs to this interface
    CommandRejectedError,
    DeviceVanishedError,
    DriverUnavailableError,
    GarbledDataError,
    MissingEventError,
    MonitorTimeoutError,
    PowerMonitorError,
    UnknownMonitorError,
)
from .trace import PowerTrace

__all__ = [
    "PowerMonitor",
    "get_monitor",
    "register_monitor",
    "available_monitors",
    "PowerMonitorError",
    "DeviceVanishedError",
    "GarbledDataError",
    "MissingEventError",
    "MonitorTimeoutError",
    "CommandRejectedError",
    "DriverUnavailableError",
    "UnknownMonitorError",
]


class PowerMonitor(abc.ABC):
    """One power instrument measuring one DUT supply.

    Lifecycle: ``open`` -> ``configure`` -> (``start`` -> ``stop``)* ->
    ``close``.  The context manager opens and closes.  ``stop`` returns the
    trace of the acquisition; any failure raises a PowerMonitorError whose
    ``partial_trace`` holds what was measured before it.
    """

    #: registry name, e.g. "lpm01a"
    name: str = "abstract"
    #: human name used in error messages, e.g. "X-NUCLEO-LPM01A"
    instrument: str = "power monitor"
    #: the port, URL or device path the instrument is reached at
    port: str | None = None

    @abc.abstractmethod
    def open(self) -> None:
        """Connect to the instrument and check it is the instrument we expect."""

    @abc.abstractmethod
    def configure(self, voltage_v: float, **options) -> None:
        """Set the DUT supply voltage (or, for an inline meter, declare it)."""

    @abc.abstractmethod
    def start(self) -> None:
        """Begin an acquisition; pin events are timed from here."""

    @abc.abstractmethod
    def stop(self, *, expect_events: int | None = None) -> PowerTrace:
        """End the acquisition and return its trace.

        With ``expect_events``, fewer falling edges than that is a
        MissingEventError (carrying the trace) rather than a silent short run.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Stop anything running and release the instrument. Safe to repeat."""

    @abc.abstractmethod
    def wait_for_events(self, count: int, timeout_s: float) -> int:
        """Block until ``count`` falling edges were seen since ``start``.

        Returns the number seen.  Raises MonitorTimeoutError (with the
        partial trace) if they do not come in time, or the streaming error if
        the instrument failed meanwhile.
        """

    def set_dut_power(self, on: bool) -> None:
        """Switch the supply the instrument feeds the DUT, where it has one."""
        raise CommandRejectedError(
            "cannot switch DUT power",
            instrument=self.instrument,
            port=self.port,
            expected="an instrument that sources the DUT supply",
            seen="an inline meter",
        )

    def __enter__(self) -> "PowerMonitor":
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# -- registry ----------------------------------------------------------------

# Name -> "module:Class" (imported on first use) or a factory callable.
_REGISTRY: dict[str, str | Callable[..., PowerMonitor]] = {
    "lpm01a": "tinyrig.hil.instruments.lpm01a:LPM01A",
    "js220": "tinyrig.hil.instruments.joulescope:JS220",
    "ppk2": "tinyrig.hil.instruments.ppk2:PPK2",
}


ENTRY_POINT_GROUP = "tinyrig.power_monitors"


def register_monitor(name: str, factory: str | Callable[..., PowerMonitor]) -> None:
    """Add (or replace) a driver: a callable, or a "module:Class" string."""
    _REGISTRY[name.lower()] = factory


def _discover() -> None:
    """Drivers a lab installs declare themselves under the `tinyrig.power_monitors` entry-point
    group ("package.module:Class"); built-in names are never shadowed."""
    for name, spec in plugin_specs({}, ENTRY_POINT_GROUP).items():
        _REGISTRY.setdefault(name.lower(), spec)


def available_monitors() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_monitor(name: str, **kwargs) -> PowerMonitor:
    """Construct (not open) the monitor registered as ``name``."""
    key = name.lower()
    _discover()
    if key not in _REGISTRY:
        raise UnknownMonitorError(
            f"no power monitor driver named {name!r}",
            instrument="tinyrig.hil.instruments",
            expected="one of " + ", ".join(available_monitors()),
            seen=repr(name),
        )
    factory = _REGISTRY[key]
    if isinstance(factory, str):
        factory = import_spec(factory)
    return factory(**kwargs)
