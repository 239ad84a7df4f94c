"""The 1x1 CONV_2D path for layers with all-zero filters (DspConvSparseParams, conv.py
_sparse_plan, conv_run_offsets in tinyrig_dsp_conv.cc) is bit-exact under QEMU against
tflite-micro on qemu-mps2-an386: live filters paired in order, any two (odd live counts pair
the last with a dummy stored at its partner's byte), each pair's bytes stored at its own
offsets; the constant outputs written per pixel from the fill table (words with 1-4 constant
bytes, words with none skipped); a last partial run of 1 or 2 pixels; a layer with no live
filter at all; two such layers in a chain; per-channel and per-tensor scales. The host build's
C++ model of the run on the same cases. Other layers with at least a quarter of their filters
all-zero (other shapes, a clamp, output channels not whole words) run over their live filters
into a compact tensor that is then spread among the constants (LiveFiltersParams, shared with
the Helium family): im2col, the band path, strides, a clamp, no live filter. Layers with a
single zero filter keep every filter.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.boards import load_board
from tinyrig.codegen.engine import compile_model

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.kernel_checks import check_host_bit_exact, check_model_bit_exact, conv_chain, layer_notes

BOARD = "qemu-mps2-an386"
NOTE = "with all-zero weights: constant outputs"  # the sparse pairs (conv_run_offsets)
WRAPPED = "live of"  # also in the note of a layer run over its live filters (LiveFiltersParams)


def _all_but(count, live):
    return [c for c in range(count) if c not in live]


# (seed, input shape, [conv options]); every layer 1x1, stride 1, no clamp. (Some seeds draw a
# requantisation shift no DSP kernel takes; these do not.)
CASES = [
    # 35 pixels (a last run of 2), 5 live filters of 16 (a dummy), per-channel.
    (302, (1, 7, 5, 16), [dict(out_channels=16, zero_filters=_all_but(16, (0, 4, 8, 10, 15)))]),
    # 16 pixels (a last run of 1), 4 live of 24 (pairs across words), per-tensor.
    (302, (1, 4, 4, 32), [dict(out_channels=24, per_channel=False, zero_filters=_all_but(24, (2, 3, 17, 21)))]),
    # No live filter: only the fill table.
    (301, (1, 3, 5, 12), [dict(out_channels=8, zero_filters=list(range(8)))]),
    # A chain: 40 -> 64 with 50 zero filters, then 64 -> 32 with every other filter zero.
    (302, (1, 6, 6, 40), [dict(out_channels=64, zero_filters=_all_but(64, (1, 2, 9, 20, 33, 34, 35, 40, 47, 50,
                                                                           51, 60, 61, 63))),
                          dict(out_channels=32, zero_filters=list(range(0, 32, 2)))]),
]


def _model(seed, shape, layers):
    return conv_chain(seed, shape, layers, activation="NONE", per_channel=True, kernel=(1, 1), stride=(1, 1),
                      dilation=(1, 1), padding="VALID")


def _conv_notes(model):
    return layer_notes(model, "CONV_2D", BOARD)


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_sparse_conv_bit_exact_under_qemu(seed, shape, layers, tmp_path):
    model, desc = _model(seed, shape, layers)
    notes = _conv_notes(model)
    assert len(notes) == len(layers) and all(NOTE in n for n in notes), notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,layers", CASES)
def test_sparse_conv_host_path_bit_exact(seed, shape, layers, tmp_path):
    """The C++ model of conv_run_offsets and the fill (a host build of the M4-compiled model)."""
    model, _ = _model(seed, shape, layers)
    compiled = compile_model(model, core=load_board(BOARD).core)
    assert all(NOTE in layer.note for layer in compiled.layers if layer.op == "CONV_2D"), compiled.layers
    check_host_bit_exact(compiled, model, seed, tmp_path)


def test_sparse_conv_note_counts_the_live_filters():
    model, _ = _model(302, (1, 7, 5, 16), CASES[0][2])
    assert "on the 5 live of 16 filters (11 with all-zero weights" in _conv_notes(model)[0]


# Layers the live-filter wrapper takes: (seed, input shape, conv options, a word of the inner note).
WRAPPED_CASES = [
    (321, (1, 7, 6, 5), dict(out_channels=16, kernel=(3, 3), stride=(1, 1), padding="SAME",
                             zero_filters=[1, 2, 4, 7, 8, 9, 12, 14]), "im2col"),
    (322, (1, 8, 9, 8), dict(out_channels=12, kernel=(3, 3), stride=(1, 1), padding="SAME",
                             zero_filters=[0, 3, 5, 6, 10, 11]), "band of 3 widened rows"),
    (310, (1, 4, 4, 32), dict(out_channels=16, kernel=(1, 1), stride=(1, 1), padding="VALID", activation="RELU",
                              zero_filters=list(range(8))), "1x1 direct"),  # clamps (zero point 30)
    (323, (1, 7, 7, 16), dict(out_channels=12, kernel=(1, 1), stride=(2, 2), padding="VALID",
                              zero_filters=[2, 3, 4, 8, 9, 11]), "1x1 direct"),
    (309, (1, 4, 4, 32), dict(out_channels=18, kernel=(1, 1), stride=(1, 1), padding="VALID",
                              zero_filters=list(range(10))), "1x1 direct"),  # not whole words for the fill
    (324, (1, 5, 4, 6), dict(out_channels=8, kernel=(3, 3), stride=(2, 1), padding="VALID",
                             zero_filters=list(range(8))), "im2col"),  # no live filter
]


def _wrapped_model(seed, shape, options):
    mb = tb.ModelBuilder(np.random.default_rng(seed))
    x = mb.input(shape)
    y = tb.conv2d(mb, x, **{"activation": "NONE", "per_channel": True, "dilation": (1, 1), **options})
    return tb.finish_model(mb, [x], y, seed=seed)


@pytest.mark.parametrize("seed,shape,options,inner", WRAPPED_CASES)
def test_live_filter_layers_bit_exact_under_qemu(seed, shape, options, inner, tmp_path):
    model, desc = _wrapped_model(seed, shape, options)
    notes = _conv_notes(model)
    assert len(notes) == 1 and WRAPPED in notes[0] and NOTE not in notes[0] and inner in notes[0], notes
    check_model_bit_exact(BOARD, model, desc, seed, tmp_path)


@pytest.mark.parametrize("seed,shape,options,inner", WRAPPED_CASES)
def test_live_filter_layers_host_path_bit_exact(seed, shape, options, inner, tmp_path):
    model, _ = _wrapped_model(seed, shape, options)
    compiled = compile_model(model, core=load_board(BOARD).core)
    check_host_bit_exact(compiled, model, seed, tmp_path)


def test_a_single_zero_filter_keeps_every_filter():
    # The seed draws no other all-zero filter: still 32 pairs, the adjacent ones are cheaper,
    # and 1 of 64 is below the wrapper's share.
    model, _ = _model(312, (1, 4, 4, 32), [dict(out_channels=64, zero_filters=[5])])
    notes = _conv_notes(model)
    assert notes and WRAPPED not in notes[0] and "3x2 SMLAD block" in notes[0], notes
