"""Lowering of the element-wise and shape operators: ADD, SOFTMAX, QUANTIZE,
DEQUANTIZE and RESHAPE."""

from __future__ import annotations

import numpy as np

from . import quantization as q
from .layer import ConstantArray, LayerPlan, OperatorContext

ADD_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def _broadcast_strides(ctx: OperatorContext, shape, output_shape) -> list[int]:
    """Strides of `shape` viewed as the 4-D output shape; 0 along broadcast dimensions."""
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    out = (1,) * (4 - len(output_shape)) + tuple(output_shape)
    strides, stride = [0] * 4, 1
    for axis in range(3, -1, -1):
        if padded[axis] == out[axis]:
            strides[axis] = stride if padded[axis] > 1 else 0
        else:
            ctx.require(padded[axis] == 1, f"shape {list(shape)} does not broadcast to {list(output_shape)}")
        stride *= padded[axis]
    return strides


def lower_add(ctx: OperatorContext) -> LayerPlan:
    options = ctx.operator.options
    ctx.require_counts(2, 2)
    a, b, output_t = ctx.input(0, "first"), ctx.input(1, "second"), ctx.output()
    constants = []
    for tensor, role in ((a, "first input"), (b, "second input")):
        ctx.require(tensor.dtype == "int8", f"{role} is {tensor.dtype}, expected int8")
        ctx.require(tensor.quantization is not None and not tensor.quantization.per_channel,
                    f"{role} needs per-tensor quantization")
    ctx.require_activation(output_t, "output")
    ctx.require(options.activation in ADD_ACTIVATIONS, f"fused activation {options.activation} not supported")
    ctx.require(len(output_t.shape) <= 4 and len(a.shape) <= 4 and len(b.shape) <= 4,
                "more than 4 dimensions not supported")
    strides_a = _broadcast_strides(ctx, a.shape, output_t.shape)
    strides_b = _broadcast_strides(ctx, b.shape, output_t.shape)
    try:
        rescale = q.add_rescaling(a.scale, b.scale, output_t.scale)
        act_min, act_max = q.activation_range(options.activation, output_t.scale, output_t.zero_point)
    except ValueError as exc:
        raise ctx.fail(str(exc)) from None
    # A constant operand is emitted as a flash array instead of living in the arena.
    constant_inputs = {}
    for position, tensor in enumerate((a, b)):
        if tensor.is_constant:
            name = f"input{position + 1}"
            constants.append(ConstantArray(name, "int8_t", tensor.data.astype(np.int8).reshape(-1)))
            constant_inputs[position] = name
    dims = [1] * (4 - len(output_t.shape)) + list(output_t.shape)
    return ctx.plan(
        "add_s8",
        params_type="AddParams",
        params=[
            ("output_dims", dims), ("input1_strides", strides_a), ("input2_strides", strides_b),
            ("input1_offset", -a.zero_point), ("input2_offset", -b.zero_point),
            ("left_shift", rescale["left_shift"]),
            ("input1_multiplier", rescale["input1_multiplier"]), ("input1_shift", rescale["input1_shift"]),
            ("input2_multiplier", rescale["input2_multiplier"]), ("input2_shift", rescale["input2_shift"]),
            ("output_multiplier", rescale["output_multiplier"]), ("output_shift", rescale["output_shift"]),
            ("output_zero_point", output_t.zero_point),
            ("activation_min", act_min), ("activation_max", act_max),
        ],
        constants=constants,
        inputs=[a.index, b.index],
        constant_inputs=constant_inputs,
        outputs=[output_t.index],
        input_shapes=[a.shape, b.shape],
        output_shapes=[output_t.shape],
    )


def lower_softmax(ctx: OperatorContext) -> LayerPlan:
    ctx.require_counts(1, 1)
    input_t, output_t = ctx.input(0, "data"), ctx.output()
    ctx.require_activation(input_t, "input")
    ctx.require_activation(output_t, "output")
    ctx.require(len(input_t.shape) >= 1 and input_t.shape == output_t.shape,
                f"input shape {list(input_t.shape)} and output shape {list(output_t.shape)} differ")
    # TFLM's int8 softmax only accepts the canonical output quantization 1/256, -128.
    ctx.require(output_t.zero_point == -128 and np.float32(output_t.scale) == np.float32(1.0 / 256),
                f"output quantization ({output_t.scale:g}, {output_t.zero_point}) must be (1/256, -128)")
    multiplier, left_shift, diff_min = q.softmax_input_scaling(ctx.operator.options.beta, input_t.scale)
    depth = input_t.shape[-1]
    return ctx.plan(
        "softmax_s8",
        params_type="SoftmaxParams",
        params=[
            ("outer_size", input_t.element_count // depth), ("depth", depth),
            ("input_multiplier", multiplier), ("input_left_shift", left_shift), ("diff_min", diff_min),
        ],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
    )


def lower_quantize(ctx: OperatorContext) -> LayerPlan:
    ctx.require_counts(1, 1)
    input_t, output_t = ctx.input(0, "data"), ctx.output()
    ctx.require_activation(output_t, "output")
    ctx.require(input_t.element_count == output_t.element_count, "input and output sizes differ")
    common = dict(inputs=[input_t.index], outputs=[output_t.index],
                  input_shapes=[input_t.shape], output_shapes=[output_t.shape])
    if input_t.dtype == "float32":
        ctx.require(not input_t.is_constant, "input is a constant")
        return ctx.plan(
            "quantize_f32_s8",
            params_type="QuantizeParams",
            params=[("size", output_t.element_count), ("scale", np.float32(output_t.scale)),
                    ("zero_point", output_t.zero_point)],
            **common,
        )
    ctx.require(input_t.dtype == "int8", f"input is {input_t.dtype}, only float32 or int8 are supported")
    ctx.require_activation(input_t, "input")
    multiplier, shift = q.requantize_multiplier(input_t.scale, output_t.scale)
    return ctx.plan(
        "requantize_s8",
        params_type="RequantizeParams",
        params=[("size", output_t.element_count), ("input_zero_point", input_t.zero_point),
                ("output_zero_point", output_t.zero_point), ("multiplier", multiplier), ("shift", shift)],
        **common,
    )


def lower_dequantize(ctx: OperatorContext) -> LayerPlan:
    ctx.require_counts(1, 1)
    input_t, output_t = ctx.input(0, "data"), ctx.output()
    ctx.require_activation(input_t, "input")
    ctx.require(output_t.dtype == "float32", f"output is {output_t.dtype}, only float32 is supported")
    ctx.require(input_t.element_count == output_t.element_count, "input and output sizes differ")
    return ctx.plan(
        "dequantize_s8_f32",
        params_type="DequantizeParams",
        params=[("size", input_t.element_count), ("scale", np.float32(input_t.scale)),
                ("zero_point", input_t.zero_point)],
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
    )


def lower_reshape(ctx: OperatorContext) -> LayerPlan:
    ctx.require_counts(1, 2)
    input_t, output_t = ctx.input(0, "data"), ctx.output()
    ctx.require(not input_t.is_constant, "reshaping a constant tensor is not supported")
    ctx.require(input_t.dtype == output_t.dtype, f"input is {input_t.dtype} but output is {output_t.dtype}")
    ctx.require(input_t.byte_size == output_t.byte_size,
                f"input {list(input_t.shape)} and output {list(output_t.shape)} hold different sizes")
    # No kernel: the output tensor is planned at the input's arena offset.
    return ctx.plan(
        None,
        inputs=[input_t.index],
        outputs=[output_t.index],
        input_shapes=[input_t.shape],
        output_shapes=[output_t.shape],
        alias_of=input_t.index,
    )
