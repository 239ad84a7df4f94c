"""CONV_2D's 3x2 SMLAD block over int8 weights with the depth padded to a multiple of 4
(2 SMLAD steps): the assembly run's entry by units of 2 steps (units % 16 of 0..15, one
to three 32-step passes), a last odd filter and a last partial run of pixels (through the
run into scratch), bit-exact under QEMU against tflite-micro on qemu-mps2-an386 and
qemu-mps3-an547 (where it runs whatever Helium declines); the 3x3x3 window-row path
(depth 27 -> 28) walked row by row; and windows of whole 4-byte rows read 3 at a time
from the image, those touching padding (an input too large for the bordered copy)
gathered 3 side by side.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARDS = ("qemu-mps2-an386", "qemu-mps3-an547")

# (seed, input shape, [(out_channels, kernel, padding, activation)], expected "depth a->b" notes)
CASES = [
    # 35 pixels (a last run of 2); depths 12 (3 units), 20 (5), 4 (1), then 3x3 on 6 channels:
    # 54 -> 56 (14 units: two passes, entering at the 6th unit from the end); odd filter counts
    (91, (1, 5, 7, 12), [(20, (1, 1), "VALID", "NONE"), (4, (1, 1), "VALID", "RELU6"), (6, (1, 1), "VALID", "NONE"),
                         (7, (3, 3), "SAME", "NONE")],
     ["depth 12->12", "depth 20->20", "depth 4->4", "depth 54->56"]),
    # 3x3 on 4 channels: depth 36 (9 units: two passes, the first of 1 unit), 5 filters
    (92, (1, 6, 6, 4), [(5, (3, 3), "VALID", "NONE"), (3, (2, 2), "VALID", "NONE")],
     ["depth 36->36", "depth 20->20"]),
    # 3x3 on 3 channels (27 -> 28) with an even filter count, row by row: in place (an
    # input too large for the bordered copy) at stride 2 with 35-wide output rows (runs
    # across rows, the right and bottom windows in padding), then from the bordered copy
    (93, (1, 40, 70, 3), [(6, (3, 3), "SAME", "RELU6", (2, 2))], ["depth 27->28"]),
    (94, (1, 9, 10, 3), [(4, (3, 3), "SAME", "NONE", (1, 1))], ["depth 27->28"]),
    # 3x3 on 16 channels, SAME, 24x24 (26x26x16 is over the bordered copy's 8 KiB): depth 144
    # (36 units: three passes, the first of 4 units), edge windows gathered 3 at a time;
    # 7 filters (an odd last one), clamped; then 1x1 on 7 channels (depth 7 -> 8, 1 unit)
    (98, (1, 24, 24, 16), [(7, (3, 3), "SAME", "RELU6"), (3, (1, 1), "VALID", "NONE")],
     ["depth 144->144", "depth 7->8"]),
    # 3x3 on 8 channels at stride 2 (depth 72: 18 units, two passes), then 1x1 on depth 132
    # (33 units, entering at the 16th unit of a 3-pass run) and depth 64 (exactly 1 pass)
    (96, (1, 13, 11, 8), [(132, (3, 3), "SAME", "NONE", (2, 2)), (64, (1, 1), "VALID", "RELU"),
                          (5, (1, 1), "VALID", "NONE")],
     ["depth 72->72", "depth 132->132", "depth 64->64"]),
]


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers,depths", CASES)
def test_conv_depth_units_bit_exact_under_qemu(board_name, seed, shape, layers, depths, tmp_path):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = x
    for out_channels, kernel, padding, activation, *stride in layers:
        y = tb.conv2d(mb, y, out_channels=out_channels, kernel=kernel, stride=stride[0] if stride else (1, 1),
                      dilation=(1, 1), padding=padding, activation=activation)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = [layer.note for layer in compile_model(model, core=load_board("qemu-mps2-an386").core).layers
             if layer.op == "CONV_2D"]
    assert len(notes) == len(depths) and all(d in n and "3x2 SMLAD" in n for d, n in zip(depths, notes)), notes
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)
