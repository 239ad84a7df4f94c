"""Lowering of AVERAGE_POOL_2D and MAX_POOL_2D (int8)."""

from __future__ import annotations

from . import quantization as q
from .layer import LayerPlan, OperatorContext, window_param
from .op_conv import check_window

POOL_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def lower_pool2d(ctx: OperatorContext) -> LayerPlan:
    options = ctx.operator.options
    ctx.require_counts(1, 1)
    input_t, output_t = ctx.input(0, "data"), ctx.output()
    ctx.require_activation(input_t, "input")
    ctx.require_activation(output_t, "output")
    ctx.require(options.activation in POOL_ACTIVATIONS, f"fused activation {options.activation} not supported")
    ctx.require(len(input_t.shape) == 4 and len(output_t.shape) == 4, "input and output must be 4-D")
    # TFLM's pooling Prepare insists on identical input/output quantization.
    ctx.require(abs(float(input_t.scale) - float(output_t.scale)) <= 1e-6
                and input_t.zero_point == output_t.zero_point,
                "input and output quantization differ")
    batches, in_h, in_w, channels = input_t.shape
    ctx.require(output_t.shape[0] == batches and output_t.shape[3] == channels,
                f"output shape {list(output_t.shape)} does not match input {list(input_t.shape)}")
    ctx.require(options.filter_h >= 1 and options.filter_w >= 1, "filter size must be positive")
    pad_top, pad_left = check_window(ctx, options, (in_h, in_w), (options.filter_h, options.filter_w),
                                     output_t.shape[1:3])
    # A window lying entirely in the padding would make TFLM's average pool fail.
    ctx.require(pad_top < options.filter_h and pad_left < options.filter_w, "a pooling window covers only padding")
    try:
        act_min, act_max = q.activation_range(options.activation, output_t.scale, output_t.zero_point)
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    kernel = "average_pool2d_s8" if ctx.operator.op == "AVERAGE_POOL_2D" else "max_pool2d_s8"
    return ctx.plan(
        kernel,
        params_type="Pool2DParams",
        params=[
            ("batches", batches),
            window_param(dict(input_h=in_h, input_w=in_w, input_c=channels, output_h=output_t.shape[1],
                              output_w=output_t.shape[2], output_c=channels, filter_h=options.filter_h,
                              filter_w=options.filter_w, stride_h=options.stride_h, stride_w=options.stride_w,
                              dilation_h=1, dilation_w=1, pad_top=pad_top, pad_left=pad_left)),
            ("activation_min", act_min), ("activation_max", act_max),
        ],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
    )
