"""What the runner records about a benchmark besides its measurements, as results-schema records:
the firmware that ran, the DUT's identity, the emulator that ran it, and `--predict`'s timing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tinyrig.boards import load_board
from tinyrig.codegen.firmware import db_buffer_region, loop_cache_bytes
from tinyrig.hil.results.schema import BenchmarkEntry, DutIdentity, EmulatorInfo, FirmwareRecord, PredictionRecord
from tinyrig.hil.run.predict import firmware_for, predict
from tinyrig.hil.run.resume_check import check_firmware_unchanged

if TYPE_CHECKING:  # annotations only
    from tinyrig.benchmarks import Benchmark
    from tinyrig.boards import Board
    from tinyrig.build.firmware_cache import Firmware
    from tinyrig.hil.dut.client import Profile
    from tinyrig.hil.targets.base import Run
    from tinyrig.hil.targets.cycle_model import CycleModel


def record_firmware(entry: BenchmarkEntry, firmware: Firmware) -> None:
    """The firmware this benchmark is measured with. In a resumed session it must be the one the saved
    figures were measured with: it is never replaced under them (FirmwareChangedError)."""
    check_firmware_unchanged(entry, firmware)
    project, size = firmware.project, firmware.build.size
    entry.firmware = FirmwareRecord(
        source_sha256=project.source_sha256, model_sha256=project.model_sha256, elf=str(firmware.build.elf),
        env=firmware.build.env, flash_bytes=size.flash_bytes, ram_bytes=size.ram_bytes,
        flash_capacity=size.flash_capacity, ram_capacity=size.ram_capacity, sections=size.sections,
        arena_bytes=project.arena_bytes, arena_lower_bound=project.arena_lower_bound,
        weight_bytes=project.weight_bytes, total_macs=project.total_macs)


def record_dut(entry: BenchmarkEntry, profile: Profile) -> None:
    entry.dut = DutIdentity(name=profile.name, firmware=profile.firmware, model=profile.model)


def record_emulator(entry: BenchmarkEntry, run: Run) -> None:
    """Which emulator ran the firmware, where the run says (Renode: its version and platform file)."""
    info = getattr(run, "emulator_info", None)
    if info:
        entry.emulator = EmulatorInfo.model_validate(info)


def record_prediction(entry: BenchmarkEntry, board: Board, benchmark: Benchmark, model: CycleModel, elf: Path,
                      input_data: bytes, timeout_s: float, rebuild: Callable[[Board], Firmware] | None = None) -> None:
    """`--predict BOARD`: one inference timed as that MCU (hil/run/predict.py). When that MCU would build
    the firmware differently (its flash cache shapes the kernels, its flash wait states move the constants
    to RAM), `rebuild(mcu)` builds the firmware it would run (for the emulated board) and that is what is
    timed."""
    mcu = load_board(model.timing_board)
    code_for = firmware_for(board, mcu)
    firmware = rebuild(code_for) if rebuild is not None and code_for is not None else None
    prediction = predict(board, model, firmware.build.elf if firmware else elf, input_data, timeout_s=timeout_s)
    if firmware is not None:
        prediction = replace(prediction, code_for=mcu.name,
                             loops_sized_for_cache=loop_cache_bytes(board) != loop_cache_bytes(mcu),
                             constants_in_ram=firmware.project.constants_in_ram,
                             ram_constant_layers=firmware.project.ram_constant_layers or None,
                             constant_bytes_in_ram=firmware.project.constant_bytes_in_ram,
                             constant_bytes=firmware.project.weight_bytes)
    # Whether the image fits the MCU at all: the emulated boards have far more memory than most parts
    # (vww01 needs 101 KB of RAM; B-L475E-IOT01A has 96 KiB), and a time for an image that cannot be
    # flashed there must say so. The emulated link's sizes stand for the MCU's (drivers differ by a few
    # hundred bytes).
    size = firmware.build.size if firmware is not None else entry.firmware
    if size is not None:
        # Where the MCU keeps the `db load` buffer in a further RAM region (codegen/firmware.py
        # db_buffer_region), its main RAM holds that much less than the emulated link's.
        elsewhere = benchmark.input_bytes if db_buffer_region(mcu, benchmark) else 0
        prediction = replace(prediction, ram_bytes=size.ram_bytes - elsewhere, flash_bytes=size.flash_bytes,
                             ram_capacity=mcu.ram.size, flash_capacity=mcu.flash.size)
    entry.prediction = PredictionRecord.model_validate(prediction.to_json())
