"""The DSP fast paths added for the Cortex-M4 goal are bit-exact under QEMU against the
tflite-micro interpreter, on qemu-mps2-an386 and on qemu-mps3-an547 (where the DSP
kernels run whatever Helium declines): fuzzed shapes chosen to reach every branch of
the new code (odd line lengths, transposed lines, strides 1/2/3, SAME/VALID padding,
channel counts that are not multiples of 4, clamped and unclamped activations).

Each model chains several layers so that one firmware build covers many shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARDS = ("qemu-mps2-an386", "qemu-mps3-an547")


def _check_variants(model: bytes, board_name: str, op: str, note: str, count: int) -> None:
    """Every `op` layer runs the new DSP path; on an547 Helium kernels may take some
    first (the DSP code then runs only where Helium declines)."""
    layers = [(layer.variant, layer.note) for layer in compile_model(model, core=load_board(board_name).core).layers
              if layer.op == op]
    allowed = ("arm_mve",) if board_name == "qemu-mps3-an547" else ()
    assert len(layers) == count, layers
    assert all(variant in allowed or (variant == "arm_dsp" and note in text) for variant, text in layers), layers


def _depthwise_chain(seed: int, shape, layers):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for stride, padding, activation in layers:
        y = tb.depthwise_conv2d(mb, y, kernel=(3, 3), stride=stride, dilation=(1, 1), depth_multiplier=1,
                                padding=padding, activation=activation)
    return (*tb.finish_model(mb, [x], y, seed=seed), x)


# (seed, input shape, [(stride (h, w), padding, activation)]), each layer a different
# path of the line kernel: transposed when the output is taller than wide.
DEPTHWISE_CASES = [
    # transposed: stride 1 along an odd 15-line, then stride 2 along lines, then stride 3 across
    (51, (1, 15, 6, 5), [((1, 1), "SAME", "RELU6"), ((2, 1), "VALID", "NONE"), ((1, 3), "SAME", "RELU")]),
    # rows: stride 2 along, stride 3 across, odd widths; 11 channels (two groups and a tail of 3)
    (52, (1, 9, 10, 11), [((2, 2), "SAME", "NONE"), ((3, 1), "SAME", "RELU6"), ((1, 1), "SAME", "NONE")]),
    # one channel, transposed at strides 1 and 2 along the lines
    (55, (1, 8, 4, 1), [((1, 2), "SAME", "NONE"), ((2, 1), "SAME", "RELU6")]),
    # a single output per line and per image
    (54, (1, 3, 3, 6), [((1, 1), "VALID", "RELU6")]),
    # the requantisation's entries: lines of 20, 18, 16 (8 per trip twice, after 4, 2 or
    # no single outputs), then 14 (6 first)
    (56, (1, 6, 20, 4), [((1, 1), "SAME", "NONE"), ((1, 1), "VALID", "NONE"), ((1, 1), "VALID", "NONE")]),
    (57, (1, 3, 14, 8), [((1, 1), "SAME", "NONE")]),
    # the MAC entries by steps % 4: stride 2 along 6-output lines (a double step after
    # the loop's top), then stride 1 along them (3 steps)
    (58, (1, 5, 12, 3), [((1, 2), "SAME", "NONE"), ((1, 1), "SAME", "NONE")]),
]


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers", DEPTHWISE_CASES)
def test_depthwise_lines_bit_exact_under_qemu(board_name, seed, shape, layers, tmp_path):
    model, desc, _ = _depthwise_chain(seed, shape, layers)
    _check_variants(model, board_name, "DEPTHWISE_CONV_2D", "planar SMLAD lines", len(layers))
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


# (seed, input shape, [(filter, stride, padding, activation)]): 16-channel passes, a
# 4-channel pass and a 1-3 channel tail; clipped border windows (SAME); clamps; a
# global pool of 256 values (the int16 lanes' limit).
POOL_CASES = [
    (61, (1, 9, 7, 23), [((3, 2), (2, 1), "SAME", "RELU6"), ((2, 4), (1, 2), "VALID", "NONE")]),
    (62, (1, 16, 16, 17), [((16, 16), (1, 1), "VALID", "NONE")]),
    (63, (1, 11, 6, 20), [((3, 3), (2, 3), "SAME", "RELU"), ((6, 2), (1, 1), "VALID", "RELU_N1_TO_1")]),
]


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers", POOL_CASES)
def test_average_pool_bit_exact_under_qemu(board_name, seed, shape, layers, tmp_path):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for filter_hw, stride, padding, activation in layers:
        y = tb.pool2d(mb, y, "AVERAGE_POOL_2D", filter=filter_hw, stride=stride, padding=padding,
                      activation=activation)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    _check_variants(model, board_name, "AVERAGE_POOL_2D", "SXTAB16", len(layers))
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


# CONV_2D with padding, read through the zero-point-bordered input copy: strips that
# are (10x4x1) and are not (5x3x2, 3x3x5, 4x2x3) whole words, strides 2, dilation_h 2,
# asymmetric SAME padding.
CONV_CASES = [
    (71, (1, 19, 10, 1), [dict(out_channels=6, kernel=(10, 4), stride=(2, 2), dilation=(1, 1), padding="SAME",
                               activation="RELU")]),
    (72, (1, 9, 8, 2), [dict(out_channels=5, kernel=(5, 3), stride=(1, 2), dilation=(1, 1), padding="SAME",
                             activation="NONE"),
                        dict(out_channels=3, kernel=(3, 3), stride=(1, 1), dilation=(2, 1), padding="SAME",
                             activation="RELU6"),
                        dict(out_channels=4, kernel=(4, 2), stride=(2, 1), dilation=(1, 1), padding="SAME",
                             activation="NONE")]),
    # 3x3 on 3 channels read as window rows (rgb3x3) from the bordered copy: 56 outputs
    # (a last run of 2), runs across output rows
    (76, (1, 7, 8, 3), [dict(out_channels=5, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME",
                             activation="RELU6")]),
]


# Windows whose rows are not whole words, gathered 3 at a time straight from the input
# (no bordered copy): VALID padding, and an input too large for the copy (windows at
# the bottom and right edges touch the padding and go one at a time).
GATHER_CASES = [
    (73, (1, 9, 9, 3), [dict(out_channels=7, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="VALID",
                             activation="RELU6"),
                        dict(out_channels=3, kernel=(3, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                             activation="NONE")]),  # window rows of 9 and 7 bytes
    (74, (1, 50, 60, 3), [dict(out_channels=4, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), padding="SAME",
                               activation="NONE")]),
    # rgb3x3 in place: dilation_h 2, stride 2 along rows, 23-wide output rows (runs across
    # rows), a last run of 2, the bottom-right windows' word reads kept inside the input
    (75, (1, 41, 47, 3), [dict(out_channels=3, kernel=(3, 3), stride=(1, 2), dilation=(2, 1), padding="VALID",
                               activation="RELU")]),
]


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers", CONV_CASES + GATHER_CASES)
def test_conv_im2col_paths_bit_exact_under_qemu(board_name, seed, shape, layers, tmp_path):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for options in layers:
        y = tb.conv2d(mb, y, **options)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    compiled = compile_model(model, core=load_board("qemu-mps2-an386").core)
    notes = [layer.note for layer in compiled.layers if layer.op == "CONV_2D"]
    bordered = seed in dict((case[0], 1) for case in CONV_CASES)
    assert len(notes) == len(layers) and all(("bordered input copy" in note) == bordered for note in notes), notes
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)
