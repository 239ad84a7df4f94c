"""Which targets exist and which one a run uses: the one place a target is chosen.

Built in: `qemu`, `renode`, `hardware`. A lab adds its own without editing tinyrig through the
`tinyrig.targets` entry-point group (name = "package.module:TargetClass", a `Target` subclass):

    [project.entry-points."tinyrig.targets"]
    mylab = "mylab.tinyrig_target:MyLabTarget"

`tinyrig run --target mylab`, `tinyrig profile` and the pytest plugin then use it like the others.
"""

from __future__ import annotations

from tinyrig.boards import Board
from tinyrig.hil.targets.base import Target, TargetError, TargetSettings, TargetUnavailable
from tinyrig.plugins import PluginError, load_plugin, plugin_specs

ENTRY_POINT_GROUP = "tinyrig.targets"
BUILTIN: dict[str, str] = {
    "qemu": "tinyrig.hil.targets.qemu:QemuTarget",
    "renode": "tinyrig.hil.targets.renode:RenodeTarget",
    "hardware": "tinyrig.hil.targets.hardware:HardwareTarget",
}


def target_kinds() -> list[str]:
    """Every target name `--target` accepts: the built-in ones, then the plug-ins'."""
    return list(plugin_specs(BUILTIN, ENTRY_POINT_GROUP))


def target_class(kind: str) -> type[Target]:
    try:
        return load_plugin("target", kind, plugin_specs(BUILTIN, ENTRY_POINT_GROUP), Target)
    except PluginError as exc:
        raise TargetError(str(exc)) from None


def default_kind(board: Board) -> str:
    """A board's own target: its emulator if it has one, else the board itself on the bench."""
    return board.emulator.kind if board.is_emulated else "hardware"


def choose_target(board: Board, requested: str | None = None) -> type[Target]:
    """The target class for `board` (the one asked for, or the board's default), after checking it
    can run the board; `TargetUnavailable` says why not."""
    cls = target_class(requested or default_kind(board))
    reason = cls.supports(board)
    if reason:
        raise TargetUnavailable(reason)
    return cls


def make_target(board: Board, requested: str | None = None, settings: TargetSettings | None = None) -> Target:
    """A ready-to-start target for `board` (see `choose_target`)."""
    return choose_target(board, requested).create(board, settings or TargetSettings())
