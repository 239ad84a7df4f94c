"""CONV_2D windows on 1-3 input channels with whole-word rows run as deep pixels of the 1x1 kernel's
2-pixel x 4-filter block (DspPatchQuadParams, tinyrig_dsp_patch_quad.cc) are bit-exact under QEMU
against tflite-micro: kws01's 10x4 stem on one channel (the zero-point-bordered copy, a row of one
word: widen2_word_rows), windows of 3 words a row on 3 channels, an odd row count (the widening's
last row alone), odd pixel counts (a last pixel paired with itself), a depth past the straight runs
(the run of any depth, entered mid-pass), clamps, strides, per-tensor and per-channel scales; the
build sized for a 1 KB flash cache; the host build's C++ path on the same models. Which layers it
declines, and that its cost estimate leaves few pixels to the 3x2 block.

Layers between the windows (1x1 to 1-3 channels) run on conv.py; every model's patch layers are
asserted from the notes. The edge cases set the cycle estimate aside (`forced`).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model, load_graph, lower_graph
from tinyrig.codegen.kernels.arm_dsp import patch_quad
from tinyrig.codegen.kernels.registry import Declined

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import (check_host_bit_exact, check_model_bit_exact, conv_chain, layer_notes,
                                           symbol_sizes)

BOARD = "qemu-mps2-an386"
NOTE = "window rows widened for the 1x1 2x4 SMLAD block"


def _window(kernel, stride, padding, out_channels, activation="NONE", per_channel=True):
    return dict(kernel=kernel, stride=stride, padding=padding, out_channels=out_channels, activation=activation,
                per_channel=per_channel)


def _squeeze(channels):  # a 1x1 layer onto 1-3 channels, for the next window (conv.py runs it)
    return dict(kernel=(1, 1), stride=(1, 1), padding="VALID", out_channels=channels, activation="NONE",
                per_channel=True)


# (seed, input shape, [conv options], how many layers the kernel takes). Seeds whose random
# weights put the windows on the kernel (random quantisations often have all-zero filters or need
# the register-shift requantisation, both declined).
CASES = [
    # kws01's stem (49x10x1, 10x4 at stride 2, SAME: bordered copy 58x12, 125 pixels), then onto 3
    # channels and a 2x4 window on them (rows of 3 words, depth 24), per-tensor.
    (1632, (1, 49, 10, 1), [_window((10, 4), (2, 2), "SAME", 64, "RELU"), _squeeze(3),
                            _window((2, 4), (1, 1), "SAME", 32, "NONE", per_channel=False)], 2),
]
# Shapes the estimate may give to the 3x2 block, run on this kernel all the same.
FORCED = [
    # 3x2 on 2 channels (a row one word, 3 rows: the odd last row), VALID, 25 pixels, clamped; then
    # 9x8 on one channel (depth 72: 18 units, the run of any depth entered mid-pass) SAME at stride
    # (1, 2), per-tensor; then 4x4 at stride (2, 1) on 1 channel, 4 filters, clamped.
    (1602, (1, 7, 6, 2), [_window((3, 2), (1, 1), "VALID", 8, "RELU6"), _squeeze(1),
                          _window((9, 8), (1, 2), "SAME", 8, "NONE", per_channel=False), _squeeze(1),
                          _window((4, 4), (2, 1), "SAME", 4, "RELU6")], 3),
]


def _model(seed, shape, layers):
    return conv_chain(seed, shape, layers, dilation=(1, 1))


def _conv_notes(model) -> list[str]:
    return layer_notes(model, "CONV_2D", BOARD)


def _taken(notes) -> int:
    return sum(NOTE in note for note in notes)


@pytest.fixture
def forced(monkeypatch):
    """This kernel for every layer it can run, whatever its cycle estimate says."""
    monkeypatch.setattr(patch_quad, "_slower_than_pairs", lambda *args: None)


@pytest.mark.parametrize("seed,shape,layers,taken", CASES)
def test_patch_quad_bit_exact_under_qemu(seed, shape, layers, taken, tmp_path):
    model, desc = _model(seed, shape, layers)
    notes = _conv_notes(model)
    assert _taken(notes) == taken and "bordered input copy 58x12" in notes[0], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,layers,taken", FORCED)
def test_patch_quad_edges_bit_exact_under_qemu(forced, seed, shape, layers, taken, tmp_path):
    model, desc = _model(seed, shape, layers)
    assert _taken(_conv_notes(model)) == taken
    # Inputs at the int8 extremes too: the raw-word accumulators' largest sums.
    extremes = np.stack([np.full(shape, -128), np.full(shape, 127)]).astype(np.int8)
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=extremes)


@pytest.mark.parametrize("seed,shape,layers,taken", CASES + FORCED)
def test_patch_quad_host_path_bit_exact(forced, seed, shape, layers, taken, tmp_path):
    """The C++ model of the widening and the run (a host build of the model compiled for a Cortex-M4)."""
    model, _ = _model(seed, shape, layers)
    compiled = compile_model(model, core=load_board(BOARD).core)
    assert _taken([layer.note for layer in compiled.layers if layer.op == "CONV_2D"]) == taken
    check_host_bit_exact(compiled, model, seed, tmp_path)


def test_patch_quad_sized_for_a_flash_cache_bit_exact_under_qemu(tmp_path):
    """nucleo-l4r5zi's 1 KB flash cache: kws01's stem (depth 40, 10 units) takes the 1x1 kernel's run of
    any depth in 5-unit passes, entered mid-pass, instead of its 10-unit straight run, and the one-row
    widening loop; the 2x4 window on 3 channels (6 units) keeps its straight run."""
    seed, shape, layers, _ = CASES[0]
    model, desc = _model(seed, shape, layers)
    firmware = check_model_bit_exact(BOARD, model, desc, seed, tmp_path, code_for="nucleo-l4r5zi")
    assert "-DTINYRIG_FLASH_ICACHE_BYTES=1024" in (tmp_path / "fw" / "platformio.ini").read_text()
    runs = symbol_sizes(firmware.build.elf, r"\bquad_run(_clamp)?(_\d+)?\(")
    assert len(runs) == 2 and max(runs) < 1024, runs  # quad_run, quad_run_6


def _decline_reason(shape, seed=1603, **conv) -> str | None:
    """Why the kernel declines a one-CONV_2D model's layer (None: it takes it), asked of its specialiser
    directly: the shape checks come before the random quantisation's."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = tb.conv2d(mb, x, dilation=conv.pop("dilation", (1, 1)), activation="NONE", **conv)
    model, _ = tb.finish_model(mb, [x], y, seed=seed)
    (layer,) = [plan for plan in lower_graph(load_graph(model)[0]) if plan.kernel_id == "conv2d_s8"]
    try:
        patch_quad.specialize_patch_quad(layer)
    except Declined as exc:
        return str(exc)
    return None


def test_patch_quad_declines_what_it_does_not_run(forced):
    # 1x1 (pointwise kernels), channels in fours (band_quad or conv's band path).
    assert "1x1" in _decline_reason((1, 12, 10, 2), kernel=(1, 1), stride=(1, 1), padding="VALID", out_channels=8)
    assert "in fours" in _decline_reason((1, 12, 10, 4), kernel=(3, 3), stride=(1, 1), padding="SAME",
                                         out_channels=8)
    # Window rows not whole words (3x3 on RGB: K = 27), filters not whole quads, dilation.
    assert "rows of 9 bytes" in _decline_reason((1, 12, 10, 3), kernel=(3, 3), stride=(2, 2), padding="SAME",
                                                out_channels=8)
    assert "output channels" in _decline_reason((1, 12, 10, 2), kernel=(3, 2), stride=(1, 1), padding="SAME",
                                                out_channels=6)
    assert "dilation" in _decline_reason((1, 12, 10, 2), kernel=(3, 2), stride=(1, 1), padding="VALID",
                                         out_channels=8, dilation=(2, 1))
    # A bordered copy over conv.py's 8 KiB.
    assert "bordered input copy" in _decline_reason((1, 100, 50, 2), kernel=(3, 2), stride=(1, 1), padding="SAME",
                                                    out_channels=8)
    # Filters with all-zero weights (conv.py's live-filter wrapper skips them), where the same layer
    # without them is taken.
    window = dict(kernel=(3, 2), stride=(1, 1), padding="SAME", out_channels=8)
    assert _decline_reason((1, 12, 10, 2), seed=1604, **window) is None
    assert "all-zero" in _decline_reason((1, 12, 10, 2), seed=1604, zero_filters=(2, 3, 5), **window)


def test_patch_quad_leaves_few_pixels_to_the_3x2_block(models_dir):
    """Without `forced`: 3 output pixels (one call of the 3x2 block, two pixel pairs here) of a
    shallow window with 4 filters stay on conv.py; kws01's stem is this kernel's."""
    assert "estimated faster" in _decline_reason((1, 3, 4, 2), kernel=(3, 2), stride=(1, 1), padding="VALID",
                                                 out_channels=4)
    assert patch_quad._slower_than_pairs(125, 10, 40, 64) is None
    stem = compile_model(models_dir / "kws01.tflite", core=load_board(BOARD).core).layers[0]
    assert NOTE in stem.note and "bordered input copy 58x12" in stem.note, stem.note
