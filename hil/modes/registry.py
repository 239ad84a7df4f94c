"""The measurement modes by name: the runner, the CLI's `--mode` and the pytest marker use this.

Built in: performance, accuracy, energy, streaming. More modes plug in through the `tinyrig.modes`
entry-point group ("package.module:ModeClass", a `Mode` subclass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyrig.plugins import PluginError, load_plugin, plugin_specs

if TYPE_CHECKING:  # the mode classes import the bench's stages: loaded only when a mode is used
    from tinyrig.hil.modes.base import Mode

ENTRY_POINT_GROUP = "tinyrig.modes"
BUILTIN: dict[str, str] = {
    "performance": "tinyrig.hil.modes.performance:PerformanceMode",
    "accuracy": "tinyrig.hil.modes.accuracy:AccuracyMode",
    "energy": "tinyrig.hil.modes.energy:EnergyMode",
    "streaming": "tinyrig.hil.modes.streaming:StreamingMode",
}


def mode_names() -> list[str]:
    return list(plugin_specs(BUILTIN, ENTRY_POINT_GROUP))


def get_mode(name: str) -> "Mode":
    from tinyrig.hil.modes.base import Mode, ModeOptionError

    try:
        return load_plugin("mode", name, plugin_specs(BUILTIN, ENTRY_POINT_GROUP), Mode)()
    except PluginError as exc:
        raise ModeOptionError(str(exc)) from None
