"""`tinyrig run --predict BOARD`: an emulated benchmark timed as a real MCU of the same core.

The cycle model (docs/cycle-model.md) charges the emulated instruction stream by the core's
timing and, given another board's `[timing]`, by that board's flash wait states and accelerator.
One inference on one input is run twice under QEMU: with BOARD's flash and at zero wait states
(the core alone), and both cycle counts are turned into time at BOARD's clock. The gap between
the two is what the flash costs; the figure is only as firm as the timing data behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tinyrig.boards import Board
from tinyrig.hil.run.profile import run_inferences
from tinyrig.hil.targets.cycle_model import CycleModel, cycle_model_for


@dataclass
class Prediction:
    board: str  # the real MCU whose timing is modelled
    clock_hz: int
    flash_wait_states: int
    cycles: int  # one inference, with the board's wait states and flash accelerator
    zero_wait_cycles: int  # the same inference, the core alone (no flash stalls)
    fetch_stall_cycles: int  # of `cycles`, instruction-fetch stalls on flash
    cycle_model: str

    @property
    def latency_ms(self) -> float:
        return self.cycles / self.clock_hz * 1e3

    @property
    def zero_wait_latency_ms(self) -> float:
        return self.zero_wait_cycles / self.clock_hz * 1e3

    def to_json(self) -> dict:
        return {**self.__dict__, "latency_ms": self.latency_ms, "zero_wait_latency_ms": self.zero_wait_latency_ms}


def predict(board: Board, model: CycleModel, elf: Path, input_data: bytes, *, timeout_s: float = 900.0) -> Prediction:
    """Times one inference of `elf` (built for emulated `board`) with `model`, a real MCU's timing
    (cycle_model_for(board, timing=mcu): same core, its [timing] table)."""
    # The core alone at the same clock: the emulated board's model has zero wait states.
    zero_wait = replace(cycle_model_for(board), clock_hz=model.clock_hz, timing_board=model.timing_board)
    flash = run_inferences(board, elf, [input_data], cycle_model=model, timeout_s=timeout_s)[0]
    core = run_inferences(board, elf, [input_data], cycle_model=zero_wait, timeout_s=timeout_s)[0]
    if flash.cycles is None or core.cycles is None:
        raise RuntimeError(f"no estimated cycles from {board.name}'s emulator: its window markers were not seen")
    return Prediction(board=model.timing_board, clock_hz=model.clock_hz, flash_wait_states=model.flash_wait_states,
                      cycles=flash.cycles, zero_wait_cycles=core.cycles, fetch_stall_cycles=flash.cycle_split.fetch,
                      cycle_model=model.describe())
