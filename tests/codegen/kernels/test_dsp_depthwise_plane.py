"""The DSP depthwise plane kernel (arm_dsp/depthwise.py _plane_band, tinyrig_dsp_depthwise.cc
dw_plane): 3x3 layers whose lines are short output rows run a band of lines per channel and
call, from a ring of 8 input rows per column word.

* which layers it takes, and which it leaves to the line kernel (transposed lines, lines of
  more than DW_PLANE_MAX_STEPS MAC steps, a single line), and its scratch bound;
* bit-exactness against the tflite-micro interpreter, under QEMU (the assembly) and in a host
  build (the #else model), over six chains that enter every straight MAC run (stride 1 even
  and odd lines, stride 2) at every length the layers can have, bands of unequal length, row
  strides of 2 and 3 across lines, channel chunks with tails of 2 and 6 channels, clamping
  activations, channels requantised one at a time, and zero points of -128 and 127.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyrig.codegen.engine import compile_model, load_graph, lower_graph
from tinyrig.codegen.kernels.arm_dsp import depthwise
from tinyrig.codegen.kernels.specialize_common import params_of

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_host_bit_exact, check_model_bit_exact, layer_notes

BOARD = "qemu-mps2-an386"
PLANE = re.compile(r"3x3 planar SMLAD lines in bands of (\d+), stride (\d) along (\d+)-output lines")
S1, S2, S2_ROWS, S3_ROWS = (1, 1), (2, 2), (2, 1), (3, 1)


def _chain(seed: int, shape, layers, input_range=None):
    """Depthwise 3x3 layers one after the other; the builder's kernel shapes put some output
    zero points at -128 or 127."""
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    mb.kernel_shapes = True
    x = mb.input(shape, float_range=input_range)
    y = x
    for stride, padding, activation in layers:
        y = tb.depthwise_conv2d(mb, y, kernel=(3, 3), stride=stride, dilation=(1, 1), depth_multiplier=1,
                                padding=padding, activation=activation)
    return tb.finish_model(mb, [x], y, seed=seed)


def _zero_points(model: bytes) -> set[int]:
    plans = [params_of(layer) for layer in lower_graph(load_graph(model)[0]) if layer.op == "DEPTHWISE_CONV_2D"]
    return {zp for p in plans for zp in (p["input_zero_point"], p["output_zero_point"])}


# name: (seed, input shape, [(stride, padding, activation)], input float range,
#        expected (band lines, stride along, line length) per layer)
CHAINS = {
    # 38 channels: chunks of 36 and 2 at 12-output lines (a tail of 2 channels, no group of 4);
    # 12 lines in 2 bands; even runs of 6, 5, 4 and 2 steps, stride 2 along 4-output lines; RELU6
    # clamps (one at a time); input zero point -128, the last output's 127.
    "even": (109, (1, 12, 12, 38), [(S1, "SAME", "NONE"), (S1, "VALID", "NONE"), (S1, "VALID", "NONE"),
                                    (S2, "SAME", "NONE"), (S1, "SAME", "RELU6")], (0.0, 6.0),
             [(6, 1, 12), (5, 1, 10), (4, 1, 8), (2, 2, 4), (4, 1, 4)]),
    # odd lines (a half step last): 9 outputs, 7 lines in bands of 4 and 3; rows 2 apart across
    # lines; stride 2 along; a clamp to [-1, 1]; input zero point 127 (and the first output's).
    "rows": (214, (1, 7, 9, 13), [(S1, "SAME", "NONE"), (S2_ROWS, "SAME", "NONE"), ((1, 2), "VALID", "NONE"),
                                  (S1, "SAME", "RELU_N1_TO_1")], (-6.0, 0.0),
             [(4, 1, 9), (2, 1, 9), (2, 2, 4), (2, 1, 4)]),
    # 262 channels: chunks of 64 and a tail of 6 (a group of 4 and 2 channels in C); rows 3 apart
    # (bands of 2 lines, 6 rows)
    "chunks": (300, (1, 5, 7, 262), [(S1, "SAME", "NONE"), (S3_ROWS, "SAME", "NONE"), (S1, "SAME", "NONE")], None,
               [(5, 1, 7), (2, 1, 7), (2, 1, 7)]),
    # odd runs of 6, 5, 4, 3 and 2 steps
    "odd": (401, (1, 13, 13, 8), [(S1, "VALID", "NONE")] * 5, None,
            [(6, 1, 11), (5, 1, 9), (4, 1, 7), (5, 1, 5), (3, 1, 3)]),
    # vww01's late layers: stride 2 to 6x6, then 6-output lines at stride 1; 70 channels: chunks
    # of 36 and 34 at stride 2, of 64 and 6 at stride 1
    "vww": (500, (1, 12, 12, 70), [(S2, "SAME", "NONE"), (S1, "SAME", "NONE")], None,
            [(3, 2, 6), (6, 1, 6)]),
    # stride 2 along 5, 3 and 2 outputs, and 1 even step (2x2 outputs); 5 lines in bands of 3 and 2
    "short": (601, (1, 10, 10, 5), [(S2, "SAME", "NONE"), (S2, "SAME", "NONE"), (S1, "SAME", "NONE"),
                                    (S2, "SAME", "NONE"), (S1, "SAME", "NONE")], None,
              [(3, 2, 5), (3, 2, 3), (3, 1, 3), (2, 2, 2), (2, 1, 2)]),
}


def _model(name: str):
    seed, shape, layers, input_range, _ = CHAINS[name]
    model, desc = _chain(seed, shape, layers, input_range)
    return model, desc, seed


def test_the_chains_take_the_paths_they_are_for():
    """Every layer of every chain runs on the plane kernel as listed; together the chains enter
    each straight run at every length a non-transposed layer can have (stride 1: 2-12 outputs,
    stride 2: 2-6), with both requantisation forms and zero points at both ends."""
    lengths, notes_all = set(), []
    for name, (_, _, layers, _, expected) in CHAINS.items():
        model, _, _ = _model(name)
        notes = layer_notes(model, "DEPTHWISE_CONV_2D", BOARD)
        found = [tuple(int(v) for v in PLANE.match(note).groups()) if PLANE.match(note) else note for note in notes]
        assert found == expected, (name, notes)
        lengths |= {(stride, length) for _, stride, length in expected}
        notes_all += notes
    assert lengths >= {(1, n) for n in range(2, 13)} | {(2, n) for n in range(2, 7)}, sorted(lengths)
    assert any("one at a time" in note for note in notes_all)
    assert any("3-instruction requantisation" in note for note in notes_all)
    zero_points = set().union(*(_zero_points(_model(name)[0]) for name in ("even", "rows")))
    assert {-128, 127} <= zero_points, zero_points


@pytest.mark.parametrize("shape,stride,padding,path", [
    ((1, 12, 13, 8), S1, "SAME", "planar SMLAD lines, stride 1 along 13-output"),   # 7 steps: too long
    ((1, 6, 14, 8), (1, 2), "SAME", "planar SMLAD lines, stride 2 along 7-output"),  # 7 steps at stride 2
    ((1, 9, 6, 8), S1, "SAME", "planar SMLAD lines (transposed)"),  # lines down columns: outputs not C apart
    ((1, 3, 8, 8), S1, "VALID", "planar SMLAD lines, stride 1 along 6-output"),     # a single line
    ((1, 6, 6, 8), S1, "SAME", "planar SMLAD lines in bands of 6"),
])
def test_what_the_plane_kernel_leaves_to_the_line_kernel(shape, stride, padding, path):
    for seed in range(70, 90):  # the first seed whose quantisation the DSP kernels take
        model, _ = _chain(seed, shape, [(stride, padding, "NONE")])
        notes = layer_notes(model, "DEPTHWISE_CONV_2D", BOARD)
        if "declined" not in notes[0]:
            break
    assert path in notes[0], notes


def test_the_ring_stays_within_its_bound():
    """Chunks of channels keep the ring within DW_PLANE_MAX_RING_BYTES: vww01's 6x6x128 layers
    and a 3x3x256 one take at most the ring, a band's accumulators, their alignment slack and a
    row of zero points."""
    for shape in ((1, 6, 6, 128), (1, 3, 3, 256), (1, 12, 12, 64)):
        for seed in range(70, 90):
            model, _ = _chain(seed, shape, [(S1, "SAME", "NONE")])
            layer = [l for l in compile_model(model, core="cortex-m4").layers if l.op == "DEPTHWISE_CONV_2D"][0]
            if PLANE.match(layer.note):
                break
        bound = (depthwise.DW_PLANE_MAX_RING_BYTES + 2 * depthwise.DW_LINE_MAX_ACC_BYTES - 4
                 + shape[3])
        assert layer.scratch_bytes <= bound, (shape, layer.scratch_bytes)


@pytest.mark.parametrize("name", CHAINS)
def test_plane_chains_bit_exact_under_qemu(name, tmp_path):
    """The assembly: 3 random inputs and the inputs all -128 and all 127 (every window on the
    clamp ends) against tflite-micro."""
    model, desc, seed = _model(name)
    shape = CHAINS[name][1]
    extremes = np.stack([np.full(shape, -128), np.full(shape, 127)]).astype(np.int8)
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path, extra_inputs=extremes)


@pytest.mark.parametrize("name", CHAINS)
def test_plane_chains_bit_exact_on_the_host(name, tmp_path):
    """The #else model of the same loops (host builds of a Cortex-M4 model)."""
    model, _, seed = _model(name)
    check_host_bit_exact(compile_model(model, core="cortex-m4"), model, seed, tmp_path)
