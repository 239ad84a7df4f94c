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
from tinyrig.codegen.firmware import (HARNESS_OTHER_RAM_BYTES, STACK_BYTES, FirmwareProject, constants_in_ram,
                                      harness_ram_bytes, ram_needed_with_constants, render_project)

FLAG = "-DTINYRIG_CONSTANTS_IN_RAM=1"


@pytest.fixture(scope="module")
def kws01(models_dir):
    return compile_model(models_dir / "kws01.tflite", core="cortex-m4")


def _with_ram(board, size):
    return replace(board, ram=MemoryRegion(base=board.ram.base, size=size))


KWS = get_benchmark("kws01")


def test_only_a_board_with_flash_wait_states_moves_them(kws01):
    an386, l4r5 = load_board("qemu-mps2-an386"), load_board("nucleo-l4r5zi")
    assert not an386.wants_constants_in_ram and l4r5.wants_constants_in_ram
    assert not constants_in_ram(an386, kws01, KWS)  # emulated: flash reads as fast as RAM
    assert constants_in_ram(l4r5, kws01, KWS)
    # --predict's build: the emulated board built as nucleo-l4r5zi would build it.
    assert constants_in_ram(an386, kws01, KWS, code_for=l4r5)
    # The board file can keep them in flash.
    in_flash = replace(l4r5, timing=replace(l4r5.timing, constants_in_ram=False))
    assert not in_flash.wants_constants_in_ram and not constants_in_ram(in_flash, kws01, KWS)


def test_they_move_only_when_they_fit_beside_the_rest(kws01):
    l4r5 = load_board("nucleo-l4r5zi")
    needed = kws01.weight_bytes + kws01.arena_bytes + kws01.scratch_bytes + STACK_BYTES + 490 + HARNESS_OTHER_RAM_BYTES
    assert ram_needed_with_constants(kws01, KWS) == needed  # 490: the 49 x 10 input the host sends
    assert constants_in_ram(_with_ram(l4r5, needed), kws01, KWS)
    assert not constants_in_ram(_with_ram(l4r5, needed - 4), kws01, KWS)
    # A prediction's firmware must also fit the emulated board it runs on.
    assert not constants_in_ram(_with_ram(load_board("qemu-mps2-an386"), needed - 4), kws01, KWS, code_for=l4r5)
    # B-L475E-IOT01A's 96 KiB take kws01's (71,846 B in all), not ic01's.
    l475 = load_board("b-l475e-iot01a")
    assert constants_in_ram(l475, kws01, KWS) and needed < l475.ram.size


def test_the_harness_buffers_are_counted(models_dir):
    ad01, sww01 = (compile_model(models_dir / f"{b}.tflite", core="cortex-m4") for b in ("ad01", "sww01"))
    # ad01's float features: the bytes sent (4 per feature), kept as floats and quantised: 640 x (4 + 4 + 1).
    assert harness_ram_bytes(get_benchmark("ad01"), ad01) == 640 * 9 + HARNESS_OTHER_RAM_BYTES
    # The streaming firmware's activation log alone is 40,000 B.
    assert harness_ram_bytes(get_benchmark("sww01"), sww01) > 40_000 + HARNESS_OTHER_RAM_BYTES


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
