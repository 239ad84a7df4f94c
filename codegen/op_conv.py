"""Lowering of CONV_2D and DEPTHWISE_CONV_2D (int8, per-channel or per-tensor weights)."""

from __future__ import annotations

import numpy as np

from . import quantization as q
from .ir import Tensor
from .layer import ConstantArray, ConstantRef, LayerPlan, OperatorContext, window_param

SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def output_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> int:
    """ComputeOutSize (TensorFlow's GetWindowedOutputSize)."""
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride


def leading_padding(in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> int:
    """ComputePaddingWithOffset: TFLite pads floor(total/2) before, the rest after."""
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


def check_window(ctx: OperatorContext, options, input_hw, filter_hw, output_hw) -> tuple[int, int]:
    """Validate strides/dilation/padding against the tensors' shapes; return (pad_top, pad_left)."""
    ctx.require(options.padding in ("SAME", "VALID"), f"padding {options.padding} not supported")
    dilation_h = getattr(options, "dilation_h", 1)
    dilation_w = getattr(options, "dilation_w", 1)
    ctx.require(options.stride_h >= 1 and options.stride_w >= 1,
                f"stride {options.stride_h}x{options.stride_w} must be positive")
    ctx.require(dilation_h >= 1 and dilation_w >= 1, f"dilation {dilation_h}x{dilation_w} must be positive")
    expected = (
        output_size(options.padding, input_hw[0], filter_hw[0], options.stride_h, dilation_h),
        output_size(options.padding, input_hw[1], filter_hw[1], options.stride_w, dilation_w),
    )
    ctx.require(expected[0] >= 1 and expected[1] >= 1, "window larger than the input")
    ctx.require(tuple(output_hw) == expected,
                f"output spatial shape {list(output_hw)} does not match the {options.padding} window result {list(expected)}")
    return (
        leading_padding(input_hw[0], filter_hw[0], options.stride_h, dilation_h, expected[0]),
        leading_padding(input_hw[1], filter_hw[1], options.stride_w, dilation_w, expected[1]),
    )


def check_weights(ctx: OperatorContext, weights: Tensor, channels: int, channel_axis: int) -> None:
    ctx.require(weights.dtype == "int8", f"weights are {weights.dtype}, expected int8")
    ctx.require(weights.is_constant, "weights are not constant")
    ctx.require(weights.quantization is not None, "weights have no quantization")
    quant = weights.quantization
    ctx.require(bool(np.all(quant.zero_point == 0)), "weights have a non-zero zero point (asymmetric weights)")
    ctx.require(quant.scale.size in (1, channels),
                f"weights have {quant.scale.size} scales for {channels} output channels")
    if quant.per_channel:
        ctx.require(quant.quantized_dimension == channel_axis,
                    f"weights quantized along dimension {quant.quantized_dimension}, expected {channel_axis}")


def bias_values(ctx: OperatorContext, bias: Tensor | None, channels: int) -> np.ndarray:
    if bias is None:
        return np.zeros(channels, dtype=np.int64)
    ctx.require(bias.dtype == "int32", f"bias is {bias.dtype}, expected int32")
    ctx.require(bias.is_constant, "bias is not constant")
    ctx.require(bias.element_count == channels, f"bias has {bias.element_count} values for {channels} channels")
    return bias.data.reshape(-1).astype(np.int64)


def folded_bias(ctx: OperatorContext, bias: np.ndarray, weight_sums: np.ndarray, input_zero_point: int) -> np.ndarray:
    """bias + input_offset * sum(weights) with input_offset = -input_zero_point."""
    folded = bias + (-int(input_zero_point)) * weight_sums.astype(np.int64)
    ctx.require(bool(np.all((folded >= -(2**31)) & (folded < 2**31))),
                "folded bias overflows int32")
    return folded.astype(np.int32)


def quantization_arrays(ctx, input_t, weights, output_t) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    multipliers, shifts = q.conv_channel_multipliers(input_t.scale, weights.quantization.scale, output_t.scale)
    try:
        act_min, act_max = q.activation_range(ctx.operator.options.activation, output_t.scale, output_t.zero_point)
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    return multipliers, shifts, act_min, act_max, int(weights.quantization.per_channel)


def lower_conv2d(ctx: OperatorContext) -> LayerPlan:
    options = ctx.operator.options
    ctx.require_counts(2, 3)
    input_t, weights, output_t = ctx.input(0, "data"), ctx.input(1, "weights"), ctx.output()
    bias = ctx.optional_input(2)
    ctx.require_activation(input_t, "input")
    ctx.require_activation(output_t, "output")
    ctx.require(options.activation in SUPPORTED_ACTIVATIONS, f"fused activation {options.activation} not supported")
    ctx.require(len(input_t.shape) == 4 and len(output_t.shape) == 4 and len(weights.shape) == 4,
                "input, weights and output must be 4-D")
    batches, in_h, in_w, in_c = input_t.shape
    out_c, f_h, f_w, f_in_c = weights.shape
    ctx.require(output_t.shape[0] == batches and output_t.shape[3] == out_c,
                f"output shape {list(output_t.shape)} does not match batch {batches} / channels {out_c}")
    ctx.require(f_in_c >= 1 and in_c % f_in_c == 0, f"input depth {in_c} is not a multiple of filter depth {f_in_c}")
    groups = in_c // f_in_c
    ctx.require(out_c % groups == 0, f"{out_c} output channels do not split into {groups} groups")
    check_weights(ctx, weights, out_c, channel_axis=0)
    pad_top, pad_left = check_window(ctx, options, (in_h, in_w), (f_h, f_w), output_t.shape[1:3])

    w = weights.data.astype(np.int8)
    folded = folded_bias(ctx, bias_values(ctx, bias, out_c), w.reshape(out_c, -1).astype(np.int64).sum(axis=1),
                         input_t.zero_point)
    multipliers, shifts, act_min, act_max, per_channel = quantization_arrays(ctx, input_t, weights, output_t)
    return ctx.plan(
        "conv2d_s8",
        params_type="Conv2DParams",
        params=[
            ("batches", batches),
            window_param(dict(input_h=in_h, input_w=in_w, input_c=in_c, output_h=output_t.shape[1],
                              output_w=output_t.shape[2], output_c=out_c, filter_h=f_h, filter_w=f_w,
                              stride_h=options.stride_h, stride_w=options.stride_w, dilation_h=options.dilation_h,
                              dilation_w=options.dilation_w, pad_top=pad_top, pad_left=pad_left)),
            ("filter_input_c", f_in_c),
            ("input_zero_point", input_t.zero_point), ("output_zero_point", output_t.zero_point),
            ("activation_min", act_min), ("activation_max", act_max), ("per_channel", per_channel),
            ("weights", ConstantRef("weights")), ("folded_bias", ConstantRef("folded_bias")),
            ("multipliers", ConstantRef("multipliers")), ("shifts", ConstantRef("shifts")),
        ],
        constants=[
            ConstantArray("weights", "int8_t", w.reshape(-1)),
            ConstantArray("folded_bias", "int32_t", folded),
            ConstantArray("multipliers", "int32_t", multipliers if per_channel else multipliers[:1]),
            ConstantArray("shifts", "int32_t", shifts if per_channel else shifts[:1]),
        ],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
        macs=batches * output_t.shape[1] * output_t.shape[2] * out_c * f_h * f_w * f_in_c,
    )


def lower_depthwise_conv2d(ctx: OperatorContext) -> LayerPlan:
    options = ctx.operator.options
    ctx.require_counts(2, 3)
    input_t, weights, output_t = ctx.input(0, "data"), ctx.input(1, "weights"), ctx.output()
    bias = ctx.optional_input(2)
    ctx.require_activation(input_t, "input")
    ctx.require_activation(output_t, "output")
    ctx.require(options.activation in SUPPORTED_ACTIVATIONS, f"fused activation {options.activation} not supported")
    ctx.require(len(input_t.shape) == 4 and len(output_t.shape) == 4 and len(weights.shape) == 4,
                "input, weights and output must be 4-D")
    batches, in_h, in_w, in_c = input_t.shape
    one, f_h, f_w, out_c = weights.shape
    ctx.require(one == 1, f"weights shape {list(weights.shape)} must start with 1")
    ctx.require(output_t.shape[0] == batches and output_t.shape[3] == out_c,
                f"output shape {list(output_t.shape)} does not match batch {batches} / channels {out_c}")
    ctx.require(out_c % in_c == 0, f"{out_c} output channels are not a multiple of {in_c} input channels")
    depth_multiplier = out_c // in_c
    ctx.require(options.depth_multiplier == depth_multiplier,
                f"depth_multiplier option {options.depth_multiplier} disagrees with the shapes ({depth_multiplier})")
    check_weights(ctx, weights, out_c, channel_axis=3)
    pad_top, pad_left = check_window(ctx, options, (in_h, in_w), (f_h, f_w), output_t.shape[1:3])

    w = weights.data.astype(np.int8)
    folded = folded_bias(ctx, bias_values(ctx, bias, out_c), w.reshape(-1, out_c).astype(np.int64).sum(axis=0),
                         input_t.zero_point)
    multipliers, shifts, act_min, act_max, per_channel = quantization_arrays(ctx, input_t, weights, output_t)
    return ctx.plan(
        "depthwise_conv2d_s8",
        params_type="DepthwiseConv2DParams",
        params=[
            ("batches", batches),
            window_param(dict(input_h=in_h, input_w=in_w, input_c=in_c, output_h=output_t.shape[1],
                              output_w=output_t.shape[2], output_c=out_c, filter_h=f_h, filter_w=f_w,
                              stride_h=options.stride_h, stride_w=options.stride_w, dilation_h=options.dilation_h,
                              dilation_w=options.dilation_w, pad_top=pad_top, pad_left=pad_left)),
            ("depth_multiplier", depth_multiplier),
            ("input_zero_point", input_t.zero_point), ("output_zero_point", output_t.zero_point),
            ("activation_min", act_min), ("activation_max", act_max), ("per_channel", per_channel),
            ("weights", ConstantRef("weights")), ("folded_bias", ConstantRef("folded_bias")),
            ("multipliers", ConstantRef("multipliers")), ("shifts", ConstantRef("shifts")),
        ],
        constants=[
            ConstantArray("weights", "int8_t", w.reshape(-1)),
            ConstantArray("folded_bias", "int32_t", folded),
            ConstantArray("multipliers", "int32_t", multipliers if per_channel else multipliers[:1]),
            ConstantArray("shifts", "int32_t", shifts if per_channel else shifts[:1]),
        ],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
        macs=batches * output_t.shape[1] * output_t.shape[2] * out_c * f_h * f_w,
    )
