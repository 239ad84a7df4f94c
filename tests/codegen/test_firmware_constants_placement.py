"""Where the model's constants go (codegen/firmware.py constants_in_ram): flash by default, RAM
(copied at reset with .data) for a board whose flash has wait states, when they fit."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.boards.schema import MemoryRegion
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.firmware import FirmwareProject, constants_in_ram, render_project

FLAG = "-DTINYRIG_CONSTANTS_IN_RAM=1"


@pytest.fixture(scope="module")
def kws01(models_dir):
    return compile_model(models_dir / "kws01.tflite", core="cortex-m4")


def _with_ram(board, size):
    return replace(board, ram=MemoryRegion(base=board.ram.base, size=size))


def test_only_a_board_with_flash_wait_states_moves_them(kws01):
    an386, l4r5 = load_board("qemu-mps2-an386"), load_board("nucleo-l4r5zi")
    assert not an386.wants_constants_in_ram and l4r5.wants_constants_in_ram
    assert not constants_in_ram(an386, kws01)  # emulated: flash reads as fast as RAM
    assert constants_in_ram(l4r5, kws01)
    # --predict's build: the emulated board built as nucleo-l4r5zi would build it.
    assert constants_in_ram(an386, kws01, code_for=l4r5)
    # The board file can keep them in flash.
    in_flash = replace(l4r5, timing=replace(l4r5.timing, constants_in_ram=False))
    assert not in_flash.wants_constants_in_ram and not constants_in_ram(in_flash, kws01)


def test_they_move_only_when_they_fit_beside_the_rest(kws01):
    l4r5 = load_board("nucleo-l4r5zi")
    needed = kws01.weight_bytes + kws01.arena_bytes + kws01.scratch_bytes + 8 * 1024 + 64 * 1024
    assert constants_in_ram(_with_ram(l4r5, needed), kws01)
    assert not constants_in_ram(_with_ram(l4r5, needed - 4), kws01)
    # A prediction's firmware must also fit the emulated board it runs on.
    assert not constants_in_ram(_with_ram(load_board("qemu-mps2-an386"), needed - 4), kws01, code_for=l4r5)


def test_the_project_puts_every_constant_in_the_ram_section(models_dir, tmp_path):
    benchmark, model = get_benchmark("kws01"), models_dir / "kws01.tflite"
    moved = render_project(load_board("nucleo-l4r5zi"), benchmark, model, tmp_path / "l4r5")
    kept = render_project(load_board("qemu-mps2-an386"), benchmark, model, tmp_path / "an386")
    assert moved.constants_in_ram and not kept.constants_in_ram
    assert FirmwareProject.load(tmp_path / "l4r5").constants_in_ram  # the manifest keeps it
    ini = (tmp_path / "l4r5" / "platformio.ini").read_text()
    # Both environments (tinyrig's build and the vendor's registry build) get the flag.
    assert ini.count(FLAG) == 2, ini
    assert FLAG not in (tmp_path / "an386" / "platformio.ini").read_text()
    source = (tmp_path / "l4r5" / "src" / "model" / "tinyrig_model.cc").read_text()
    definitions = re.findall(r"^(.*)\bk_layer\d+_\w+(?:\[\d+\])? = ", source, flags=re.MULTILINE)
    assert definitions and all(d.startswith("TINYRIG_CONSTANT ") for d in definitions), definitions
    # The generated model is the same text for both boards: the build flag alone moves the data.
    assert source == (tmp_path / "an386" / "src" / "model" / "tinyrig_model.cc").read_text()
