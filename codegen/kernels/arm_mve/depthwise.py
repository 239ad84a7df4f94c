"""Helium DEPTHWISE_CONV_2D (tinyrig_mve_depthwise.cc):
weight layout, plane geometry, output schedule and registration.

* Planar path (windows of at most 16 taps that a byte-offset gather reaches, and 4
  planes within 32 KB: every MLPerf Tiny depthwise layer): channels are copied into
  zero-point-padded planes (4 channels interleaved byte by byte where the gathers
  reach); the outputs run in groups of 4 from a per-layer schedule, each pair of
  windows one gather of their union (or a gather each) and a VMLADAV per output
  against the channel's taps as int8 lanes.
* Ring path (big images): 4 channels per int32 vector on a [quad][column] row ring,
  weights pre-widened to int32: [channel quad][tap][4].
"""

from __future__ import annotations

import numpy as np

from ...layer import ConstantArray, ConstantRef, LayerPlan, window_param
from ..registry import register
from ..specialize_common import (SpecializedLayerPlan, constants_of, int32_array, params_of, require_plain_depthwise,
                                 round_up, specialized_plan)
from . import QUAD, VECTOR, mve_kernel
from .requant import output_params, requant_table

DW_MAX_FILTER_H = 8  # ring slots the depthwise kernel keeps (kMaxFilterH)

PLANAR_GROUP_BYTES = 24576  # plane scratch the planar depthwise path aims for
PLANAR_MAX_BYTES = 32768  # at most this much scratch for 4 planes, else the ring path
COPY_CHANNELS = 8  # channels of a pixel the plane copy stores at once
INTERLEAVE = 4  # channels a plane position holds, where the gathers reach
FILL_BLOCK = 64  # the plane fill writes whole blocks of this many bytes


def _pair_starts(n: int) -> list[int]:
    """First indices of the pairs covering n windows (an odd last one overlaps the pair before)."""
    return list(range(0, n - 1, 2)) + ([max(n - 2, 0)] if n % 2 else [])


def _pairs(o_a: int, o_b: int, s_a: int, s_b: int, pitch: int, out_of) -> list:
    """One channel's outputs as pairs of windows s_a plane bytes apart: (offset of the
    first window in the plane, [output offset of each, or None where a window is not
    an output]). Either line by line (a last pair overlaps the one before it) or, when a
    plane line is a whole number of window steps, as one flat run whose windows
    straddle the pad between lines; whichever needs fewer pairs."""
    per_line = []
    for line in range(o_b):
        for k0 in _pair_starts(o_a):
            lanes = [out_of(line, k) if k < o_a else None for k in (k0, k0 + 1)]
            per_line.append((line * s_b * pitch + k0 * s_a, lanes))
    options = [per_line]
    if (s_b * pitch) % s_a == 0:
        steps = s_b * pitch // s_a  # window steps from one output line to the next
        total = (o_b - 1) * steps + o_a
        flat = []
        for j0 in _pair_starts(total):
            lanes = [out_of(j // steps, j % steps) if j < total and j % steps < o_a else None for j in (j0, j0 + 1)]
            if any(lane is not None for lane in lanes):
                flat.append((j0 * s_a, lanes))
        options.append(flat)
    return _fewest(options)


def _fewest(options: list) -> list:
    """The option with the fewest pairs (the first of equals: line by line); tests
    replace it to force the flat run."""
    return min(options, key=len)


def _schedule(pairs: list) -> tuple[np.ndarray, int]:
    """The pairs two by two as groups [group][2 window offsets, 4 output offsets], and
    the last group's store predicate. An odd last pair is taken twice (its lanes store
    the same values twice). A lane that is not an output stores its garbage where the
    next group stores a real output later; in the last group it is predicated off."""
    if len(pairs) % 2:
        pairs = [*pairs, pairs[-1]]
    groups = [(pairs[i][0], pairs[i + 1][0], pairs[i][1] + pairs[i + 1][1]) for i in range(0, len(pairs), 2)]
    table = []
    for g, (first, second, lanes) in enumerate(groups):
        if g + 1 < len(groups):
            later = next(lane for lane in groups[g + 1][2] if lane is not None)
            lanes = [later if lane is None else lane for lane in lanes]
        table.append([first, second, *[0 if lane is None else lane for lane in lanes]])
    mask = sum(0xF << (4 * i) for i, lane in enumerate(groups[-1][2]) if lane is not None)
    return np.array(table, dtype=np.int64), mask


def _planar_geometry(p: dict) -> dict | None:
    """Plane layout and output schedule of the planar depthwise path, or None when a
    window does not fit its 16-byte gather (more than 16 taps, or a tap of the window
    after it more than 255 bytes on) or the planes would take too much scratch.

    A plane holds one channel, zero-point padded, in lines of `pitch` bytes along one
    output axis; the pad after a line's input is shared with the pad before the next
    line's (a window reaching past the end of its line reads the next line's leading
    pad)."""
    fh, fw, oh, ow = p["filter_h"], p["filter_w"], p["output_h"], p["output_w"]
    channels = p["output_c"]
    if fh * fw > VECTOR:
        return None
    best = None
    for along_y in (False, True):
        if along_y:  # lines run down the columns
            n_a, pad_a, o_a, s_a, f_a = p["input_h"], p["pad_top"], oh, p["stride_h"], fh
            n_b, pad_b, o_b, s_b, f_b = p["input_w"], p["pad_left"], ow, p["stride_w"], fw
        else:
            n_a, pad_a, o_a, s_a, f_a = p["input_w"], p["pad_left"], ow, p["stride_w"], fw
            n_b, pad_b, o_b, s_b, f_b = p["input_h"], p["pad_top"], oh, p["stride_h"], fh
        pitch = max(pad_a + n_a, (o_a - 1) * s_a + f_a - pad_a, 1)

        def tap(b, a):  # (fy, fx) of the filter tap at (across, along)
            return (a, b) if along_y else (b, a)

        if f_b * (f_a + s_a) <= VECTOR and (f_b - 1) * pitch + f_a + s_a - 1 <= 255:
            # One gather of a pair's union: lanes (b, a) for a < f_a + s_a; the first
            # window's taps at a < f_a, the second's s_a on.
            cells = [(b, a) for b in range(f_b) for a in range(f_a + s_a)]
            taps_a = [tap(b, a) if a < f_a else None for b, a in cells]
            taps_b = [tap(b, a - s_a) if a >= s_a else None for b, a in cells]
            offsets = [b * pitch + a for b, a in cells]
            second = 0
        else:
            cells = sorted((tap(b, a), b * pitch + a) for b in range(f_b) for a in range(f_a))  # (fy, fx) order
            taps_a, taps_b, offsets = [c[0] for c in cells], None, [c[1] for c in cells]
            second = s_a  # the second window's gather is s_a bytes on
            if max(offsets) + s_a > 255:  # u8 gather offsets
                continue
        plane = max(((o_b - 1) * s_b + f_b) * pitch + pad_a, (pad_b + n_b) * pitch)
        if along_y:
            pairs = _pairs(o_a, o_b, s_a, s_b, pitch, lambda line, k: (k * ow + line) * channels)
        else:
            pairs = _pairs(o_a, o_b, s_a, s_b, pitch, lambda line, k: (line * ow + k) * channels)
        reach = max(window + second for window, _ in pairs) + max(offsets) + 1
        key = (len(pairs), taps_b is None, plane)  # a union gather saves 2 instructions a group
        if best is None or key < best[0]:
            best = (key, dict(along_y=int(along_y), plane_len=pitch, plane_size=plane, stride_along=s_a,
                              union_taps=int(taps_b is not None), taps_a=taps_a, taps_b=taps_b,
                              offsets=offsets, pairs=pairs, reach=reach, gather=max(offsets) + second))
    if best is None:
        return None
    geometry = best[1]
    plane = geometry["plane_size"]
    if QUAD * plane > PLANAR_MAX_BYTES or 7 * plane > 0xFFFF:  # 8 planes apart in u16 scatter offsets
        return None
    # Planes interleaved 4 channels a byte (INTERLEAVE): a copy step stores 16 channels
    # of a pixel as 4 words; the gather offsets are 4 times as far, so only for windows
    # that reach 63 bytes at most, and channels in whole 16s.
    k = INTERLEAVE if (channels % 16 == 0 and INTERLEAVE * geometry["gather"] <= 255
                       and 16 * plane <= PLANAR_MAX_BYTES) else 1
    # Channels per pass: 16s when interleaved, else whole octets where they fit (the
    # copy stores 8 channels of a pixel at once), else quads.
    if k > 1:
        unit = 16
    else:
        unit = COPY_CHANNELS if channels > QUAD and COPY_CHANNELS * plane <= PLANAR_MAX_BYTES else QUAD
    group = max(unit, min(round_up(channels, unit), PLANAR_GROUP_BYTES // plane // unit * unit))
    geometry["pairs"] = [(k * window, lanes) for window, lanes in geometry["pairs"]]
    table, mask = _schedule(geometry["pairs"])
    # Garbage windows of the last plane read past it.
    slack = max(k * (geometry["reach"] - 1) + k - (k * plane - 1), 0)
    geometry.update(group=group, schedule=table, final_mask=mask, interleave=k,
                    offsets=[k * o for o in geometry["offsets"]], stride_along=k * geometry["stride_along"],
                    scratch=round_up(group * plane, FILL_BLOCK) + slack)
    return geometry


def specialize_depthwise(plan: LayerPlan) -> SpecializedLayerPlan:
    p, c = params_of(plan), constants_of(plan)
    require_plain_depthwise(p, 2**31)  # the planar path takes any height; the ring path checks below
    fh, fw, channels = p["filter_h"], p["filter_w"], p["output_c"]
    taps = fh * fw
    table = requant_table(c["folded_bias"], c["multipliers"], c["shifts"], channels)
    channels_p = round_up(channels, QUAD)
    # The 3x3 ring path computes pixel pairs: one more output's columns for an odd width.
    padded_w = (round_up(p["output_w"], 2) - 1) * p["stride_w"] + fw
    common = [
        window_param(p), ("padded_w", padded_w),
        ("channels_padded", channels_p), ("input_zero_point", p["input_zero_point"]), *output_params(p),
    ]
    geometry = _planar_geometry(p)
    if geometry is not None and geometry["schedule"].max(initial=0) > 0xFFFF:
        geometry = None  # the schedule's offsets are uint16: outputs more than 64 KB apart take the ring path
    if geometry is not None:
        # int8 taps in flash, fh x fw bytes a channel; a predicated gather with per-layer lane
        # indices builds each window's 16 tap lanes once per channel (lanes with no tap are
        # predicated off, so zero).
        weights = c["weights"].astype(np.int64).reshape(taps, channels).T
        lane_taps = np.zeros((2, VECTOR), dtype=np.int64)
        masks = [0, 0]
        for window, taps_of in enumerate(filter(None, (geometry["taps_a"], geometry["taps_b"]))):
            for lane, where in enumerate(taps_of):
                if where is not None:
                    lane_taps[window, lane] = where[0] * fw + where[1]
                    masks[window] |= 1 << lane
        schedule = geometry["schedule"]
        offsets = np.zeros(VECTOR, dtype=np.int64)
        offsets[:len(geometry["offsets"])] = geometry["offsets"]
        offsets = np.where(offsets > 127, offsets - 256, offsets)  # u8 offsets stored as int8 bytes
        per_channel = table.transpose(0, 2, 1).reshape(-1, 3)[:channels]  # [channel][bias, multiplier, -shift]
        params = [
            *common, ("weights", 0), ("requant", 0), ("planar", 1),
            *[(name, geometry[name]) for name in ("along_y", "plane_len", "plane_size", "group", "stride_along")],
            ("groups", len(geometry["schedule"])), ("final_mask", geometry["final_mask"]),
            ("union_taps", geometry["union_taps"]), ("interleave", geometry["interleave"]),
            ("record_bytes", taps), ("lane_mask_a", masks[0]), ("lane_mask_b", masks[1]),
            ("planar_weights", ConstantRef("weights")),
            ("weight_lanes", ConstantRef("lanes")), ("tap_offsets", ConstantRef("taps")),
            ("schedule", ConstantRef("schedule")), ("planar_requant", ConstantRef("requant")),
        ]
        constants = [ConstantArray("weights", "int8_t", weights.reshape(-1)), int32_array("requant", per_channel),
                     ConstantArray("lanes", "int8_t", lane_taps.reshape(-1)), ConstantArray("taps", "int8_t", offsets),
                     ConstantArray("schedule", "uint16_t", schedule.reshape(-1))]
        axis = "columns" if geometry["along_y"] else "rows"
        return specialized_plan(plan, "MveDepthwiseConv2DParams", params, constants, geometry["scratch"],
                                f"{fh}x{fw} planar: gathered window + VMLADAV per output, lines along {axis}, "
                                f"{len(geometry['schedule'])} groups of 4 per channel"
                                + (", planes of 4 channels" if geometry["interleave"] > 1 else ""))
    require_plain_depthwise(p, DW_MAX_FILTER_H)  # the ring holds filter_h rows
    weights = np.zeros((taps, channels_p), dtype=np.int64)
    weights[:, :channels] = c["weights"].astype(np.int64).reshape(taps, channels)
    layout = weights.reshape(taps, channels_p // QUAD, QUAD).transpose(1, 0, 2)  # [quad][tap][4]
    params = [
        *common, ("weights", ConstantRef("weights")), ("requant", ConstantRef("requant")), ("planar", 0),
        *[(name, 0) for name in ("along_y", "plane_len", "plane_size", "group", "stride_along", "groups",
                                 "final_mask", "union_taps", "interleave", "record_bytes", "lane_mask_a", "lane_mask_b",
                                 "planar_weights",
                                 "weight_lanes", "tap_offsets", "schedule", "planar_requant")],
    ]
    constants = [int32_array("weights", layout), int32_array("requant", table)]
    scratch = fh * padded_w * channels_p  # the ring of padded input rows
    block = "pixel-pair 3x3" if (fh, fw) == (3, 3) and p["stride_w"] in (1, 2) else "tap-by-tap"
    return specialized_plan(plan, "MveDepthwiseConv2DParams", params, constants, scratch,
                            f"{fh}x{fw} {block} VMUL+VADD.S32 on a [quad][column] row ring")


register(mve_kernel("depthwise_conv2d_s8", "depthwise", specialize_depthwise))
