"""DSP-extension FULLY_CONNECTED (tinyrig_dsp_fully_connected.cc): int8 weight layout and
registration.

The weights stay one byte each in flash. Per group of 4 inputs (a0..a3) and output row
(w0..w3) the kernel loads one weight word W and makes the 4 MACs with one SXTB16 and two
SMLADs against two activation words widened once into scratch:

    P = (a1, a3),  R = (256 a0 - a1 + 127, 256 a2 - a3 + 127)      (int16 pairs)
    acc += SMLAD(W, P) + SMLAD(SXTB16(W), R)

W's bytes are (w0, w1 - [w0 < 0], w2, w3 - [w2 < 0]), so its halfwords read as int16 are
exactly w0 + 256 w1 and w2 + 256 w3, and SXTB16(W) = (w0, w2). The sum is
256 (a.w) + 127 (w0 + w2): the accumulator holds 256 x the dot product once the bias
starts it at 256 bias - 127 (sum of the even-position weights). The 127 keeps R inside
int16 for every int8 input (256 a0 - a1 spans 65,536 values). SMLAD wraps modulo 2^32,
so only the final 256 (a.w + bias) has to fit int32 (checked per row); the epilogue shifts
it right by 8 - (ls + 1) to the fused epilogue's scaled accumulator.

Layout: one int32 stream, per block of 5 outputs the 5 start values and then
[input group][row of the block] weight words (4 int8 each), rows padded to 5 outputs and
the depth to 4 inputs with zero weights. One LDM of the stream starts a block's
accumulators, another brings a group's 5 weight words.
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantRef as _ref, LayerPlan
from ..registry import Declined, register
from ..specialize_common import SpecializedLayerPlan, constants_of, int32_array, params_of, round_up, specialized_plan
from . import dsp_kernel
from .fused_epilogue import INT32_LIMIT, MAX_ABS_INPUT, activation_clamps, fused_requant

FC_OUTPUTS, FC_GROUP = 5, 4  # outputs per block (the accumulators the loop holds), inputs per group
PRODUCT_SCALE = 256  # the accumulator is 256 x the dot product (see the module docstring)
R_OFFSET = 127


def sxtb16_pair_bytes(rows: np.ndarray) -> np.ndarray:
    """[rows, depth] int8 weights (depth % 4 == 0) -> the same shape of stored bytes: each
    odd-position weight less the sign bit of the weight before it, so that a halfword
    reads as w_even + 256 w_odd. Declines when that leaves int8 (w_odd = -128 after a
    negative w_even; symmetric int8 weights never hold -128)."""
    stored = np.asarray(rows, dtype=np.int64).copy()
    stored[:, 1::2] -= stored[:, 0::2] < 0
    if np.any(stored < -128):
        raise Declined("a weight of -128 follows a negative one: its halfword does not fit int16")
    return stored


def specialize_fully_connected(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    rows = c["weights"].astype(np.int64).reshape(outputs, depth)
    bias = c["folded_bias"].astype(np.int64).reshape(-1)
    depth_p, out_p = round_up(depth, FC_GROUP), round_up(outputs, FC_OUTPUTS)
    fused = fused_requant(rows, bias, c["multipliers"], c["shifts"], p["output_zero_point"],
                          p["activation_min"], p["activation_max"], weight_bits=32)
    live = ~fused.constant
    if np.any(fused.scale_shift[live] > 8):
        raise Declined("a left shift above 7: the scaled accumulator is more than 256 x the dot product")
    bound = (np.abs(bias) + np.abs(rows).sum(axis=1) * MAX_ABS_INPUT) * PRODUCT_SCALE
    if np.any(bound[live] >= INT32_LIMIT):
        raise Declined("256 x the accumulator may overflow int32")
    padded = np.zeros((out_p, depth_p), dtype=np.int64)
    padded[:outputs, :depth] = np.where(live[:, None], rows, 0)
    stored = sxtb16_pair_bytes(padded)
    start = np.zeros(out_p, dtype=np.int64)
    start[:outputs] = np.where(live, bias * PRODUCT_SCALE, 0)
    start -= R_OFFSET * padded[:, 0::2].sum(axis=1)
    start = ((start + 2**31) % 2**32) - 2**31  # SMLAD wraps; only the final sum must fit
    table = np.zeros((outputs, 4), dtype=np.int64)
    table[:, :3] = fused.table
    table[:, 3] = np.where(live, 8 - fused.scale_shift, 8)
    table = np.concatenate([table, np.repeat(table[:1], out_p - outputs, axis=0)])  # padded rows: discarded
    clamps = activation_clamps(p["activation_min"], p["activation_max"])
    # One requant row for all outputs (per-tensor) and no clamp: the lean epilogue;
    # otherwise a row per output and the clamp.
    mode = 0 if np.all(table == table[0]) and not clamps else 1
    if mode == 0:
        table = table[:1]
    words = stored.reshape(out_p // FC_OUTPUTS, FC_OUTPUTS, depth_p // 4, 4).transpose(0, 2, 1, 3)
    words = (words & 0xFF) << np.array([0, 8, 16, 24])
    words = ((words.sum(axis=3) + 2**31) % 2**32 - 2**31).reshape(out_p // FC_OUTPUTS, -1)  # [block][group x row]
    stream = np.concatenate([start.reshape(-1, FC_OUTPUTS), words], axis=1)
    params = [
        ("batches", p["batches"]), ("accum_depth", depth), ("groups", depth_p // 4),
        ("output_depth", outputs), ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("mode", mode), ("stream", _ref("stream")), ("requant", _ref("requant")),
    ]
    constants = [int32_array("stream", stream), int32_array("requant", table)]
    clamp = " clamped" if clamps else ""
    return specialized_plan(plan, "DspFullyConnectedParams", params, constants, depth_p * 2,
                            f"1x5 int8 SXTB16/SMLAD rows{clamp}, depth {depth}->{depth_p}")


register(dsp_kernel("fully_connected_s8", "fully_connected", specialize_fully_connected))
