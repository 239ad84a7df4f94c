"""The M4 conv runs in both requantisation forms, with and without a clamp, bit-exact under
QEMU against tflite-micro: the 3-instruction form (SMMULR, SMMLAR adding the zero point,
SSAT; conv.py uses it where fused_epilogue.three_instruction_exact holds for every filter)
and the register-shift form (the other layers), over columns (1x1 and im2col), the band
path and the sparse pairs; the column runs also with and without the pass end test (a layer of
one pass has none). The params type names the form (DspConvColumnsParams<clamp, rq3[, passes]>,
DspConvRowsParams<pixel bytes, clamp, rq3, pair channels>, DspConvSparseParams<rq3>), so that only
the runs a model uses are linked; each case asserts the one it reaches.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_model_bit_exact

BOARD = "qemu-mps2-an386"
ZERO_FILTERS = [0, 2, 3, 5, 6, 9, 10, 11]
# "1x1": 4 units a pair, one pass in any build (the runs without the pass end test, kPasses 0);
# "1x1deep": 18 (depth 70 -> 72: pointwise_quad.py runs 1x1 layers on whole groups of 4 channels),
# more than one pass (kPasses 2); "im2col": 12 (kPasses 1).
SHAPES = {"1x1": ((1, 1), (1, 5, 7, 16), {}), "1x1deep": ((1, 1), (1, 5, 7, 70), {}),
          "band": ((3, 3), (1, 6, 7, 8), {}),
          "im2col": ((3, 3), (1, 6, 7, 5), {}), "sparse": ((1, 1), (1, 5, 7, 16), dict(zero_filters=ZERO_FILTERS))}
# (kind, activation, seed, the params type it reaches); seeds found by drawing random layers.
CASES = [
    ("1x1", "NONE", 502, "DspConvColumnsParams<0, 0, 0>"),
    ("1x1", "NONE", 500, "DspConvColumnsParams<0, 1, 0>"),
    ("1x1", "RELU", 629, "DspConvColumnsParams<1, 0, 0>"),
    ("1x1", "RELU", 503, "DspConvColumnsParams<1, 1, 0>"),
    ("1x1deep", "NONE", 500, "DspConvColumnsParams<0, 0>"),
    ("1x1deep", "NONE", 504, "DspConvColumnsParams<0, 1>"),
    ("1x1deep", "RELU", 501, "DspConvColumnsParams<1, 0>"),
    ("1x1deep", "RELU", 504, "DspConvColumnsParams<1, 1>"),
    ("im2col", "NONE", 500, "DspConvColumnsParams<0, 0, 1>"),
    ("band", "NONE", 500, "DspConvRowsParams<48, 0, 0, 0>"),
    ("band", "RELU", 503, "DspConvRowsParams<48, 0, 1, 0>"),  # a RELU whose range is all of int8
    ("band", "RELU", 502, "DspConvRowsParams<48, 1, 0, 0>"),
    ("band", "RELU", 518, "DspConvRowsParams<48, 1, 1, 0>"),
    ("sparse", "NONE", 524, "DspConvSparseParams<0>"),
    ("sparse", "NONE", 500, "DspConvSparseParams<1>"),
]


def _model(kind, activation, seed):
    kernel, shape, extra = SHAPES[kind]
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = tb.conv2d(mb, x, out_channels=12, kernel=kernel, stride=(1, 1), dilation=(1, 1), padding="SAME",
                  activation=activation, per_channel=True, **extra)
    return tb.finish_model(mb, [x], y, seed=seed)


@pytest.mark.parametrize("kind,activation,seed,params_type", CASES)
def test_conv_requantisation_forms_bit_exact_under_qemu(kind, activation, seed, params_type, tmp_path):
    model, desc = _model(kind, activation, seed)
    source = compile_model(model, core=load_board(BOARD).core).files["tinyrig_model.cc"]
    reached = re.search(r"const tinyrig::(.+?) k_layer0_params", source)
    assert reached and reached.group(1) == params_type, reached and reached.group(1)
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)
