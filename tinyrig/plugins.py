"""Implementations looked up by name: tinyrig's built-in ones and those a lab installs.

Targets (`tinyrig.targets`), modes (`tinyrig.modes`) and power monitors (`tinyrig.power_monitors`)
each keep a table of built-in names -> "package.module:Name" and accept more through an
entry-point group of the same shape; this module reads such tables and loads what they name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points


class PluginError(LookupError):
    """A name that is not registered, or a registration that does not load (the message says which)."""


def plugin_specs(builtin: Mapping[str, str], group: str) -> dict[str, str]:
    """The built-in table, then the entry points of `group`; a plug-in never shadows a built-in name."""
    specs = dict(builtin)
    for ep in entry_points(group=group):
        specs.setdefault(ep.name, ep.value)
    return specs


def import_spec(spec: str) -> object:
    """The object a "package.module:Name" spec names."""
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def load_plugin(what: str, name: str, specs: Mapping[str, str], base: type) -> type:
    """The `base` subclass registered as `name` in `specs` (`what` names the kind in errors)."""
    if name not in specs:
        raise PluginError(f"unknown {what} {name!r}; known: {', '.join(specs)}")
    try:
        cls = import_spec(specs[name])
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{what} {name!r} ({specs[name]}) could not be loaded: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{what} {name!r} ({specs[name]}) is not a tinyrig {base.__name__} subclass")
    return cls
