"""The measurement modes by name: the runner, the CLI's `--mode` and the pytest marker use this.

Built in: performance, accuracy, energy, streaming. More modes plug in through the `tinyrig.modes`
entry-point group ("package.module:ModeClass", a `Mode` subclass).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the mode classes import the bench's stages: loaded only when a mode is used
    from tinyrig.hil.modes.base import Mode

ENTRY_POINT_GROUP = "tinyrig.modes"
BUILTIN: dict[str, str] = {
    "performance": "tinyrig.hil.modes.performance:PerformanceMode",
    "accuracy": "tinyrig.hil.modes.accuracy:AccuracyMode",
    "energy": "tinyrig.hil.modes.energy:EnergyMode",
    "streaming": "tinyrig.hil.modes.streaming:StreamingMode",
}


def _specs() -> dict[str, str]:
    specs = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        specs.setdefault(ep.name, ep.value)
    return specs


def mode_names() -> list[str]:
    return list(_specs())


def get_mode(name: str) -> "Mode":
    from tinyrig.hil.modes.base import Mode, ModeOptionError

    specs = _specs()
    if name not in specs:
        raise ModeOptionError(f"unknown mode {name!r}; known: {', '.join(specs)}")
    module_name, _, attr = specs[name].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Mode)):
        raise ModeOptionError(f"mode {name!r} ({specs[name]}) is not a tinyrig Mode subclass")
    return cls()
