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
from tinyrig.codegen.firmware import (HARNESS_OTHER_RAM_BYTES, IN_FLASH, PARAMS_BLOCK_BYTES, STACK_BYTES,
                                      FirmwareProject, db_buffer_region, flash_misses_per_byte,
                                      harness_ram_bytes, place_constants, ram_needed_with_constants, render_project)

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
    assert not place_constants(an386, kws01, KWS).every_layer  # emulated: flash reads as fast as RAM
    assert place_constants(l4r5, kws01, KWS).every_layer
    # --predict's build: the emulated board built as nucleo-l4r5zi would build it.
    assert place_constants(an386, kws01, KWS, code_for=l4r5).every_layer
    # The board file can keep them in flash.
    in_flash = replace(l4r5, timing=replace(l4r5.timing, constants_in_ram=False))
    assert not in_flash.wants_constants_in_ram and not place_constants(in_flash, kws01, KWS).every_layer


def test_they_move_only_when_they_fit_beside_the_rest(kws01):
    l4r5 = load_board("nucleo-l4r5zi")
    needed = kws01.weight_bytes + kws01.arena_bytes + kws01.scratch_bytes + STACK_BYTES + 490 + HARNESS_OTHER_RAM_BYTES
    assert ram_needed_with_constants(kws01, KWS) == needed  # 490: the 49 x 10 input the host sends
    assert place_constants(_with_ram(l4r5, needed), kws01, KWS).every_layer
    assert not place_constants(_with_ram(l4r5, needed - 4), kws01, KWS).every_layer
    # A prediction's firmware must also fit the emulated board it runs on.
    small_an386 = _with_ram(load_board("qemu-mps2-an386"), needed - 4)
    assert not place_constants(small_an386, kws01, KWS, code_for=l4r5).every_layer
    # B-L475E-IOT01A's 96 KiB take kws01's (71,846 B in all), not ic01's.
    l475 = load_board("b-l475e-iot01a")
    assert place_constants(l475, kws01, KWS).every_layer and needed < l475.ram.size


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


def test_not_all_fitting_the_layers_read_most_per_byte_go_first(models_dir, tmp_path):
    """ic01 on B-L475E-IOT01A (96 KiB of SRAM1; the `db load` buffer in SRAM2): 33 KB of room beside
    arena, scratch, stack and harness for 88 KB of constants. The 3x3 layers on 32x32 and 16x16 pixels
    (each weight read once per pair of 1,024 or 256 pixels), the ADDs' tables (a lookup per input
    element) and the 1x1 layer on 8x8 pixels go to RAM; the 3x3 layers on 8x8 pixels and the
    classifier (57 KB) stay in flash."""
    l475, an386 = load_board("b-l475e-iot01a"), load_board("qemu-mps2-an386")
    ic01_bench = get_benchmark("ic01")
    ic01 = compile_model(models_dir / "ic01.tflite", core="cortex-m4")
    placement = place_constants(an386, ic01, ic01_bench, code_for=l475)
    assert placement.partial and not placement.every_layer
    assert placement.layers == (0, 1, 2, 3, 4, 5, 6, 7, 10, 11)
    by_index = {layer.index: layer for layer in ic01.layers}
    assert placement.bytes_in_ram == sum(by_index[i].param_bytes for i in placement.layers) == 30_340
    room = l475.ram.size - (ram_needed_with_constants(ic01, ic01_bench, l475) - ic01.weight_bytes)
    assert placement.bytes_in_ram + PARAMS_BLOCK_BYTES * len(placement.layers) <= room
    # Greedy by flash misses per byte: a layer left in flash did not fit beside those ranked above it.
    ranked = sorted((layer for layer in ic01.layers if layer.param_bytes),
                    key=lambda layer: (-flash_misses_per_byte(layer), layer.index))
    taken = 0
    for layer in ranked:
        cost = layer.param_bytes + PARAMS_BLOCK_BYTES
        assert (layer.index in placement.layers) == (taken + cost <= room), layer.index
        taken += cost if layer.index in placement.layers else 0
    assert [layer.index for layer in ranked[:3]] == [1, 2, 0]  # the 3x3 layers on 32x32 pixels first
    # The model source marks exactly those layers' definitions; no build flag moves the rest.
    project = render_project(an386, ic01_bench, models_dir / "ic01.tflite", tmp_path / "ic01", code_for=l475)
    assert not project.constants_in_ram and project.ram_constant_layers == list(placement.layers)
    assert project.constant_bytes_in_ram == 30_340
    assert FLAG not in (tmp_path / "ic01" / "platformio.ini").read_text()
    source = (tmp_path / "ic01" / "src" / "model" / "tinyrig_model.cc").read_text()
    marks = re.findall(r"^(TINYRIG_CONSTANT(?:_IN_RAM)?) .*\bk_layer(\d+)_\w+(?:\[\d+\])? = ", source,
                       flags=re.MULTILINE)
    assert marks and {int(n) for m, n in marks if m == "TINYRIG_CONSTANT_IN_RAM"} == set(placement.layers)
    assert {int(n) for m, n in marks if m == "TINYRIG_CONSTANT"} == {
        layer.index for layer in ic01.layers if layer.kernel and layer.index not in placement.layers}
    # A board whose RAM the rest fills moves nothing.
    assert place_constants(an386, ic01, ic01_bench, code_for=_with_ram(l475, room - 1024)) == IN_FLASH


def test_the_db_buffer_goes_to_a_further_ram_region(models_dir):
    """b-l475e-iot01a's SRAM2 (32 KiB) takes the buffer the host fills with `db load`: vww01's 27,648 B
    no longer count against the 96 KiB SRAM1, which then also takes some of its constants."""
    l475, vww = load_board("b-l475e-iot01a"), get_benchmark("vww01")
    vww01 = compile_model(models_dir / "vww01.tflite", core="cortex-m4")
    assert db_buffer_region(l475, vww) == "sram2" and db_buffer_region(load_board("nucleo-l4r5zi"), vww) == ""
    assert harness_ram_bytes(vww, vww01, l475) == harness_ram_bytes(vww, vww01) - 27_648
    placement = place_constants(load_board("qemu-mps2-an386"), vww01, vww, code_for=l475)
    assert placement.partial and 0 < placement.bytes_in_ram < vww01.weight_bytes
