"""`tinyrig run --predict BOARD`: an emulated benchmark timed as a real MCU of the same core.

The cycle model (docs/cycle-model.md) charges the emulated instruction stream by the core's
timing and, given another board's `[timing]`, by that board's flash wait states and accelerator.
One inference on one input is run under QEMU with BOARD's flash and at zero wait states (the
core alone), and both cycle counts are turned into time at BOARD's clock. A board with prefetch
and an instruction cache is also run under the other reading of whether prefetched lines enter
the cache (its [timing] names the reading it takes and why), as a bound. The gap between
the two is what the flash costs; the figure is only as firm as the timing data behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tinyrig.boards import Board
from tinyrig.codegen.firmware import loop_cache_bytes
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
    # The same inference under the other reading of the board's instruction cache (prefetched
    # lines cached or not: flash_icache_fills_on_prefetch), when the board has prefetch and a cache.
    other_reading: str | None = None
    other_reading_cycles: int | None = None
    # The firmware timed was built as this board would run it (None: the run's own firmware, when
    # both boards build alike; hil/run/records.py fills these in): its loops sized for the board's
    # flash instruction cache, or not, and its constants in RAM (copied at reset: codegen/firmware.py
    # place_constants), so that its weight reads do not wait on flash, or not.
    code_for: str | None = None
    loops_sized_for_cache: bool | None = None
    constants_in_ram: bool = False
    # Not all of them fitting the MCU's RAM, those of these layers (those that would wait on flash most per byte).
    ram_constant_layers: list[int] | None = None
    constant_bytes_in_ram: int | None = None  # of constant_bytes, the model's in all
    constant_bytes: int | None = None
    ram_bytes: int | None = None  # the timed firmware's main RAM (constants included) and flash, as linked
    flash_bytes: int | None = None  # for the emulated board, as the MCU would place them (hil/run/records.py)
    ram_capacity: int | None = None  # the MCU's RAM and flash (its board file): an image larger than
    flash_capacity: int | None = None  # these cannot run there, whatever the cycles say

    @property
    def latency_ms(self) -> float:
        return self.cycles / self.clock_hz * 1e3

    @property
    def zero_wait_latency_ms(self) -> float:
        return self.zero_wait_cycles / self.clock_hz * 1e3

    @property
    def other_reading_latency_ms(self) -> float | None:
        return None if self.other_reading_cycles is None else self.other_reading_cycles / self.clock_hz * 1e3

    def to_json(self) -> dict:
        return {**self.__dict__, "latency_ms": self.latency_ms, "zero_wait_latency_ms": self.zero_wait_latency_ms,
                "other_reading_latency_ms": self.other_reading_latency_ms}


def needs_own_firmware(board: Board, mcu: Board) -> bool:
    """True when `mcu` would build the firmware differently from `board`: the kernels' loops sized for
    another flash cache (TINYRIG_FLASH_ICACHE_BYTES), or the constants moved to RAM because its flash
    has wait states (TINYRIG_CONSTANTS_IN_RAM). The prediction must then time the firmware `mcu` would run."""
    return (loop_cache_bytes(board) != loop_cache_bytes(mcu)
            or board.wants_constants_in_ram != mcu.wants_constants_in_ram)


def firmware_for(board: Board, mcu: Board | None) -> Board | None:
    """prepare_firmware's `code_for` to time `mcu` on emulated `board`: `mcu` when it would build the
    firmware differently (needs_own_firmware), else None (the run's own firmware is the one it would run).
    The one place the run, `tinyrig profile --predict` and benchmarks/cycle_model.py decide it."""
    return mcu if mcu is not None and needs_own_firmware(board, mcu) else None


def predict(board: Board, model: CycleModel, elf: Path, input_data: bytes, *, timeout_s: float = 900.0) -> Prediction:
    """Times one inference of `elf` (built for emulated `board`) with `model`, a real MCU's timing
    (cycle_model_for(board, timing=mcu): same core, its [timing] table)."""
    # The core alone at the same clock: the emulated board's model has zero wait states.
    zero_wait = replace(cycle_model_for(board), clock_hz=model.clock_hz, timing_board=model.timing_board)
    flash = run_inferences(board, elf, [input_data], cycle_model=model, timeout_s=timeout_s)[0]
    core = run_inferences(board, elf, [input_data], cycle_model=zero_wait, timeout_s=timeout_s)[0]
    other = None
    if model.prefetch_reading_matters:
        # Reference manuals leave open whether prefetched lines enter the cache; the board file
        # picks one reading (with its evidence), the other is reported beside it as a bound.
        other = run_inferences(board, elf, [input_data], timeout_s=timeout_s,
                               cycle_model=replace(model, cache_prefetched=not model.cache_prefetched))[0]
    if flash.cycles is None or core.cycles is None or (other is not None and other.cycles is None):
        raise RuntimeError(f"no estimated cycles from {board.name}'s emulator: its window markers were not seen")
    return Prediction(board=model.timing_board, clock_hz=model.clock_hz, flash_wait_states=model.flash_wait_states,
                      cycles=flash.cycles, zero_wait_cycles=core.cycles, fetch_stall_cycles=flash.cycle_split.fetch,
                      cycle_model=model.describe(),
                      other_reading=None if other is None else
                      f"prefetched lines {'not ' if model.cache_prefetched else ''}cached",
                      other_reading_cycles=None if other is None else other.cycles)
