"""Optimised kernels are bit-exact under QEMU: the firmware's raw output bytes equal the
tflite-micro interpreter's, for the reference models and for seeded random models, on
qemu-mps2-an386 (Cortex-M4: DSP kernels) and qemu-mps3-an547 (Cortex-M55: Helium plus
DSP kernels). The host cannot run these instructions, so only these runs prove them.

Each case builds the firmware the way `tinyrig run` does (codegen/firmware.py compiles
for the board's core) and checks first that optimised variants were really chosen.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.registry import REFERENCE
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.run.profile import run_inferences
from tinyrig.hil.dut.reference import ReferenceModel

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact, conv_model_taking, optimised_layers

BOARDS = ("qemu-mps2-an386", "qemu-mps3-an547")
MODELS = ("kws01", "vww01", "ic01", "ad01", "sww01")
# Seeded random models per board, forced to contain the op an optimised kernel covers.
FUZZ = [(seed, op) for seed, op in ((11, "CONV_2D"), (12, "DEPTHWISE_CONV_2D"), (13, "FULLY_CONNECTED"),
                                    (21, "CONV_2D"), (22, "DEPTHWISE_CONV_2D"), (17, "ADD"))]



@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("model_id", MODELS)
def test_reference_model_bit_exact_under_qemu(board_name, model_id, models_dir, tmp_path):
    from tinyrig.build.firmware_cache import prepare_firmware

    board, benchmark = load_board(board_name), get_benchmark(model_id)
    model = models_dir / f"{model_id}.tflite"
    assert optimised_layers(model.read_bytes(), board.core), "no optimised kernel was chosen"
    firmware = prepare_firmware(board, benchmark, model, out_dir=tmp_path / "fw")
    reference = ReferenceModel(model, benchmark)
    scale, zero_point = reference.input_quantization()
    inputs = [i.data for i in random_inputs(benchmark, 2, seed=7, input_scale=scale, input_zero_point=zero_point)]
    results = run_inferences(board, firmware.build.elf, inputs)
    for n, (data, result) in enumerate(zip(inputs, results)):
        assert result.raw_output == reference.run(data).raw, f"{model_id} on {board_name}: input {n} differs"


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,op", FUZZ)
def test_fuzzed_model_bit_exact_under_qemu(board_name, seed, op, tmp_path):
    model, desc = tb.random_model(seed, op=op, chain=True)
    if not optimised_layers(model, load_board(board_name).core):
        pytest.skip(f"seed {seed}: every layer declined by the optimised variants ({desc['ops']})")
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


# On an547 depthwise layers run the Helium kernel (test_mve_kernels_qemu.py).
@pytest.mark.parametrize("board_name", ("qemu-mps2-an386",))
def test_depthwise_3x3_blocks_bit_exact_under_qemu(board_name, tmp_path):
    """The 3x3 depthwise line kernel (random filters rarely draw it): stride 2 then 1, an
    odd output width (the second output of the last stride-1 pair is dropped), RELU6
    (the clamped epilogue) and 11 channels (not a multiple of 4: the widening's tail)."""
    seed = 31
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 9, 9, 11))  # outputs 5x5: odd widths
    y = tb.depthwise_conv2d(mb, x, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), depth_multiplier=1,
                            padding="SAME", activation="RELU6")
    y = tb.depthwise_conv2d(mb, y, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), depth_multiplier=1,
                            padding="SAME", activation="NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = [layer.note for layer in compile_model(model, core=load_board(board_name).core).layers
             if layer.op == "DEPTHWISE_CONV_2D"]
    assert len(notes) == 2 and all("planar SMLAD lines" in note for note in notes), notes
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


@pytest.mark.parametrize("board_name", BOARDS)
def test_conv_assembly_run_bit_exact_under_qemu(board_name, tmp_path):
    """The CONV_2D assembly run (3 pixels x all full filter pairs, epilogue, clamp and
    STRH stores in asm): a 3x3 im2col conv with RELU6 (clamp) and 7 filters (a last odd
    filter in C), then a 1x1 conv with 6 filters and no clamp; 5x5 = 25 pixels leaves a
    last partial run of 1 pixel for the C path. On an547 the Helium kernel may take
    the layers; the DSP run is then covered on an386."""
    seed = 41
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 5, 5, 5))
    y = tb.conv2d(mb, x, out_channels=7, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME",
                  activation="RELU6")
    y = tb.conv2d(mb, y, out_channels=6, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    variants = [layer.variant for layer in compile_model(model, core=load_board(board_name).core).layers
                if layer.op == "CONV_2D"]
    assert len(variants) == 2 and REFERENCE not in variants, variants
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


@pytest.mark.parametrize("model_id", ("kws01", "ic01", "vww01"))
def test_conv_run_sized_for_a_flash_cache_bit_exact_under_qemu(model_id, models_dir, tmp_path):
    """A board whose flash has wait states and a small instruction cache (nucleo-l4r5zi: 1 KB)
    gets the conv runs with 8-unit passes and the 2x4 block's with 5, which fit that cache (TINYRIG_FLASH_ICACHE_BYTES; what
    `tinyrig run --predict` times), and the model's constants in RAM (TINYRIG_CONSTANTS_IN_RAM,
    copied there at reset): still bit-exact, over several passes with a mid-pass entry
    (kws01: 16 units a pair, ic01's 3x3 layers: 36) and through vww01's sparse pairs."""
    import subprocess

    from tinyrig.build.firmware_cache import prepare_firmware

    board, mcu, benchmark = load_board("qemu-mps2-an386"), load_board("nucleo-l4r5zi"), get_benchmark(model_id)
    model = models_dir / f"{model_id}.tflite"
    firmware = prepare_firmware(board, benchmark, model, out_dir=tmp_path / "fw", code_for=mcu)
    assert "-DTINYRIG_FLASH_ICACHE_BYTES=1024" in (tmp_path / "fw" / "platformio.ini").read_text()
    symbols = subprocess.run(["arm-none-eabi-nm", "-S", "-C", str(firmware.build.elf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    # conv.py's runs (either requantisation form, one pass or more) or the 2x4 block's (kws01's
    # layers all run on pointwise_quad and patch_quad)
    runs = re.compile(r"\b(conv_run(_clamp)?(_1p)?(_rq3)?|quad_run(_clamp)?(_\d+)?)\(")
    sizes = [int(line.split()[1], 16) for line in symbols if runs.search(line)]
    assert sizes and max(sizes) < 1024, sizes  # each run fits the 1 KB cache (16 units: 1.5 KB)
    # Every constant of the model (weights, epilogue tables, parameter blocks) is a RAM address.
    constants = [line.split() for line in symbols if re.search(r"\bk_layer\d+_\w+$", line)]
    assert constants and firmware.project.constants_in_ram
    outside = [c for c in constants if not board.ram.base <= int(c[0], 16) < board.ram.base + board.ram.size]
    assert not outside, outside
    reference = ReferenceModel(model, benchmark)
    scale, zero_point = reference.input_quantization()
    inputs = [i.data for i in random_inputs(benchmark, 2, seed=8, input_scale=scale, input_zero_point=zero_point)]
    for n, (data, result) in enumerate(zip(inputs, run_inferences(board, firmware.build.elf, inputs))):
        assert result.raw_output == reference.run(data).raw, f"{model_id}: input {n} differs"


def test_some_layers_constants_in_ram_bit_exact_under_qemu(models_dir, tmp_path):
    """ic01 as B-L475E-IOT01A would build it (96 KiB: the constants of the layers that would wait on
    flash most per byte in RAM, the rest in flash; codegen/firmware.py place_constants): each
    constant lies where the placement says, and the outputs stay bit-exact (an ADD's tables in RAM too)."""
    import subprocess

    from tinyrig.build.firmware_cache import prepare_firmware

    board, mcu, benchmark = load_board("qemu-mps2-an386"), load_board("b-l475e-iot01a"), get_benchmark("ic01")
    model = models_dir / "ic01.tflite"
    firmware = prepare_firmware(board, benchmark, model, out_dir=tmp_path / "fw", code_for=mcu)
    project = firmware.project
    assert not project.constants_in_ram and project.ram_constant_layers == [0, 1, 2, 3, 4, 5, 6, 7, 10, 11]
    assert firmware.build.size.ram_bytes <= mcu.ram.size  # the image would fit the L475's SRAM1
    symbols = subprocess.run(["arm-none-eabi-nm", "-C", str(firmware.build.elf)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    placed = {}
    for line in symbols:
        match = re.search(r"^([0-9a-f]+) \w .*\bk_layer(\d+)_\w+$", line)
        if match:
            in_ram = board.ram.base <= int(match.group(1), 16) < board.ram.base + board.ram.size
            placed.setdefault(int(match.group(2)), set()).add(in_ram)
    assert placed and all(len(where) == 1 for where in placed.values()), placed  # a layer's constants together
    assert {layer for layer, where in placed.items() if True in where} == set(project.ram_constant_layers)
    reference = ReferenceModel(model, benchmark)
    scale, zero_point = reference.input_quantization()
    inputs = [i.data for i in random_inputs(benchmark, 2, seed=9, input_scale=scale, input_zero_point=zero_point)]
    for n, (data, result) in enumerate(zip(inputs, run_inferences(board, firmware.build.elf, inputs))):
        assert result.raw_output == reference.run(data).raw, f"ic01: input {n} differs"


# (input HxWxC, filters, kernel, stride, padding, activation): the band path's cases. Rows of
# 3k, 3k+1 and 3k+2 outputs (leftover pixels gathered across rows, a last group of 1 or 2),
# strides 1 and 2, SAME (zero-point border in the band) and VALID, RELU6 (the clamping run),
# a 2-row filter and 4..64 channels (pixel steps 48..768 bytes).
BAND_CASES = [
    ((9, 9, 16), 6, (3, 3), (1, 1), "SAME", "NONE"),      # 9 outputs a row: full runs only
    ((7, 10, 8), 4, (3, 3), (1, 1), "SAME", "RELU6"),     # 10 a row: one leftover a row, clamped
    ((11, 11, 16), 8, (3, 3), (2, 2), "SAME", "NONE"),    # 6 a row at stride 2
    ((8, 13, 32), 2, (3, 3), (1, 1), "VALID", "RELU"),    # 11 a row: two leftovers a row
    ((6, 9, 12), 10, (2, 3), (1, 1), "SAME", "NONE"),     # a 2x3 filter: 48-byte pixel step
    ((5, 8, 64), 4, (3, 3), (2, 2), "SAME", "RELU6"),     # 4 a row: 768-byte pixel step, clamped
]


@pytest.mark.parametrize("case", range(len(BAND_CASES)))
def test_conv_band_bit_exact_under_qemu(case, tmp_path):
    """2-D convolutions on whole groups of 4 channels run the band path (windows read in place
    from a band of widened rows, tinyrig_dsp_conv.cc) and stay bit-exact with the
    interpreter."""
    shape, filters, kernel, stride, padding, activation = BAND_CASES[case]
    # Random quantisations sometimes fall outside the DSP epilogue's range (declined to the
    # reference kernel): the first seed of a fixed range whose layer takes the band path.
    model, desc, seed, _ = conv_model_taking(range(100 * case, 100 * case + 40), shape, lambda note: "band of" in note,
                                             out_channels=filters, kernel=kernel, stride=stride, padding=padding,
                                             activation=activation)
    check_model_bit_exact("qemu-mps2-an386", model, desc, seed, tmp_path)
