"""The one-column DEPTHWISE_CONV_2D kernel (DspDepthwiseColumnParams,
tinyrig_dsp_depthwise_column.cc: sww01's 1-D convolutions along time) is bit-exact under
QEMU against tflite-micro on qemu-mps2-an386: even and odd numbers of tap pairs (the
assembly's two entries; 1x1, 3x1, 4x1, 5x1, 10x1, 15x1 filters), output heights that fill
the last 4-output block or leave 1-3 outputs in it, top and bottom zero-point padding (SAME),
several columns read with a column stride, a channel count that is not a multiple of 4 (the
widening's ragged tail) and a clamping activation (the C++ block loop). On an547 these
layers run the Helium depthwise kernel (test_mve_depthwise_planar_qemu.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

NOTE = "column SMLAD on height pairs"
M4 = load_board("qemu-mps2-an386").core


def depthwise(mb, y, kernel, stride=(1, 1), padding="VALID", activation="NONE", per_channel=True):
    return tb.depthwise_conv2d(mb, y, kernel=kernel, stride=stride, dilation=(1, 1), depth_multiplier=1,
                               padding=padding, activation=activation, per_channel=per_channel)


def dsp_depthwise_notes(model: bytes) -> list[tuple[str, str]]:
    return [(layer.variant, layer.note) for layer in compile_model(model, core=M4).layers
            if layer.op == "DEPTHWISE_CONV_2D"]


def sww01_like(seed: int):
    """sww01's shape of layers on 12 channels: 3x1 (2 tap pairs, 28 outputs: full blocks),
    5x1 SAME (3 pairs, padding rows), 10x1 (5 pairs, 19 outputs: 3 in the last block), 3x1
    with RELU6 (the clamping C++ loop)."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 30, 1, 12))
    y = depthwise(mb, x, (3, 1))
    y = depthwise(mb, y, (5, 1), padding="SAME")
    y = depthwise(mb, y, (10, 1))
    y = depthwise(mb, y, (3, 1), activation="RELU6")
    return mb, x, y


def columns_and_tails(seed: int):
    """7 channels (one ragged group of 3), 3 input columns: 15x1 read every second column
    (8 tap pairs, 6 outputs: 2 in the last block), 4x1 SAME (even, padding above and below),
    2x1 per-tensor (one pair, 5 outputs: 1 in the last block), 1x1 (a single odd pair (w, 0))."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 20, 3, 7))
    y = depthwise(mb, x, (15, 1), stride=(1, 2))
    y = depthwise(mb, y, (4, 1), padding="SAME")
    y = depthwise(mb, y, (2, 1), per_channel=False)
    y = depthwise(mb, y, (1, 1))
    return mb, x, y


@pytest.mark.parametrize("seed,build", [(201, sww01_like), (203, columns_and_tails)])
def test_depthwise_column_bit_exact_under_qemu(seed, build, tmp_path):
    mb, x, y = build(seed)
    model, desc = tb.finish_model(mb, [x], y, seed=seed)
    notes = dsp_depthwise_notes(model)
    assert len(notes) == 4 and all(v == "arm_dsp" and NOTE in n for v, n in notes), notes
    check_model_bit_exact("qemu-mps2-an386", model, desc, seed, tmp_path)


def test_depthwise_column_declines_wide_filters_and_strides_along_the_column():
    mb = tb.ModelBuilder(np.random.default_rng(205))
    x = mb.input((1, 12, 6, 8))
    y = depthwise(mb, x, (3, 2))  # two columns wide
    y = depthwise(mb, y, (3, 1), stride=(2, 1))  # stride 2 along the column
    model, _ = tb.finish_model(mb, [x], y, seed=205)
    notes = dsp_depthwise_notes(model)
    assert len(notes) == 2 and not any(NOTE in n for _, n in notes), notes
