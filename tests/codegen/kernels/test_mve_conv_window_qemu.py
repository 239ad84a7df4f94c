"""The Helium first-convolution kernel (tinyrig_mve_conv_window.cc), bit-exact with
tflite-micro under QEMU on qemu-mps3-an547: windows over 1-4 input channels read in
place from a re-laid line, at both strides, SAME and VALID, odd widths, filter counts
that are not a multiple of 4, RELU6 clamps, and all -128 / all 127 inputs."""

from __future__ import annotations


import numpy as np

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb  # noqa: E402
from tinyrig_testing.kernel_checks import check_model_bit_exact


BOARD = "qemu-mps3-an547"



def conv_notes(model: bytes) -> list[str]:
    layers = [layer for layer in compile_model(model, core=load_board(BOARD).core).layers if layer.op == "CONV_2D"]
    assert layers and all(layer.variant == "arm_mve" for layer in layers), [(l.op, l.variant) for l in layers]
    return [layer.note for layer in layers]


def conv(mb, x, filters, kernel, stride, padding, activation):
    return tb.conv2d(mb, x, out_channels=filters, kernel=kernel, stride=(stride, stride), dilation=(1, 1),
                     padding=padding, activation=activation, mode="calibrated")


def test_window_chain_bit_exact(tools, tmp_path):
    """15x13x3 -> 3x3 s2 SAME x4 (RELU6) -> 2x3 s1 VALID x2 -> 3x2 s2 SAME x1 -> 3x3 s1 SAME x7
    (RELU): input depths 3, 4, 2 and 1, odd output widths, a partial quad."""
    seed = 71
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 15, 13, 3))
    y = conv(mb, x, 4, (3, 3), 2, "SAME", "RELU6")
    y = conv(mb, y, 2, (2, 3), 1, "VALID", "NONE")
    y = conv(mb, y, 1, (3, 2), 2, "SAME", "NONE")
    y = conv(mb, y, 7, (3, 3), 1, "SAME", "RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = conv_notes(model)
    assert all("window line" in n for n in notes), notes
    batch = np.stack([np.full((1, 15, 13, 3), -128), np.full((1, 15, 13, 3), 127)])
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=batch)


def test_window_tall_filters_bit_exact(tools, tmp_path):
    """kws01-like 10x4 filters over one channel (stride 2 SAME, 3 filters, RELU6), then
    4x3 VALID at stride 1 over those 3 channels into 8 filters (whole quads, 3 chunks)."""
    seed = 72
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 21, 9, 1))
    y = conv(mb, x, 3, (10, 4), 2, "SAME", "RELU6")
    y = conv(mb, y, 8, (4, 3), 1, "VALID", "NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = conv_notes(model)
    assert ["window line" in n for n in notes] == [True, True], notes
    batch = np.stack([np.full((1, 21, 9, 1), -128), np.full((1, 21, 9, 1), 127)])
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=batch)


def test_window_ring_bit_exact(tools, tmp_path):
    """Even output widths take the ring of row slots (each input row laid once, weights
    per row phase): 13x12x3 -> 3x3 s2 SAME x4 (RELU6, a padded top row) -> 3x3 s1 SAME
    x3 (a partial quad) -> 4x3 s1 VALID x4 (a 4-row ring)."""
    seed = 73
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 13, 12, 3))
    y = conv(mb, x, 4, (3, 3), 2, "SAME", "RELU6")
    y = conv(mb, y, 3, (3, 3), 1, "SAME", "NONE")
    y = conv(mb, y, 4, (4, 3), 1, "VALID", "NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = conv_notes(model)
    assert all("ring of rows" in n for n in notes), notes
    batch = np.stack([np.full((1, 13, 12, 3), -128), np.full((1, 13, 12, 3), 127)])
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=batch)
