"""CONV_2D on 1 or 2 input channels under QEMU on qemu-mps2-an386, bit-exact with tflite-micro:

* the band path with band words of 2 values (DspConvRowsParams<pb, clamp, rq3, 1 or 2>): on one
  channel a word is a pair of input rows (fill_band_one_channel: groups of 4 columns, the last
  1-3 columns, pairs reaching above or below the image), on two channels one cell
  (fill_band_two_channels, an odd last column); the weights' middle two of every 4 swapped
  (conv.py _band_depth_order);
* window rows of one 4-byte group (kws01's 10x4 stem), which stay on the columns path and are
  read 3 windows at a time in place from the bordered copy (widen3_rows), across output rows.

The same cases also run through the host build (the kernels' C models of the assembly).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.hostbuild import HostModel

from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.fuzz_harness import in_child, run_tflm
from tinyrig_testing.kernel_checks import check_model_bit_exact, conv_model_taking

# (input HxWxC, filters, kernel, stride, padding, activation, note fragment)
BAND = "band of"
IN_PLACE = "im2col 3x2 SMLAD block"
CASES = [
    # one channel, 10x6 at stride 2 (40-byte pixel step), SAME: 7 outputs a row (2 runs and a
    # leftover), pairs above and below the image; 10 input columns: 2 groups of 4 and 2 more
    ((21, 14, 1), 8, (10, 6), (2, 2), "SAME", "NONE", BAND),
    # one channel, 12x2 at stride (1, 2), VALID, clamped: the band leaves the image's last
    # column out (15 wide, 7 outputs); 15 columns: 3 groups and 3 more
    ((16, 15, 1), 6, (12, 2), (1, 2), "VALID", "RELU6", BAND),
    # one channel, 8x3 at stride (1, 3), SAME: pad_top 3 (odd), so the top and bottom rows' pairs
    # have one row inside and one outside; 17 columns
    ((13, 17, 1), 4, (8, 3), (1, 3), "SAME", "RELU", BAND),
    # two channels, 6x3 at stride 2 (48-byte step), SAME, 19 columns (an odd last one)
    ((19, 19, 2), 10, (6, 3), (2, 2), "SAME", "NONE", BAND),
    # two channels, 12x3 at stride 1 (48-byte step), SAME, clamped: 9 outputs a row
    ((14, 9, 2), 4, (12, 3), (1, 1), "SAME", "RELU6", BAND),
    # one channel, 12x4 on an input too large for the bordered copy: the band takes it
    ((90, 100, 1), 2, (12, 4), (1, 2), "SAME", "NONE", BAND),
    # kws01's stem: 10x4 at stride 2 on 49x10x1, 64 filters: 125 outputs (runs across output
    # rows, a last run of 2), every window read in place from the bordered copy (widen3_rows)
    ((49, 10, 1), 64, (10, 4), (2, 2), "SAME", "RELU", IN_PLACE),
    # two channels, 5x2 at stride (1, 2), VALID (no border: windows read from the input), an odd
    # filter count (the per-run path, one_run, reads the 3 windows with widen3_rows too)
    ((9, 12, 2), 7, (5, 2), (1, 2), "VALID", "RELU6", IN_PLACE),
]


def _model(case: int) -> tuple[bytes, dict, int, str]:
    """The case's model for the first seed of a fixed range whose CONV_2D takes the expected path
    (random quantisations sometimes fall outside the DSP epilogue's range and are declined)."""
    shape, filters, kernel, stride, padding, activation, path = CASES[case]
    return conv_model_taking(range(100 * case, 100 * case + 40), shape, lambda note: note.startswith(path),
                             out_channels=filters, kernel=kernel, stride=stride, padding=padding,
                             activation=activation)


def _extremes(case: int) -> np.ndarray:
    """Every value -128, every value 127 (the pairs' sign extension)."""
    shape = (1, *CASES[case][0])
    return np.stack([np.full(shape, -128), np.full(shape, 127)]).astype(np.int8)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv_on_one_or_two_channels_bit_exact_under_qemu(case, tmp_path):
    model, desc, seed, note = _model(case)
    if CASES[case][-1] == BAND:
        assert "(value pairs)" in note, note
    else:
        assert "zero-point-bordered" in note or CASES[case][4] == "VALID", note
    check_model_bit_exact("qemu-mps2-an386", model, desc, seed, tmp_path, extra_inputs=_extremes(case))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv_on_one_or_two_channels_host_model_bit_exact(case, tmp_path):
    model, desc, seed, _ = _model(case)
    host = HostModel.build(compile_model(model, core="cortex-m4"), workdir=tmp_path)
    batch = np.concatenate([tb.random_inputs(np.random.default_rng([seed, 2]), desc["inputs"][0], 2),
                            _extremes(case)])
    got = np.asarray(host.run(batch)).reshape(-1)
    want = np.asarray(in_child(run_tflm, model, [batch])).reshape(-1)
    assert np.array_equal(got, want), f"case {case}: first differing {np.flatnonzero(got != want)[:5]}"
