"""The register-resident 1x1 CONV_2D kernel for 8 input channels (DspPointwise8Params,
tinyrig_dsp_conv.cc pw8_run) is bit-exact under QEMU against tflite-micro, on
qemu-mps2-an386 and qemu-mps3-an547 (where it runs whatever Helium declines): an even
and an odd number of 4-filter halves of the 8-filter loop trip, stride 1 (the whole
image as one run) and strides 2 / 3 (a run per output row), per-channel and per-tensor
quantization. A clamping activation keeps the 3x2 block (the kernel has no register
left for the clamp).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARDS = ("qemu-mps2-an386", "qemu-mps3-an547")
NOTE = "1x1 depth 8, inputs in registers"

# (seed, input shape, [conv options]): every layer reads 8 channels.
CASES = [
    (81, (1, 7, 9, 8), [dict(out_channels=8, stride=(1, 1), activation="NONE"),
                        dict(out_channels=8, stride=(2, 2), activation="NONE"),
                        dict(out_channels=20, stride=(1, 1), activation="NONE")]),
    (85, (1, 10, 5, 8), [dict(out_channels=8, stride=(3, 2), activation="NONE", per_channel=False),
                         dict(out_channels=4, stride=(1, 1), activation="NONE")]),
]


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_pointwise8_bit_exact_under_qemu(board_name, seed, shape, layers, tmp_path):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for options in layers:
        y = tb.conv2d(mb, y, kernel=(1, 1), dilation=(1, 1), padding="VALID", **options)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    layers_info = [(layer.variant, layer.note) for layer in compile_model(model, core=load_board(board_name).core).layers
                   if layer.op == "CONV_2D"]
    allowed = ("arm_mve",) if board_name == "qemu-mps3-an547" else ()
    assert len(layers_info) == len(layers), layers_info
    assert all(v in allowed or (v == "arm_dsp" and NOTE in n) for v, n in layers_info), layers_info
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


def test_pointwise8_declines_clamps_and_odd_filter_counts():
    mb = tb.ModelBuilder(np.random.default_rng(83))
    x = mb.input((1, 4, 4, 8))
    y = tb.conv2d(mb, x, out_channels=6, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE")
    model, _ = tb.finish_model(mb, [x], y, seed=83)
    notes = [layer.note for layer in compile_model(model, core=load_board("qemu-mps2-an386").core).layers
             if layer.op == "CONV_2D"]
    assert notes and NOTE not in notes[0] and "3x2 SMLAD" in notes[0], notes
