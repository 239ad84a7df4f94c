"""The 1x1 CONV_2D kernel for 8 input channels (DspPointwise8Params, tinyrig_dsp_pointwise8.cc:
one filter in registers over a widened chunk of pixels) is bit-exact under QEMU against
tflite-micro, on qemu-mps2-an386 and qemu-mps3-an547 (where it runs whatever Helium
declines): 16 output channels (stored straight into the output) and other counts (through
the output block, 16 filters at a time, a last partial group, odd counts), chunks of 128
pixels with a partial last one entering the 8-pixel loop trip at every slot (odd counts
widen a last single pixel), strides 1, 2 and 3 (chunks across and starting within output
rows), per-channel and per-tensor quantization; the host build's C++ path on the same
cases. A clamping activation is left to the 3x2 block (the kernel has no register left
for the clamp).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.hostbuild import HostModel

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.fuzz_harness import in_child, run_tflm
from tinyrig_testing.kernel_checks import check_model_bit_exact, conv_chain

BOARDS = ("qemu-mps2-an386", "qemu-mps3-an547")
NOTE = "1x1 depth 8, one filter in registers"

# (seed, input shape, [conv options]): every layer reads 8 channels.
CASES = [
    (81, (1, 7, 9, 8), [dict(out_channels=8, stride=(1, 1), activation="NONE"),
                        dict(out_channels=8, stride=(2, 2), activation="NONE"),
                        dict(out_channels=20, stride=(1, 1), activation="NONE")]),
    (85, (1, 10, 5, 8), [dict(out_channels=8, stride=(3, 2), activation="NONE", per_channel=False),
                         dict(out_channels=4, stride=(1, 1), activation="NONE")]),
    # 143 pixels: chunks of 128 and 15 (entry at slot 1); the output itself is the block.
    # (Entries elsewhere: 63 px slot 1, 20 and 12 px slot 4, 50 and 10 px slot 6, 27 px slot 5,
    # 21 px slot 3, 25 px slot 7.)
    (87, (1, 13, 11, 8), [dict(out_channels=16, stride=(1, 1), activation="NONE")]),
    # 165 pixels at stride (2, 1): a chunk of 128, then 37 from mid-row 11 (entry at slot 3);
    # 33 filters: groups of 16, 16 and 1.
    (89, (1, 30, 11, 8), [dict(out_channels=33, stride=(2, 1), activation="NONE")]),
    # 400 pixels (3 chunks and 16, no partial trip): 8 filters through the block, then 16 per-tensor.
    (91, (1, 20, 20, 8), [dict(out_channels=8, stride=(1, 1), activation="NONE"),
                          dict(out_channels=16, stride=(1, 1), activation="NONE", per_channel=False)]),
    (93, (1, 9, 7, 8), [dict(out_channels=8, stride=(1, 3), activation="NONE"),
                        dict(out_channels=7, stride=(2, 2), activation="NONE")]),
    # 21 pixels (entry at slot 3), then 25 (slot 7, per-tensor).
    (95, (1, 3, 7, 8), [dict(out_channels=8, stride=(1, 1), activation="NONE")]),
    (98, (1, 5, 5, 8), [dict(out_channels=16, stride=(1, 1), activation="NONE", per_channel=False)]),
]


def _model(seed, shape, layers):
    return conv_chain(seed, shape, layers, kernel=(1, 1), dilation=(1, 1), padding="VALID")


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_pointwise8_bit_exact_under_qemu(board_name, seed, shape, layers, tmp_path):
    model, desc = _model(seed, shape, layers)
    layers_info = [(layer.variant, layer.note) for layer in compile_model(model, core=load_board(board_name).core).layers
                   if layer.op == "CONV_2D"]
    allowed = ("arm_mve",) if board_name == "qemu-mps3-an547" else ()
    assert len(layers_info) == len(layers), layers_info
    assert all(v in allowed or (v == "arm_dsp" and NOTE in n) for v, n in layers_info), layers_info
    check_model_bit_exact(board_name, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_pointwise8_host_path_bit_exact(seed, shape, layers, tmp_path):
    """The C++ model of the run (a host build of the model compiled for a Cortex-M4)."""
    model, desc = _model(seed, shape, layers)
    compiled = compile_model(model, core=load_board("qemu-mps2-an386").core)
    assert all(NOTE in layer.note for layer in compiled.layers if layer.op == "CONV_2D"), compiled.layers
    host = HostModel.build(compiled, workdir=tmp_path)
    batch = np.random.default_rng([seed, 2]).integers(-128, 128, size=(3, *host.input_shape)).astype(np.int8)
    got = np.asarray(host.run(batch)).reshape(-1)
    want = np.asarray(in_child(run_tflm, model, [batch])).reshape(-1)
    assert np.array_equal(got, want), f"seed {seed}: first differing {np.flatnonzero(got != want)[:5]}"


def test_pointwise8_leaves_clamping_activations_to_the_3x2_block():
    mb = tb.ModelBuilder(np.random.default_rng(83))
    x = mb.input((1, 4, 4, 8))
    y = tb.conv2d(mb, x, out_channels=6, kernel=(1, 1), stride=(1, 1), dilation=(1, 1), padding="VALID",
                  activation="RELU6")
    model, _ = tb.finish_model(mb, [x], y, seed=83)
    notes = [layer.note for layer in compile_model(model, core=load_board("qemu-mps2-an386").core).layers
             if layer.op == "CONV_2D"]
    assert notes and NOTE not in notes[0] and "3x2 SMLAD" in notes[0], notes
