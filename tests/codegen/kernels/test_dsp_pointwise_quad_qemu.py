"""The 1x1 CONV_2D kernel in 2-pixel x 4-filter blocks (DspPointwiseQuadParams,
tinyrig_dsp_pointwise_quad.cc) is bit-exact under QEMU against tflite-micro: odd pixel counts (a
last pixel paired with itself, its outputs through scratch), strides, 4 to 64 filters, depths 4
(one unit: the run enters at the pass's end), 12, 64 (one pass after the first unit) and 136 (three
passes entered mid-pass), clamping activations, per-tensor and per-channel quantisation; on the
build sized for a 1 KB flash cache (5-unit passes, several passes with a mid-pass entry); the host
build's C++ path on the same models; and seeded random 1x1 layers. Which layers it declines, and
that its cost estimate leaves shallow or small layers to the 3x2 block.

Small layers are declined by the kernel's cycle estimate (the 3x2 block is faster there); the
cases that exercise the run's edges on such shapes set the estimate aside (`forced`): the kernel
is still the one built and run.
"""

from __future__ import annotations


import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.arm_dsp import pointwise_quad

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import (check_host_bit_exact, check_model_bit_exact, conv_chain, layer_notes,
                                           symbol_sizes)

BOARD = "qemu-mps2-an386"
NOTE = "2x4 SMLAD block"

# (seed, input shape, [conv options]); every layer is 1x1 VALID.
CASES = [
    # kws01's shape (125 pixels: 62 pairs and a last one), then clamped at stride 2 onto 32 filters.
    (959, (1, 25, 5, 64), [dict(out_channels=64, stride=(1, 1), activation="NONE"),
                           dict(out_channels=32, stride=(2, 2), activation="RELU6")]),
    # Depth 136: 34 units, three 16-unit passes entered at unit 15; per-tensor; 7x9 = 63 pixels.
    (302, (1, 7, 9, 136), [dict(out_channels=24, stride=(1, 1), activation="RELU", per_channel=False)]),
    # Strides (1, 3) and (2, 1) on 48 channels (12 units: one pass after the first unit).
    (415, (1, 9, 16, 48), [dict(out_channels=48, stride=(1, 3), activation="NONE"),
                           dict(out_channels=64, stride=(2, 1), activation="RELU6")]),
]
# Shapes the cycle estimate gives to the 3x2 block, run here on the 2x4 block all the same.
FORCED = [
    # depth 4 (one unit: entry at the pass's end), 4 filters, 15 pixels (a last single one); then
    # depth 8 with a clamp at stride 2 (3 pixels).
    (311, (1, 3, 5, 4), [dict(out_channels=4, stride=(1, 1), activation="NONE"),
                         dict(out_channels=8, stride=(1, 1), activation="RELU6"),
                         dict(out_channels=12, stride=(2, 2), activation="RELU6", per_channel=False)]),
    # depth 12 (3 units), 1 pixel, then 8 filters on depth 8 with a clamp (pointwise8 takes none).
    (312, (1, 1, 1, 12), [dict(out_channels=8, stride=(1, 1), activation="RELU"),
                          dict(out_channels=4, stride=(1, 1), activation="RELU6")]),
    (313, (1, 4, 5, 12), [dict(out_channels=12, stride=(1, 2), activation="NONE"),
                          dict(out_channels=16, stride=(1, 1), activation="NONE")]),
]


def _model(seed, shape, layers):
    return conv_chain(seed, shape, layers, kernel=(1, 1), dilation=(1, 1), padding="VALID")


def _conv_notes(model) -> list[str]:
    return layer_notes(model, "CONV_2D", BOARD)


@pytest.fixture
def forced(monkeypatch):
    """The 2x4 block for every layer it can run, whatever its cycle estimate says."""
    monkeypatch.setattr(pointwise_quad, "_slower_than_pairs", lambda *args: None)


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_pointwise_quad_bit_exact_under_qemu(seed, shape, layers, tmp_path):
    model, desc = _model(seed, shape, layers)
    notes = _conv_notes(model)
    assert len(notes) == len(layers) and all(NOTE in n for n in notes), notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,layers", FORCED)
def test_pointwise_quad_edges_bit_exact_under_qemu(forced, seed, shape, layers, tmp_path):
    model, desc = _model(seed, shape, layers)
    notes = _conv_notes(model)
    assert len(notes) == len(layers) and all(NOTE in n for n in notes), notes
    # Inputs at the int8 extremes too: the raw-word accumulators' largest sums.
    extremes = np.stack([np.full(shape, -128), np.full(shape, 127)]).astype(np.int8)
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=extremes)


@pytest.mark.parametrize("seed,shape,layers", CASES + FORCED)
def test_pointwise_quad_host_path_bit_exact(forced, seed, shape, layers, tmp_path):
    """The C++ model of the run (a host build of the model compiled for a Cortex-M4)."""
    model, _ = _model(seed, shape, layers)
    compiled = compile_model(model, core=load_board(BOARD).core)
    assert all(NOTE in layer.note for layer in compiled.layers if layer.op == "CONV_2D"), compiled.layers
    check_host_bit_exact(compiled, model, seed, tmp_path)


def test_pointwise_quad_sized_for_a_flash_cache_bit_exact_under_qemu(forced, tmp_path):
    """nucleo-l4r5zi's 1 KB flash cache: the runs have 5-unit passes and fit it (16 units: 1.9 KB);
    depth 64 is three whole passes, depth 36 two entered at unit 2; depths 16, 24 and 4 have
    straight runs (at most 6 units: one pass; depth 64's straight run would be 1.9 KB)."""
    seed, shape = 373, (1, 5, 5, 64)
    model, desc = _model(seed, shape, [dict(out_channels=16, stride=(1, 1), activation="NONE"),
                                       dict(out_channels=24, stride=(1, 1), activation="RELU6"),
                                       dict(out_channels=36, stride=(1, 1), activation="NONE"),
                                       dict(out_channels=4, stride=(2, 2), activation="NONE"),
                                       dict(out_channels=8, stride=(1, 1), activation="NONE")])
    notes = _conv_notes(model)
    assert len(notes) == 5 and all(NOTE in n for n in notes), notes
    firmware = check_model_bit_exact(BOARD, model, desc, seed, tmp_path, code_for="nucleo-l4r5zi")
    assert "-DTINYRIG_FLASH_ICACHE_BYTES=1024" in (tmp_path / "fw" / "platformio.ini").read_text()
    # The run of any depth; the straight runs of 4, 6 and 1 units.
    sizes = symbol_sizes(firmware.build.elf, r"\bquad_run(_clamp)?(_\d+)?\(")
    assert len(sizes) == 4 and max(sizes) < 1024, sizes


def test_pointwise_quad_random_layers_bit_exact_under_qemu(forced, tmp_path):
    """Seeded random 1x1 chains (the kernel fuzz's random models rarely have whole groups of 4
    channels and filters): depths and filter counts in multiples of 4, strides 1-3, any activation,
    either quantisation. The first 3 seeds from 6100 whose models put at least 2 layers on the
    kernel (random quantisations often need the register-shift requantisation it declines)."""
    checked = 0
    for seed in range(6100, 6140):
        rng = np.random.default_rng(seed)
        mb = tb.ModelBuilder(rng)
        x = mb.input((1, int(rng.integers(1, 12)), int(rng.integers(1, 12)), 4 * int(rng.integers(1, 20))))
        y = x
        for _ in range(3):
            y = tb.conv2d(mb, y, kernel=(1, 1), dilation=(1, 1), padding="VALID",
                          out_channels=4 * int(rng.integers(1, 20)),
                          stride=(int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 1, 2, 3]))))
        model, desc = tb.finish_model(mb, [x], y, seed=seed)
        if sum(NOTE in n for n in _conv_notes(model)) < 2:
            continue
        (tmp_path / str(seed)).mkdir()
        check_model_bit_exact(BOARD, model, desc, seed, tmp_path / str(seed))
        checked += 1
        if checked == 3:
            return
    pytest.fail(f"only {checked} of the random models put 2 layers on the kernel")


def _one_layer(shape, **conv):
    mb = tb.ModelBuilder(np.random.default_rng(331))
    x = mb.input(shape)
    y = tb.conv2d(mb, x, kernel=(1, 1), dilation=(1, 1), padding="VALID", **conv)
    model, _ = tb.finish_model(mb, [x], y, seed=331)
    notes = _conv_notes(model)
    assert len(notes) == 1
    return notes[0]


def test_pointwise_quad_declines_what_it_does_not_run(forced):
    # Depth or filters not whole groups of 4: the 3x2 block.
    assert "3x2 SMLAD" in _one_layer((1, 6, 6, 6), out_channels=8, stride=(1, 1), activation="NONE")
    assert "3x2 SMLAD" in _one_layer((1, 6, 6, 12), out_channels=6, stride=(1, 1), activation="NONE")
    # 8 input channels without a clamp: pointwise8.
    assert "1x1 depth 8" in _one_layer((1, 6, 6, 8), out_channels=8, stride=(1, 1), activation="NONE")
    # Filters with all-zero weights: conv.py's sparse pairs skip them.
    note = _one_layer((1, 6, 6, 16), out_channels=16, stride=(1, 1), activation="NONE", zero_filters=(1, 5, 6))
    assert NOTE not in note and "13 live of 16" in note, note


def test_pointwise_quad_leaves_small_layers_to_the_3x2_block():
    """Without `forced`: the cycle estimate (fitted to the cycle model) keeps shallow layers with
    few filters on the 3x2 block, whose epilogue and widening cost less per pixel."""
    assert "3x2 SMLAD" in _one_layer((1, 6, 6, 4), out_channels=8, stride=(1, 1), activation="NONE")
    assert "3x2 SMLAD" in _one_layer((1, 12, 12, 8), out_channels=8, stride=(1, 1), activation="RELU6")
    assert NOTE in _one_layer((1, 24, 24, 32), out_channels=32, stride=(1, 1), activation="NONE")
    assert pointwise_quad.quad_cycles(125, 64, 64, False) < pointwise_quad.pairs_cycles(125, 64, 64, False)
    assert pointwise_quad.quad_cycles(36, 4, 8, False) > pointwise_quad.pairs_cycles(36, 4, 8, False)
