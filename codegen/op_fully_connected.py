"""Lowering of FULLY_CONNECTED (int8 input, int8 weights, optional int32 bias)."""

from __future__ import annotations

import numpy as np

from . import quantization as q
from .layer import ConstantArray, ConstantRef, LayerPlan, OperatorContext
from .op_conv import SUPPORTED_ACTIVATIONS, bias_values, check_weights, folded_bias


def lower_fully_connected(ctx: OperatorContext) -> LayerPlan:
    options = ctx.operator.options
    ctx.require_counts(2, 3)
    input_t, weights, output_t = ctx.input(0, "data"), ctx.input(1, "weights"), ctx.output()
    bias = ctx.optional_input(2)
    ctx.require_activation(input_t, "input")
    ctx.require_activation(output_t, "output")
    ctx.require(options.activation in SUPPORTED_ACTIVATIONS, f"fused activation {options.activation} not supported")
    ctx.require(options.weights_format == "DEFAULT", f"weights format {options.weights_format} not supported")
    ctx.require(not options.asymmetric_quantize_inputs, "hybrid (asymmetric_quantize_inputs) not supported")
    ctx.require(len(weights.shape) == 2, f"weights shape {list(weights.shape)} must be 2-D")
    ctx.require(len(output_t.shape) >= 1, "output must have at least one dimension")
    output_depth, accum_depth = weights.shape
    ctx.require(output_t.shape[-1] == output_depth,
                f"output depth {output_t.shape[-1]} does not match the {output_depth} weight rows")
    batches = output_t.element_count // output_depth
    # The input is read as [batches, accum_depth] whatever its declared shape.
    ctx.require(input_t.element_count == batches * accum_depth,
                f"input of {input_t.element_count} values is not {batches} rows of {accum_depth}")
    check_weights(ctx, weights, output_depth, channel_axis=0)

    w = weights.data.astype(np.int8)
    folded = folded_bias(ctx, bias_values(ctx, bias, output_depth), w.astype(np.int64).sum(axis=1),
                         input_t.zero_point)
    per_channel = int(weights.quantization.per_channel)
    if per_channel:
        multipliers, shifts = q.conv_channel_multipliers(input_t.scale, weights.quantization.scale, output_t.scale)
    else:
        multiplier, shift = q.fully_connected_tensor_multiplier(
            input_t.scale, weights.quantization.scale[0], output_t.scale)
        multipliers, shifts = np.array([multiplier], dtype=np.int32), np.array([shift], dtype=np.int32)
    try:
        act_min, act_max = q.activation_range(options.activation, output_t.scale, output_t.zero_point)
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    return ctx.plan(
        "fully_connected_s8",
        params_type="FullyConnectedParams",
        params=[
            ("batches", batches), ("accum_depth", accum_depth), ("output_depth", output_depth),
            ("output_zero_point", output_t.zero_point),
            ("activation_min", act_min), ("activation_max", act_max), ("per_channel", per_channel),
            ("weights", ConstantRef("weights")), ("folded_bias", ConstantRef("folded_bias")),
            ("multipliers", ConstantRef("multipliers")), ("shifts", ConstantRef("shifts")),
        ],
        constants=[
            ConstantArray("weights", "int8_t", w.reshape(-1)),
            ConstantArray("folded_bias", "int32_t", folded),
            ConstantArray("multipliers", "int32_t", multipliers),
            ConstantArray("shifts", "int32_t", shifts),
        ],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
        macs=batches * output_depth * accum_depth,
    )
