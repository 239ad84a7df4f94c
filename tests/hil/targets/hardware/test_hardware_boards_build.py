"""Every physical board builds offline (perf and energy images) and its image fits its memory.

kws01 is the smallest model, so this stays quick; the size table for all four benchmarks is in
docs/hardware.md.
"""

from __future__ import annotations

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import all_boards

from tinyrig_testing import require_tools

HARDWARE_BOARDS = ["nucleo-l4r5zi", "nucleo-u575zi-q", "nucleo-h7a3zi-q", "nrf52840-dk", "b-l475e-iot01a", "nucleo-l552ze-q"]


def test_hardware_boards_are_shipped():
    boards = {b.name: b for b in all_boards()}
    for name in HARDWARE_BOARDS:
        board = boards[name]
        assert not board.is_emulated
        assert board.pyocd_target and board.usb_ids and board.timer.driver == "dwt"
        assert board.timer.hz == board.clock_hz
        assert board.clock_driver != "none"


@pytest.mark.parametrize("board_name", HARDWARE_BOARDS)
@pytest.mark.qemu  # builds firmware with the Arm toolchain
def test_board_builds_and_fits(board_name, models_dir):
    require_tools("arm-none-eabi-gcc", "arm-none-eabi-size")
    from tinyrig.boards import load_board
    from tinyrig.build.firmware_cache import prepare_firmware

    from tinyrig.codegen.engine import compile_model
    from tinyrig.codegen.firmware import ram_needed_with_constants

    board = load_board(board_name)
    bench = get_benchmark("kws01")
    compiled = compile_model(models_dir / "kws01.tflite", core=board.core)
    for env in ("perf", "energy"):
        firmware = prepare_firmware(board, bench, models_dir / "kws01.tflite", env)
        size = firmware.build.size
        assert firmware.build.elf.is_file()
        assert size.flash_capacity == board.flash.size and size.ram_capacity == board.ram.size
        assert 0 < size.flash_bytes <= size.flash_capacity, size
        assert 0 < size.ram_bytes <= size.ram_capacity, size
        # The constants' fit check (codegen/firmware.py constants_in_ram) never under-counts the link:
        # every board with flash wait states takes kws01's constants into RAM, with room to spare.
        assert firmware.project.constants_in_ram == bool(board.timing and board.timing.flash_wait_states)
        in_flash = 0 if firmware.project.constants_in_ram else compiled.weight_bytes
        assert size.ram_bytes <= ram_needed_with_constants(compiled, bench) - in_flash, size
        # The board layer really is the hardware one: the DWT timer and the family clock set-up.
        sources = firmware.project.directory / "src"
        assert "DWT_CYCCNT" in (sources / "timer.c").read_text()
        assert f"clock set-up for {board.name}" in (sources / "clock.c").read_text()


@pytest.mark.qemu  # builds firmware with the Arm toolchain
def test_vww01_fits_b_l475e_iot01a_with_its_input_in_sram2(models_dir):
    """vww01 takes 101,364 B of RAM on the emulated board, more than the STM32L475's 96 KiB SRAM1. The
    buffer the host fills with `db load` (27,648 B) goes to SRAM2 (memory.extra.sram2), and the image
    fits, with the constants of the layers waiting on flash most in the SRAM1 room that leaves."""
    import subprocess

    require_tools("arm-none-eabi-gcc", "arm-none-eabi-nm")
    from tinyrig.boards import load_board
    from tinyrig.build.firmware_cache import prepare_firmware

    board = load_board("b-l475e-iot01a")
    firmware = prepare_firmware(board, get_benchmark("vww01"), models_dir / "vww01.tflite")
    size = firmware.build.size
    assert size.ram_bytes <= board.ram.size and size.sections[".sram2"] == 27_648, size
    assert firmware.project.ram_constant_layers and not firmware.project.constants_in_ram
    symbols = subprocess.run(["arm-none-eabi-nm", "-C", str(firmware.build.elf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    (address,) = [int(line.split()[0], 16) for line in symbols if line.endswith("::g_buffer")]
    (sram2,) = board.extra_ram
    assert sram2.base <= address < sram2.base + sram2.size
