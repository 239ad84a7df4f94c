"""The DSP ADD kernel under QEMU on qemu-mps2-an386, bit-exact against tflite-micro: 4 elements
a trip (word loads and a word store) with a tail of 1 (105 values, unaligned halves of one
tensor after a 7-channel conv) and the clamped loop (a fused RELU_N1_TO_1: SSUB8/SEL on both bounds)."""

from __future__ import annotations

import re

import numpy as np

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARD = "qemu-mps2-an386"


def test_dsp_add_bit_exact_under_qemu(tmp_path):
    seed = 58
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input((1, 3, 5, 7))
    y = tb.conv2d(mb, x, out_channels=7, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="NONE", mode="calibrated")
    z = tb.add(mb, x, y, activation="NONE")
    z = tb.add(mb, z, y, activation="RELU_N1_TO_1")
    model, desc = tb.finish_model(mb, [x], z, seed=seed)
    compiled = compile_model(model, core=load_board(BOARD).core)
    adds = [layer for layer in compiled.layers if layer.op == "ADD"]
    assert len(adds) == 2 and all(layer.variant == "arm_dsp" for layer in adds), [a.note for a in adds]
    # The first ADD runs the plain assembly loop, the second its clamping copy (DspAddParams<e, clamp>).
    clamps = sorted(re.findall(r"DspAddParams<\d+, ([01])> ", "".join(compiled.files.values())))
    assert clamps == ["0", "1"], clamps
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)
