"""A simulated board for the submission tests: the real firmware under QEMU, taken as hardware.

QEMU's `-icount shift=S` gives every instruction 2**S ns of virtual time, and the firmware's own
timer reads that time, so with S = 4 the an386 image behaves like a Cortex-M4 at 62.5 MHz that
takes one cycle per instruction: ad01's 240,119 instructions take 3.84 ms, and the runner's
1500-inference window lasts 5.76 s, too short for the 10 s rule. As a target it is "not
emulated" (no marker log, no instruction counts), so the bench treats it exactly as a board on
the bench: the runner's N and W, a trial window, N raised to 10 s windows. Sessions it records
are labelled `synthetic` by the tests that make them.
"""

from __future__ import annotations

from tinyrig.boards import Board
from tinyrig.hil.targets.base import TargetSettings
from tinyrig.hil.targets.qemu import QemuTarget

KIND = "simulated-board"
ICOUNT_SHIFT = 4


class SimulatedBoard(QemuTarget):
    kind = KIND
    emulated = False
    exact_counts = False

    @classmethod
    def create(cls, board: Board, settings: TargetSettings) -> "SimulatedBoard":
        return cls(board, icount_shift=ICOUNT_SHIFT, marker_log=None)
