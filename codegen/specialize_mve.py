"""Helium (MVE) kernels for Cortex-M55 (runtime/arm_mve/): weight layout and registration.

VMLADAVA.S8 consumes int8 directly, so weights keep their int8 values, row-major
[output channel][depth], each row zero-padded to a multiple of 16 (one vector) and
the rows to a multiple of 4 (the block of filters sharing each input vector). The
epilogue is the fused requantisation of specialize_common with the 2^(ls+1) factor
applied to the accumulator (a shift) rather than to the weights. DEPTHWISE_CONV_2D
has no Helium variant yet: on Cortex-M55 it runs the DSP kernel.
"""

from __future__ import annotations

import numpy as np

from .kernel_registry import KernelVariant, register
from .layer import ConstantArray, ConstantRef, LayerPlan
from .specialize_common import (
    Declined,
    activation_clamps,
    constants_of,
    fused_requant,
    int32_array,
    pad_rows,
    params_of,
    round_up,
)
from .specialize_dsp import _specialized

FAMILY = "arm_mve"
HEADER = "arm_mve/tinyrig_mve_kernels.h"
SOURCES = ("arm_dsp/tinyrig_dsp_common.h", "arm_mve/tinyrig_mve_common.h")
VECTOR, ROWS = 16, 4


def _rows_and_epilogue(rows: np.ndarray, p: dict, c: dict):
    """Zero-padded int8 rows, unscaled bias and [rows, 4] requant table."""
    out_p, depth_p = round_up(rows.shape[0], ROWS), round_up(rows.shape[1], VECTOR)
    fused = fused_requant(rows, c["folded_bias"], c["multipliers"], c["shifts"], p["output_zero_point"],
                          p["activation_min"], p["activation_max"], weight_bits=32)
    weights = np.zeros((out_p, depth_p), dtype=np.int64)
    weights[: rows.shape[0], : rows.shape[1]] = rows
    bias = np.zeros(out_p, dtype=np.int64)
    bias[: rows.shape[0]] = np.where(fused.constant, 0, np.asarray(c["folded_bias"], dtype=np.int64))
    table = np.concatenate([fused.table.astype(np.int64), fused.scale_shift[:, None]], axis=1)
    table = pad_rows(table, out_p)
    if out_p > rows.shape[0]:
        table[rows.shape[0]:] = [2**30 + 1, 1, 1, 0]
    constants = [ConstantArray("weights", "int8_t", weights.reshape(-1)), int32_array("bias", bias),
                 int32_array("requant", table)]
    return constants, depth_p, out_p


def _epilogue_params(p: dict) -> list:
    return [
        ("clamp", activation_clamps(p["activation_min"], p["activation_max"])),
        ("activation_min", p["activation_min"]), ("activation_max", p["activation_max"]),
        ("weights", ConstantRef("weights")), ("bias", ConstantRef("bias")), ("requant", ConstantRef("requant")),
    ]


def specialize_conv(plan: LayerPlan):
    p, c = params_of(plan), constants_of(plan)
    if p["batches"] != 1:
        raise Declined("batch > 1")
    if p["filter_input_c"] != p["input_c"]:
        raise Declined("grouped convolution")
    out_c, fh, fw = p["output_c"], p["filter_h"], p["filter_w"]
    depth = fh * fw * p["input_c"]
    constants, depth_p, out_p = _rows_and_epilogue(c["weights"].astype(np.int64).reshape(out_c, depth), p, c)
    direct = int(fh == 1 and fw == 1 and p["pad_top"] == 0 and p["pad_left"] == 0 and depth % VECTOR == 0)
    params = [
        ("input_h", p["input_h"]), ("input_w", p["input_w"]), ("input_c", p["input_c"]),
        ("output_h", p["output_h"]), ("output_w", p["output_w"]), ("output_c", out_c),
        ("filter_h", fh), ("filter_w", fw), ("stride_h", p["stride_h"]), ("stride_w", p["stride_w"]),
        ("dilation_h", p["dilation_h"]), ("dilation_w", p["dilation_w"]),
        ("pad_top", p["pad_top"]), ("pad_left", p["pad_left"]),
        ("input_zero_point", p["input_zero_point"]), ("depth", depth), ("depth_padded", depth_p),
        ("channels_padded", out_p), ("direct", direct), *_epilogue_params(p),
    ]
    scratch = 0 if direct else 2 * depth_p
    note = f"{'1x1 direct' if direct else 'gathered'} 2x4 VMLADAVA block, depth {depth}->{depth_p}"
    return _specialized(plan, "MveConv2DParams", params, constants, scratch, note)


def specialize_fully_connected(plan: LayerPlan):
    p, c = params_of(plan), constants_of(plan)
    depth, outputs = p["accum_depth"], p["output_depth"]
    constants, depth_p, out_p = _rows_and_epilogue(c["weights"].astype(np.int64).reshape(outputs, depth), p, c)
    params = [
        ("batches", p["batches"]), ("accum_depth", depth), ("depth_padded", depth_p),
        ("output_depth", outputs), ("outputs_padded", out_p), *_epilogue_params(p),
    ]
    return _specialized(plan, "MveFullyConnectedParams", params, constants, depth_p,
                        f"1x4 VMLADAVA block, depth {depth}->{depth_p}")


for _kernel_id, _source, _hook in (
    ("conv2d_s8", "tinyrig_mve_conv.cc", specialize_conv),
    ("fully_connected_s8", "tinyrig_mve_fully_connected.cc", specialize_fully_connected),
):
    register(
        KernelVariant(kernel_id=_kernel_id, variant=FAMILY, function=f"tinyrig::arm_mve::{_kernel_id}",
                      header=HEADER, sources=(*SOURCES, f"arm_mve/{_source}"), specialize=_hook),
        FAMILY,
    )
