"""Named implementations (targets, modes, power monitors) are loaded one way, with one clear error per fault."""

from __future__ import annotations

import pytest

from tinyrig.hil.modes.base import ModeOptionError
from tinyrig.hil.modes.registry import get_mode
from tinyrig.hil.targets.base import Target, TargetError
from tinyrig.hil.targets.registry import target_class
from tinyrig.plugins import PluginError, load_plugin, plugin_specs

SPECS = {"qemu": "tinyrig.hil.targets.qemu:QemuTarget", "gone": "tinyrig.no_such_module:Thing",
         "not-a-target": "tinyrig.plugins:PluginError"}


def test_a_registered_name_loads_its_class():
    from tinyrig.hil.targets.qemu import QemuTarget

    assert load_plugin("target", "qemu", SPECS, Target) is QemuTarget


@pytest.mark.parametrize("name, message", [
    ("nope", "unknown target 'nope'; known: qemu, gone, not-a-target"),
    ("gone", "target 'gone' (tinyrig.no_such_module:Thing) could not be loaded: No module named 'tinyrig.no_such_module'"),
    ("not-a-target", "target 'not-a-target' (tinyrig.plugins:PluginError) is not a tinyrig Target subclass"),
])
def test_each_fault_is_one_line(name, message):
    with pytest.raises(PluginError) as exc:
        load_plugin("target", name, SPECS, Target)
    assert str(exc.value) == message


def test_built_in_names_come_first_and_cannot_be_shadowed():
    specs = plugin_specs({"qemu": "a:B"}, "tinyrig.no-such-group")
    assert specs == {"qemu": "a:B"}


def test_the_registries_raise_their_own_errors():
    with pytest.raises(TargetError, match="unknown target 'nope'"):
        target_class("nope")
    with pytest.raises(ModeOptionError, match="unknown mode 'nope'"):
        get_mode("nope")
