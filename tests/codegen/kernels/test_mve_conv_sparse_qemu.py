"""The Helium CONV_2D over the live filters only (LiveFiltersParams<MveConv2DParams>,
codegen/kernels/live_filters.py): layers with at least a quarter of their filters all-zero
run the convolution over the live ones into a compact tensor in scratch, then each pixel's
row is the constant outputs with the live ones stored by index. Bit-exact under QEMU on qemu-mps3-an547 against tflite-micro for
1x1 layers read in place, 1x1 layers packed several pixels a column (input_c 4), gathered 3x3
windows with padding and stride, a clamping activation, a layer with no live filter; and the
host build of the same. Layers with few zero filters keep the plain kernel.
"""

from __future__ import annotations

import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing.kernel_checks import check_host_bit_exact, check_model_bit_exact, conv_chain

BOARD = "qemu-mps3-an547"
NOTE = "live of"

# (seed, input shape, [conv options])
CASES = [
    (402, (1, 6, 5, 32), [dict(out_channels=40, kernel=(1, 1), stride=(1, 1), padding="VALID",
                               zero_filters=[c for c in range(40) if c % 5])]),
    # input_c 4: the 1x1 layer packs 4 pixels a 16-byte column
    (404, (1, 4, 6, 4), [dict(out_channels=12, kernel=(1, 1), stride=(1, 1), padding="VALID",
                              zero_filters=[0, 1, 2, 5, 6, 7, 8, 11])]),
    (406, (1, 9, 7, 8), [dict(out_channels=20, kernel=(3, 3), stride=(2, 1), padding="SAME", activation="RELU",
                              zero_filters=list(range(3, 20, 2)))]),
    (408, (1, 5, 5, 16), [dict(out_channels=8, kernel=(1, 1), stride=(1, 1), padding="VALID",
                               zero_filters=list(range(8)))]),
]


def _model(seed, shape, layers):
    return conv_chain(seed, shape, layers, activation="NONE", per_channel=True, dilation=(1, 1))


def _conv_layers(model):
    return [(layer.variant, layer.note) for layer in compile_model(model, core=load_board(BOARD).core).layers
            if layer.op == "CONV_2D"]


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_mve_sparse_conv_bit_exact_under_qemu(seed, shape, layers, tmp_path):
    model, desc = _model(seed, shape, layers)
    convs = _conv_layers(model)
    assert convs and all(v == "arm_mve" and NOTE in n for v, n in convs), convs
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_mve_sparse_conv_host_path_bit_exact(seed, shape, layers, tmp_path):
    model, _ = _model(seed, shape, layers)
    compiled = compile_model(model, core=load_board(BOARD).core)
    check_host_bit_exact(compiled, model, seed, tmp_path)


def test_mve_layers_with_few_zero_filters_keep_the_plain_kernel():
    model, _ = _model(410, (1, 4, 4, 32), [dict(out_channels=32, kernel=(1, 1), stride=(1, 1), padding="VALID",
                                                zero_filters=[3, 9])])
    convs = _conv_layers(model)
    assert convs and convs[0][0] == "arm_mve" and NOTE not in convs[0][1], convs
