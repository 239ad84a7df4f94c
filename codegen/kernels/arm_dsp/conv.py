"""DSP-extension CONV_2D (tinyrig_dsp_conv.cc): weight re-layout and registration.

* The general kernel: a 3-pixel x 2-channel register block over int8 weights kept int8
  in flash. Per step the kernel loads one word of 2 input channels for each of 3 pixels
  (widened to int16 pairs in scratch once per run of 3 pixels) and one int8 word holding
  the same 2 channels of both filters, and issues 6 SMLADs (below: one SXTB16 a step).
  The input is widened with SXTB16, which yields channels (0, 2) then (1, 3)
  of each group of 4, so the weights are permuted the same way. The depth is padded to
  a multiple of 4 (2 steps, the loops' unit). A step's word holds b - [a < 0] beside a,
  so its raw halfwords are 256 * b + a: the kernel accumulates SMLAD(x, SXTB16(word)) for
  filter a and SMLAD(x, word) for a + 256 * b, one SXTB16 per step instead of two, and
  takes b from the difference (smlad_layout.int8_pair_words, raw_pair_encodable). Layout,
  one stream read by one pointer: per channel pair [step] int8 words, then both filters'
  epilogue words (their biases times 2^(ls+1) among them); the kernel doubles the
  accumulators and adds the doubled biases in the epilogue (fused_epilogue.HalvedEpilogue).
* 2-D filters on whole groups of 4 input channels, or on 1 or 2 channels whose band column
  (filter_h * input_c values) is whole int16 pairs and whose depth is whole units, no
  dilation, an even filter count: the band path (_band_plan): the windows of a run of 3
  pixels are read in place from a band of filter_h widened input rows laid [x][fy][c]
  instead of being gathered (im2col) and widened for each run; the weights are stored
  [fx][fy][c] to match. Window rows of one word on 1 or 2 channels (kws01's 10x4 stem) are
  read in place 3 windows at a time from the bordered copy instead (widen3_rows).
* 1x1 on exactly 8 input channels without a clamp runs on pointwise8.py's kernel,
  tried first.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan, ParamStruct, window_param
from ..registry import Declined, register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_conv,
                                 round_up, specialized_plan)
from ..live_filters import live_filters_plan
from . import dsp_kernel
from .fused_epilogue import activation_clamps, halved_epilogue_constants, three_instruction_exact
from .smlad_layout import int8_pair_words, raw_pair_encodable

CONV_PIXELS, CONV_FILTERS, CONV_DEPTH_STEP = 3, 2, 4  # register block; depth per loop unit (2 steps)
# Units per pass of the columns runs and of the band runs, in a build without and with a small
# flash instruction cache (tinyrig_dsp_conv.cc kPassUnits, kBandPassUnits; tests/codegen/kernels/
# test_c_twins.py holds both sides equal).
PASS_UNITS, SMALL_CACHE_PASS_UNITS = 16, 8
BAND_PASS_UNITS, SMALL_CACHE_BAND_PASS_UNITS = 18, 9
# A 3x3 filter on 3 channels (dilation_w 1) reads each window as 3 rows of 9 bytes
# without im2col (conv_rgb3x3 in tinyrig_dsp_conv.cc): the words at bytes 0 and 4 of
# each row, then a word made of the bytes (r0[8], r2[8], r1[8], -) (PKHBT of the words
# at byte 8 of rows 0 and 1 gives the pair (r0[8], r1[8]); the word at byte 8 of row 2
# gives (r2[8], r2[10])). Column byte j holds window byte RGB3X3_ORDER[j]; -1 is a byte
# of some neighbouring input, multiplied by a zero weight.
RGB3X3_ORDER = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25,
                8, 26, 17, -1)
PAD_COPY_MAX_BYTES = 8192  # largest zero-point-bordered input copy a CONV_2D makes in scratch
# The band path (DspConvRowsParams, tinyrig_dsp_conv.cc): the bytes from one output
# pixel's widened window to its neighbour's (2 * filter_h * input_c * stride_w) are immediates of
# the assembly run, one copy per value (only those a model uses are linked).
BAND_PIXEL_BYTES = (40, 48, 96, 144, 192, 288, 384, 576, 768, 1152, 1536)
BAND_MAX_BYTES = 16384  # largest widened band (filter_h input rows) a CONV_2D keeps in scratch


def specialize_conv(plan: LayerPlan) -> SpecializedLayerPlan:
    p = params_of(plan)
    require_plain_conv(p)
    if not _offsets_path_applies(p):  # there, the run itself skips all-zero filters (_sparse_plan)
        wrapped = live_filters_plan(plan, _specialize_filters)
        if wrapped is not None:
            return wrapped
    return _specialize_filters(plan)


def _specialize_filters(plan: LayerPlan) -> SpecializedLayerPlan:
    """The layer with all its filters (the live-filter wrapper's inner layer, or a layer with
    few all-zero filters), or the sparse pairs of _sparse_plan."""
    p, c = params_of(plan), constants_of(plan)
    out_c, fh, fw = p["output_c"], p["filter_h"], p["filter_w"]
    depth = fh * fw * p["input_c"]
    rows = c["weights"].astype(np.int64).reshape(out_c, depth)
    depth_p = round_up(depth, CONV_DEPTH_STEP)
    out_p = round_up(out_c, CONV_FILTERS)
    pointwise = int(fh == 1 and fw == 1 and p["pad_top"] == 0 and p["pad_left"] == 0)
    band = _band_pixel_bytes(p)
    if band:  # the band path reads windows column-major: weights [fx][fy][c]
        rows = rows.reshape(out_c, fh, fw, p["input_c"]).transpose(0, 2, 1, 3).reshape(out_c, depth)
        rows = rows[:, _band_depth_order(p["input_c"], depth)]
    epilogue = halved_epilogue_constants(rows, p, c, out_p)
    scaled = epilogue.scaled_weights(rows, out_p, depth_p)  # int8, times 2^ls
    rgb3x3 = int(fh == 3 and fw == 3 and p["input_c"] == 3 and p["dilation_w"] == 1)
    if rgb3x3:  # columns read straight from 3 window rows of 9 bytes (RGB3X3_ORDER)
        order = np.array(RGB3X3_ORDER)
        scaled = np.where(order >= 0, scaled[:, np.maximum(order, 0)], 0)
    rq3 = _requant_in_three(rows, c, epilogue)
    sparse = _sparse_plan(plan, p, epilogue, scaled, rq3)
    if sparse is not None:
        return sparse
    reason = raw_pair_encodable(scaled)
    if reason:
        raise Declined(reason)
    words = int8_pair_words(scaled)  # [pair][step]
    # Padded convolutions with dilation_w 1 and a small enough input first copy the
    # input with its zero-point border, so that every window is read as whole strips.
    padded_h, padded_w = bordered_extent(p)
    bordered = (not pointwise and not band and p["dilation_w"] == 1 and (p["pad_top"] > 0 or p["pad_left"] > 0
                or padded_h > p["input_h"] or padded_w > p["input_w"])
                and padded_h * padded_w * p["input_c"] <= PAD_COPY_MAX_BYTES)
    if not bordered:
        padded_h = padded_w = 0
    params = [
        window_param(p),
        ("input_zero_point", p["input_zero_point"]), ("depth", depth), ("depth_padded", depth_p),
        ("channels_padded", out_p), ("pointwise", pointwise), ("padded_h", padded_h), ("padded_w", padded_w),
        ("rgb3x3", rgb3x3),
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("stream", _ref("stream")),
    ]
    # Per pair, in the order the assembly run reads it: the int8 step words (the first unit
    # starts the accumulators), then a's doubled bias, M_a, r_a, M_b, r_b, e_a | e_b << 8 (a
    # register shift reads the low byte) and b's doubled bias (b's accumulator is recovered
    # from the raw one at the end); the epilogue adds the doubled biases to the doubled sums.
    order = [ch if ch < out_c else -1 for ch in range(out_p)]  # -1: the padding filter of an odd count
    stream = np.concatenate([words.astype(np.int64), _pair_epilogue(epilogue, order, rq3, p)], axis=1)
    constants = [int32_array("stream", stream)]
    if band:
        return _band_plan(plan, p, band, params, constants, rq3)
    # Widened columns of 3 pixels (2 bytes per value) plus one gathered int8 column.
    scratch = CONV_PIXELS * depth_p * 2 + (0 if pointwise else depth_p)
    strip = fw * p["input_c"]  # bytes of a window row (dilation_w 1)
    if not pointwise and p["dilation_w"] == 1 and (strip % 4 or not rgb3x3):
        scratch += 2 * depth_p  # two more gathered windows (3 widened together)
    scratch += round_up(padded_h * padded_w * p["input_c"], 4)
    if rgb3x3:
        scratch += 4  # the word loads at byte 8 of a window's last row read past it (bordered copy, windows)
    scratch += round_up(CONV_PIXELS * out_c, 4)  # a last partial run's outputs (all 3 pixels' written)
    note = (f"{'1x1 direct' if pointwise else '3x3x3 direct rows' if rgb3x3 else 'im2col'} 3x2 SMLAD block, "
            f"int8 weights, depth {depth}->{depth_p}")
    if padded_h:
        note += f", zero-point-bordered input copy {padded_h}x{padded_w}"
    clamp = activation_clamps(p["activation_min"], p["activation_max"])
    passes = _passes(depth_p)
    form = f"{clamp}, {int(rq3)}" + (f", {passes}" if passes < 2 else "")
    return specialized_plan(plan, f"DspConvColumnsParams<{form}>", [("conv", ParamStruct(tuple(params)))],
                            constants, scratch, note + _requant_note(rq3))


def _passes(depth_p: int) -> int:
    """DspConvColumnsParams' kPasses: the units (CONV_DEPTH_STEP depths each) after a pair's first
    fit one pass of a small-cache build (0: both builds' runs need no pass end test), of the build
    without a small flash cache (1: that build's needs none), or neither (2)."""
    rest = depth_p // CONV_DEPTH_STEP - 1
    return 0 if rest <= SMALL_CACHE_PASS_UNITS else 1 if rest <= PASS_UNITS else 2


def _requant_in_three(rows: np.ndarray, c: dict, epilogue) -> bool:
    """Whether every filter's requantisation is exact in 3 instructions (the runs' rq3 form)."""
    return bool(np.all(three_instruction_exact(rows, c["folded_bias"], epilogue.fused)))


def _constant_values(epilogue, channels: int) -> np.ndarray:
    """The outputs of the first `channels` filters' rows read as constant ones: fused_requant
    stores a constant channel's value v as r = 1 + 2 * v (e = 1)."""
    return (epilogue.table[:channels, 1].astype(np.int64) - 1) >> 1


def _requant_note(rq3: bool) -> str:
    return ", 3-instruction requantisation" if rq3 else ", requantisation by a register shift"


def _pair_epilogue(epilogue, order: list[int], rq3: bool, p: dict) -> np.ndarray:
    """[pairs, 7]: the epilogue words of the filter pairs (order[2i], order[2i + 1]); -1 is a
    filter of zero weights whose outputs nobody reads (padding, a dummy).

    Register-shift form: 2 * bias_a, M_a, r_a, M_b, r_b, e_a | e_b << 8, 2 * bias_b (the
    fused epilogue's table; a constant channel's r = 1 + 2 * value, e = 1).
    rq3 form (tinyrig_dsp_conv.cc TINYRIG_RUN_REQUANT_RQ3): 2 * bias_a, M_a, F_a, M_b, F_b,
    zp, 2 * bias_b with F = 2^(32 - e) + 1. A constant channel (all-zero weights) gets the
    value v as 8 * (v - zp) in its bias word, M = 2^31 - 1 and F = 2^30 + 1 (e = 2): its
    accumulator is exactly that word, SMMULR gives 4 * (v - zp), SMMLAR v."""
    zp = p["output_zero_point"]
    fused = epilogue.fused
    bias_words, mults, factors, shifts = [], [], [], []
    for ch in order:
        live = ch >= 0 and not fused.constant[ch]
        if not rq3:
            bias_words.append(2 * int(epilogue.bias[ch]) if ch >= 0 else 0)
            row = epilogue.table[ch] if ch >= 0 else (2**30 + 1, 1, 1)
            mults.append(int(row[0]))
            factors.append(int(row[1]))
            shifts.append(int(row[2]))
        elif live:
            bias_words.append(2 * int(epilogue.bias[ch]))
            mults.append(int(epilogue.table[ch][0]))
            factors.append((1 << (32 - int(epilogue.table[ch][2]))) + 1)
        else:
            value = int(_constant_values(epilogue, ch + 1)[ch]) if ch >= 0 else zp
            bias_words.append(8 * (value - zp))
            mults.append(2**31 - 1)
            factors.append(2**30 + 1)
    pairs = len(order) // 2
    words = np.zeros((pairs, 7), dtype=np.int64)
    for i in range(pairs):
        a, b = 2 * i, 2 * i + 1
        last = (shifts[a] | (shifts[b] << 8)) if not rq3 else zp
        words[i] = (bias_words[a], mults[a], factors[a], mults[b], factors[b], last, bias_words[b])
    return words


def _offsets_path_applies(p: dict) -> bool:
    """The layers conv_run_offsets can run: 1x1 at stride 1 without padding, whole groups of 4
    input and output channels (the fill writes words), no clamp (no register left for it)."""
    return (p["filter_h"] == p["filter_w"] == 1 and p["pad_top"] == p["pad_left"] == 0
            and p["stride_h"] == p["stride_w"] == 1 and p["input_c"] % CONV_DEPTH_STEP == 0
            and p["output_c"] % 4 == 0 and p["output_c"] <= 0xFFFF
            and not activation_clamps(p["activation_min"], p["activation_max"]))


def _sparse_plan(plan: LayerPlan, p: dict, epilogue, scaled: np.ndarray, rq3: bool) -> SpecializedLayerPlan | None:
    """A 1x1 convolution at stride 1 some of whose filters have all-zero weights (their outputs
    are constants, fused_epilogue's `constant` channels) on DspConvSparseParams, or None when
    the layer has none, is another shape, or the M4 cycle estimate below says the adjacent
    pairs cost less. The live filters are paired in order, any two (an odd one with a dummy of
    zero weights stored at its partner's offset, which the partner then overwrites); a pair's
    stream is the usual step and epilogue words plus off_a | off_b << 16. Each pixel's
    constants are written by word from the fill table (offset, live-byte mask, constant bytes)."""
    out_c, depth = p["output_c"], p["filter_h"] * p["filter_w"] * p["input_c"]
    constant = np.asarray(epilogue.fused.constant, dtype=bool)
    if not constant.any() or not _offsets_path_applies(p):
        return None
    live = [int(i) for i in np.flatnonzero(~constant)]
    dummy = len(live) % 2 == 1
    order = live + live[-1:] if dummy else live
    rows = scaled[order].copy()
    if dummy:  # zero weights; _pair_epilogue's filter -1
        rows[-1] = 0
        order = live + [-1]
    if raw_pair_encodable(rows):
        return None
    pairs, steps = len(order) // 2, depth // 2
    values = _constant_values(epilogue, out_c)
    fill = []
    for word in range(out_c // 4):
        channels = range(4 * word, 4 * word + 4)
        if not any(constant[c] for c in channels):
            continue
        keep = sum(0xFF << (8 * j) for j, c in enumerate(channels) if not constant[c])
        bytes_ = sum((int(values[c]) & 0xFF) << (8 * j) for j, c in enumerate(channels) if constant[c])
        fill.append((4 * word, keep, bytes_))
    # M4 cycles per run of 3 pixels: a pair 12 a step plus about 60 of epilogue (4 more for the
    # offsets' byte stores), a fill word about 12 a pixel.
    if pairs * (12 * steps + 64) + 3 * 12 * len(fill) >= (out_c // 2) * (12 * steps + 60):
        return None
    # A dummy b is stored at its partner's offset (which the partner then overwrites).
    offsets = np.array([order[2 * i] | ((order[2 * i + 1] if order[2 * i + 1] >= 0 else order[2 * i]) << 16)
                        for i in range(pairs)], dtype=np.int64)
    if pairs:
        stream = np.concatenate([int8_pair_words(rows).astype(np.int64), _pair_epilogue(epilogue, order, rq3, p),
                                 offsets[:, None]], axis=1)
    else:
        stream = np.zeros((1, 1), dtype=np.int64)  # no live filter: a word so the array is not empty
    params = [
        window_param(p),
        ("input_zero_point", p["input_zero_point"]), ("depth", depth), ("depth_padded", depth),
        ("channels_padded", out_c), ("pointwise", 1), ("padded_h", 0), ("padded_w", 0), ("rgb3x3", 0),
        ("clamp", 0), ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("stream", _ref("stream")),
    ]
    fill_words = np.array([[o, k - 2**32 if k >= 2**31 else k, b - 2**32 if b >= 2**31 else b] for o, k, b in fill],
                          dtype=np.int64)
    sparse_params = [("conv", ParamStruct(tuple(params))), ("live_pairs", pairs), ("fill_words", len(fill)),
                     ("fill", _ref("fill"))]
    constants = [int32_array("stream", stream), int32_array("fill", fill_words)]
    scratch = CONV_PIXELS * depth * 2 + round_up(CONV_PIXELS * out_c, 4)
    note = (f"1x1 direct 3x2 SMLAD block on the {len(live)} live of {out_c} filters ({out_c - len(live)} with "
            f"all-zero weights: constant outputs), int8 weights, depth {depth}->{depth}")
    return specialized_plan(plan, f"DspConvSparseParams<{int(rq3)}>", sparse_params, constants, scratch,
                            note + _requant_note(rq3))


def bordered_extent(p: dict) -> tuple[int, int]:
    """Rows and columns of the input with the zero-point border every window needs."""
    padded_h = (p["output_h"] - 1) * p["stride_h"] + (p["filter_h"] - 1) * p["dilation_h"] + 1
    padded_w = (p["output_w"] - 1) * p["stride_w"] + p["filter_w"]
    return max(padded_h, p["pad_top"] + p["input_h"]), max(padded_w, p["pad_left"] + p["input_w"])


def _band_pixel_bytes(p: dict) -> int:
    """The band path's bytes between neighbouring pixels' windows, or 0 when it does not take
    the layer: 2-D windows on whole groups of 4 channels, or on 1 or 2 channels when a band
    column is whole int16 pairs (filter_h * input_c even: every window starts on a word) and the
    depth whole units of 2 steps (windows are read in place, not padded to a unit); no dilation,
    an even filter count, a pixel step the assembly has a copy for, rows of at least one run of
    3 pixels. Window rows of exactly one word on 1 or 2 channels (kws01's 10x4 stem) stay on the
    columns path when the bordered copy holds every window: widen3_rows reads 3 windows in place
    there, for fewer cycles and instructions than the band (kws01's layer 0: 435,785 est.
    cycles and 347,099 instructions, against 455,249 and 376,989)."""
    fh, fw, c = p["filter_h"], p["filter_w"], p["input_c"]
    if (fh, fw) == (1, 1) or p["dilation_h"] != 1 or p["dilation_w"] != 1 or p["output_c"] % 2:
        return 0
    if c % 4 and (c > 2 or (fh * c) % 2 or (fh * fw * c) % CONV_DEPTH_STEP):
        return 0
    padded_h, padded_w = bordered_extent(p)
    if c % 4 and fw * c == 4 and padded_h * padded_w * c <= PAD_COPY_MAX_BYTES:
        return 0
    if p["output_w"] < CONV_PIXELS or (fh == 3 and fw == 3 and c == 3):
        return 0
    band_w = (p["output_w"] - 1) * p["stride_w"] + fw
    pixel_bytes = 2 * fh * c * p["stride_w"]
    if pixel_bytes not in BAND_PIXEL_BYTES or band_w * fh * c * 2 > BAND_MAX_BYTES:
        return 0
    return pixel_bytes


def _band_depth_order(c: int, depth: int) -> np.ndarray:
    """The order of a window's [fx][fy][c] values in the stream for the band path.
    int8_pair_words pairs each group of 4 values as SXTB16 widens them ((v0, v2), (v1, v3)),
    which is how fill_band widens whole groups of 4 channels; a band on 1 or 2 channels holds
    the values in order, paired (v0, v1), (v2, v3) (fill_band_one_channel, _two_channels), so
    the middle two of every 4 swap places (the swap is its own inverse)."""
    order = np.arange(depth)
    if c % 4:
        order = order.reshape(-1, 4)[:, [0, 2, 1, 3]].reshape(-1)
    return order


def _band_plan(plan: LayerPlan, p: dict, pixel_bytes: int, conv_params: list, constants: list,
               rq3: bool) -> SpecializedLayerPlan:
    """A 2-D convolution read from a band of filter_h widened input rows laid [x][fy][c]
    (DspConvRowsParams): every window is then filter_w * filter_h * input_c / 2 consecutive
    words, and the 3 pixels of a run are pixel_bytes apart, so the assembly run reads them in
    place (no im2col); the stream's weights are [fx][fy][c] to match."""
    fh, c = p["filter_h"], p["input_c"]
    depth = fh * p["filter_w"] * c
    band_w = (p["output_w"] - 1) * p["stride_w"] + p["filter_w"]
    clamp = activation_clamps(p["activation_min"], p["activation_max"])
    params = [("conv", ParamStruct(tuple(conv_params))), ("band_w", band_w)]
    # The band, the interleaved columns of up to 3 leftover pixels (rows' ends), their outputs.
    scratch = band_w * fh * c * 2 + CONV_PIXELS * depth * 2 + round_up(CONV_PIXELS * p["output_c"], 4)
    cells = "channel groups" if c % 4 == 0 else "value pairs"
    note = (f"band of {fh} widened rows ({cells}), 3x2 SMLAD block read in place ({pixel_bytes} B a pixel), "
            f"int8 weights, depth {depth}->{depth}")
    pair_channels = c if c % 4 else 0  # fill_band_one_channel / _two_channels (1, 2), else fill_band
    return specialized_plan(plan, f"DspConvRowsParams<{pixel_bytes}, {clamp}, {int(rq3)}, {pair_channels}>", params,
                            constants, scratch, note + _requant_note(rq3))


register(dsp_kernel("conv2d_s8", "conv", specialize_conv, shared=("band",)))  # fill_band
