"""The Helium kernels' paths, bit-exact with tflite-micro under QEMU on qemu-mps3-an547.

Random models rarely draw the shapes that reach each path of the Helium kernels
(the pixel-pair 3x3 depthwise with an odd width and a partial channel quad, the
direct and gathered convolution columns with a partial filter quad and an odd
pixel count, batched FULLY_CONNECTED, average pools whose windows shrink at the
padded edges), so these models are built to contain them. Each case checks first
that the Helium variant really ran every layer it is about.
"""

from __future__ import annotations


import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.kernels.registry import Declined
from tinyrig.codegen.kernels.arm_mve.pooling import exact_reciprocal
from tinyrig.codegen.kernels.arm_mve.requant import requant_table

from tinyrig_testing import tflite_builder as tb  # noqa: E402
from tinyrig_testing.kernel_checks import check_model_bit_exact


BOARD = "qemu-mps3-an547"



def helium_notes(model: bytes, op: str) -> list[str]:
    layers = [layer for layer in compile_model(model, core=load_board(BOARD).core).layers if layer.op == op]
    assert layers and all(layer.variant == "arm_mve" for layer in layers), [(l.op, l.variant) for l in layers]
    return [layer.note for layer in layers]


def depthwise_chain(seed: int, size: int):
    """11 channels of size x size through a 3x3 stride-2 SAME depthwise (RELU6), a 3x3
    stride-1 SAME one and a 2x3 VALID one at strides (1, 2) (RELU)."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, size, size, 11))
    y = tb.depthwise_conv2d(mb, x, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), depth_multiplier=1,
                            padding="SAME", activation="RELU6", mode="calibrated")
    y = tb.depthwise_conv2d(mb, y, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), depth_multiplier=1,
                            padding="SAME", activation="NONE", mode="calibrated")
    y = tb.depthwise_conv2d(mb, y, kernel=(2, 3), stride=(1, 2), dilation=(1, 1), depth_multiplier=1,
                            padding="VALID", activation="RELU", mode="calibrated")
    return tb.finish_model(mb, [x], y, seed=seed)


def test_depthwise_paths_bit_exact(tools, tmp_path):
    """The planar path: 3x3 stride 2 then stride 1 with lines along rows (7x7 outputs:
    a partial group of 4 per line; 11 channels), then a 2x3 filter whose 6x3 output
    runs its lines down the columns."""
    seed = 52
    model, desc = depthwise_chain(seed, 13)
    notes = helium_notes(model, "DEPTHWISE_CONV_2D")
    assert all("planar" in n for n in notes), notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_depthwise_ring_path_bit_exact(tools, tmp_path, monkeypatch):
    """The ring path (windows a 16-byte gather cannot reach: forced here by refusing
    every planar geometry): 3x3 pixel pairs at strides 2 and 1 with odd widths and a
    partial quad, then the tap-by-tap path."""
    from tinyrig.codegen.kernels.arm_mve import depthwise as mve_depthwise

    monkeypatch.setattr(mve_depthwise, "_planar_geometry", lambda p: None)
    seed = 52
    model, desc = depthwise_chain(seed, 9)
    notes = helium_notes(model, "DEPTHWISE_CONV_2D")
    assert ["pixel-pair" in n for n in notes] == [True, True, False], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_conv_and_fully_connected_paths_bit_exact(tools, tmp_path, monkeypatch):
    """Gathered columns (3x3 with padding, stride 2, 7 filters: a partial quad; 5x5 -> 3x3
    = 9 pixels: an odd last pixel), a dilated 3x3, a direct 1x1 over 32 channels and a
    gathered 1x1 over 8 channels, then a batched FULLY_CONNECTED (depth 20: padded).
    The first-convolution kernel (kernels/arm_mve/conv_window.py) is switched off so the
    3-channel 3x3 takes the general conv's gathered path."""
    from tinyrig.codegen.kernels.arm_mve import conv_window as mve_conv_window

    monkeypatch.setattr(mve_conv_window, "MAX_INPUT_C", 0)
    seed = 53
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 5, 5, 3))
    y = tb.conv2d(mb, x, out_channels=7, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), padding="SAME",
                  activation="RELU6", mode="calibrated")
    y = tb.conv2d(mb, y, out_channels=32, kernel=(3, 3), stride=(1, 1), dilation=(2, 2), padding="SAME",
                  activation="NONE", mode="calibrated")
    y = tb.conv2d(mb, y, out_channels=8, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="RELU", mode="calibrated")
    y = tb.conv2d(mb, y, out_channels=20, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="calibrated")
    y = tb.reshape(mb, y, (3, 60))
    y = tb.fully_connected(mb, y, units=6, activation="NONE", mode="calibrated")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "CONV_2D")
    assert [n.split(" 2x4")[0] for n in notes] == ["gathered", "gathered", "1x1 direct", "gathered"], notes
    helium_notes(model, "FULLY_CONNECTED")
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_conv_chunk_counts_bit_exact(tools, tmp_path):
    """Every entry of the multiply-accumulate run: depths of 1 to 9 16-byte chunks (0 to 7
    straight-line chunks after the first, and the loop beyond), over 15 pixels (a lone
    last pixel) with a last partial filter quad."""
    seed = 61
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    y = x = mb.input((1, 3, 5, 144))
    for out_channels in (128, 112, 96, 80, 64, 48, 32, 16, 7):
        y = tb.conv2d(mb, y, out_channels=out_channels, kernel=(1, 1), stride=(1, 1), dilation=(1, 1),
                      padding="VALID", activation="RELU6" if out_channels % 32 else "NONE", mode="calibrated")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "CONV_2D")
    assert [int(n.split("->")[1].split()[0].rstrip(",")) // 16 for n in notes] == [9, 8, 7, 6, 5, 4, 3, 2, 1], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_packed_pointwise_bit_exact(tools, tmp_path):
    """1x1 convolutions over 4, 8 and 1 input channels read 4, 2 and 16 pixels per
    16-byte column (block-diagonal filters), including an output count (5) that is not
    a multiple of 4."""
    seed = 59
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 4, 8, 4))
    y = tb.conv2d(mb, x, out_channels=8, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="RELU", mode="calibrated")
    y = tb.conv2d(mb, y, out_channels=1, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="calibrated")
    y = tb.conv2d(mb, y, out_channels=5, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="calibrated")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "CONV_2D")
    assert [n.split("(")[-1].split(")")[0] for n in notes] == ["4 pixels per column", "2 pixels per column",
                                                              "16 pixels per column"], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_conv_any_shift_epilogue_bit_exact(tools, tmp_path):
    """Convolutions whose effective scale exceeds 1 ("hot" outputs: left shifts, or no
    right shift) take the general vector epilogue."""
    seed = 57
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 4, 5, 16))
    y = tb.conv2d(mb, x, out_channels=10, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="hot")
    y = tb.conv2d(mb, y, out_channels=6, kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME",
                  activation="RELU", mode="hot")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = helium_notes(model, "CONV_2D")
    assert all("left-shift epilogue" in n for n in notes), notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_add_bit_exact(tools, tmp_path):
    """ADD of two activations, 105 values (a partial vector at the end), and an ADD with
    a fused RELU; the gather loads read the per-input rescaling tables."""
    seed = 58
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 3, 5, 7))
    y = tb.conv2d(mb, x, out_channels=7, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="calibrated")
    z = tb.add(mb, x, y, activation="NONE")
    z = tb.add(mb, z, y, activation="RELU")
    model, desc = tb.finish_model(mb, [x], z, seed=seed)
    helium_notes(model, "ADD")
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def test_average_pool_paths_bit_exact(tools, tmp_path):
    """A 3x3 stride-2 SAME pool (windows of 4, 6 and 9 values at the edges; 11 channels)
    and a global pool, as in the MLPerf models."""
    seed = 54
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 8, 7, 11))
    y = tb.pool2d(mb, x, "AVERAGE_POOL_2D", filter=(3, 3), stride=(2, 2), padding="SAME", activation="NONE")
    y = tb.pool2d(mb, y, "AVERAGE_POOL_2D", filter=(4, 4), stride=(1, 1), padding="VALID", activation="RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    helium_notes(model, "AVERAGE_POOL_2D")
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


def extremes(desc: dict) -> np.ndarray:
    """Two inputs: all -128, all 127 (the largest window sums)."""
    shape = tuple(desc["inputs"][0]["shape"])
    return np.stack([np.full(shape, -128, dtype=np.int8), np.full(shape, 127, dtype=np.int8)])


def test_average_pool_int16_lanes_bit_exact(tools, tmp_path):
    """Windows of at most 256 values sum in int16 lanes: 27 channels (a 16-channel step,
    an 8-channel step and a predicated tail of 3) through a 3x3 SAME pool (shrinking
    windows, row by row), then a 16x16 global pool (256 values: constant -128 and 127
    inputs sum to exactly INT16_MIN and to 32512)."""
    seed = 55
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 16, 16, 27))
    y = tb.pool2d(mb, x, "AVERAGE_POOL_2D", filter=(3, 3), stride=(1, 1), padding="SAME", activation="NONE")
    y = tb.pool2d(mb, y, "AVERAGE_POOL_2D", filter=(16, 16), stride=(1, 1), padding="VALID", activation="NONE")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    helium_notes(model, "AVERAGE_POOL_2D")
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extremes(desc))


def test_average_pool_int32_lanes_bit_exact(tools, tmp_path):
    """A window of 272 values (over the int16 limit) keeps int32 lanes."""
    seed = 56
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 17, 16, 5))
    y = tb.pool2d(mb, x, "AVERAGE_POOL_2D", filter=(17, 16), stride=(1, 1), padding="VALID", activation="RELU")
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    helium_notes(model, "AVERAGE_POOL_2D")
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extremes(desc))


def test_reciprocals_divide_exactly():
    for count in (2, 3, 7, 9, 25, 125, 1000, 4096):
        r = exact_reciprocal(count)
        n = np.arange(0, 128 * count + count // 2 + 1, dtype=np.uint64)
        assert np.array_equal((n * np.uint64(r)) >> np.uint64(32), n // np.uint64(count))


def test_requant_table_declines_left_shifts():
    with pytest.raises(Declined, match="shift"):
        requant_table(np.zeros(4), np.full(4, 2**30), np.array([-3, 0, -2, -1]), 4)
    table = requant_table(np.arange(5), np.full(5, 2**30 + 5), np.full(5, -7), 5)
    assert table.shape == (2, 3, 4)
    assert table[1, :, 0].tolist() == [4, 2**30 + 5, -7]  # the 5th channel opens the second quad
    table = requant_table(np.zeros(2), np.full(2, 2**30), np.array([3, -2]), 2, left_shifts=True)
    assert table[0, 2:, :2].tolist() == [[0, -2], [3, 0]]  # -right shifts, then left shifts


def test_planar_depthwise_geometry_limits():
    """The planar path takes every map whose 4 planes fit 32 KB of scratch (tiny maps
    too: a flat run of groups over the whole plane); big images keep the row ring."""
    from tinyrig.codegen.kernels.arm_mve.depthwise import _planar_geometry

    def geometry(size, stride=1):
        out = -(-size // stride)
        return _planar_geometry(dict(filter_h=3, filter_w=3, output_h=out, output_w=out, stride_h=stride,
                                     stride_w=stride, pad_top=1, pad_left=1, output_c=32, input_h=size,
                                     input_w=size))

    tiny = geometry(3)
    assert tiny["plane_len"] == 4 and len(tiny["schedule"]) == 3  # 9 outputs among 11 windows
    assert geometry(112) is None
    mid = geometry(48, stride=2)
    assert mid is not None and mid["scratch"] <= 32768 + 256
    assert mid["stride_along"] == 2 and max(mid["offsets"]) + 2 <= 255
