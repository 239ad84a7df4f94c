"""Power monitors: one interface, pluggable instrument drivers.

``PowerTrace`` is the shared result type; ``get_monitor(name, **kwargs)``
builds a driver ("lpm01a", "js220", "ppk2").  Importing this package needs
only numpy: the drivers' optional libraries are imported when used.
"""

from .errors import (
    CommandRejectedError,
    DeviceVanishedError,
    DriverUnavailableError,
    GarbledDataError,
    MissingEventError,
    MonitorTimeoutError,
    PowerMonitorError,
    UnknownMonitorError,
)
from .monitor import PowerMonitor, available_monitors, get_monitor, register_monitor
from .trace import EnergyWindow, PinEvent, PowerTrace

__all__ = [
    "PowerTrace", "PinEvent", "EnergyWindow",
    "PowerMonitor", "get_monitor", "register_monitor", "available_monitors",
    "PowerMonitorError", "DeviceVanishedError", "GarbledDataError", "MissingEventError",
    "MonitorTimeoutError", "CommandRejectedError", "DriverUnavailableError", "UnknownMonitorError",
]
