"""Host-side quantization arithmetic, reproducing TFLite Micro's Prepare() step.

Everything TFLM computes once per layer at init time (quantized multipliers,
activation ranges, softmax scaling) is computed here instead, with the same
float32/float64 operations in the same order, so the constants written into the
generated code are the ones TFLM would hold in its op data.

Scales coming from the model are float32; they are widened to Python floats
(IEEE doubles) only where TFLM widens them to double.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN = -128
INT8_MAX = 127


def _round_half_away_from_zero(value: float) -> int:
    """std::round / TfLiteRound on a double."""
    if value >= 0:
        return int(math.floor(value + 0.5)) if value < 2**52 else int(value)
    return -_round_half_away_from_zero(-value)


# tflite-micro applies a positive shift as `x * (1 << shift)` on int32: from 31 on that is
# undefined behaviour, and long before it any real input overflows. A model asking for it has
# broken scales (e.g. 1e12); its outputs would match nothing, so it is refused, not compiled.
MAX_LEFT_SHIFT = 30


class MultiplierRangeError(ValueError):
    """A requantisation multiplier too large for tflite-micro's int32 arithmetic."""

    def __init__(self, real_multiplier: float, shift: int):
        super().__init__(f"requantisation multiplier {real_multiplier:.6g} needs a left shift of {shift} "
                         f"(tflite-micro's int32 arithmetic allows {MAX_LEFT_SHIFT}): check the tensor scales")


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """tflite::QuantizeMultiplier (double-rounding build): real = m * 2^(shift - 31).

    Returns (multiplier, shift) with multiplier in [2^30, 2^31) or 0; shift > 0 is a left shift.
    """
    if real_multiplier == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real_multiplier)
    # fraction * 2^31 is exact in a double, so this is TfLiteRound(q * (1LL << 31)).
    q_fixed = _round_half_away_from_zero(fraction * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    # Multipliers below 2^-31 flush to zero rather than shifting every bit out.
    if shift < -31:
        shift = 0
        q_fixed = 0
    if shift > MAX_LEFT_SHIFT:
        raise MultiplierRangeError(real_multiplier, shift)
    return int(q_fixed), int(shift)


def f32(value) -> np.float32:
    return np.float32(value)


def conv_channel_multipliers(input_scale, filter_scales, output_scale) -> tuple[np.ndarray, np.ndarray]:
    """PopulateConvolutionQuantizationParams: per channel, in double,
    (double(input_scale) * double(filter_scale)) / double(output_scale)."""
    multipliers, shifts = [], []
    for filter_scale in np.asarray(filter_scales, dtype=np.float32).reshape(-1):
        effective = float(f32(input_scale)) * float(filter_scale) / float(f32(output_scale))
        multiplier, shift = quantize_multiplier(effective)
        multipliers.append(multiplier)
        shifts.append(shift)
    return np.array(multipliers, dtype=np.int32), np.array(shifts, dtype=np.int32)


def fully_connected_tensor_multiplier(input_scale, filter_scale, output_scale) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler (per-tensor FULLY_CONNECTED): the float32 scales are
    widened to double first, and the product and quotient taken in double. (A float32 product
    was off by one LSB on a rounding boundary: fuzz case fc_per_tensor_multiplier.)"""
    return quantize_multiplier(float(f32(input_scale)) * float(f32(filter_scale)) / float(f32(output_scale)))


def _quantize_activation_bound(value: float, scale, zero_point: int) -> int:
    # Quantize() in kernel_util.cc: TfLiteRound(f / scale) in float32, plus the zero point.
    quotient = f32(value) / f32(scale)
    return int(zero_point) + _round_half_away_from_zero(float(quotient))


def activation_range(activation: str, output_scale, output_zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int8 output. Raises ValueError for
    activations that have no quantized range (TANH, SIGN_BIT)."""
    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, _quantize_activation_bound(0.0, output_scale, output_zero_point)), INT8_MAX
    if activation == "RELU6":
        return (
            max(INT8_MIN, _quantize_activation_bound(0.0, output_scale, output_zero_point)),
            min(INT8_MAX, _quantize_activation_bound(6.0, output_scale, output_zero_point)),
        )
    if activation == "RELU_N1_TO_1":
        return (
            max(INT8_MIN, _quantize_activation_bound(-1.0, output_scale, output_zero_point)),
            min(INT8_MAX, _quantize_activation_bound(1.0, output_scale, output_zero_point)),
        )
    raise ValueError(f"fused activation {activation} has no quantized int8 form")


SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5


def softmax_input_scaling(beta: float, input_scale) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius for int8 softmax.

    Returns (input_multiplier, input_left_shift, diff_min)."""
    integer_bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    max_real_multiplier = float((1 << 31) - 1)  # double-rounding build
    real = min(float(beta) * float(f32(input_scale)) * float(1 << (31 - integer_bits)), max_real_multiplier)
    multiplier, left_shift = quantize_multiplier(real)
    max_input_rescaled = 1.0 * ((1 << integer_bits) - 1) * float(1 << (31 - integer_bits)) / float(1 << left_shift)
    diff_min = -int(math.floor(max_input_rescaled))
    return multiplier, left_shift, diff_min


ADD_INT8_LEFT_SHIFT = 20


def add_rescaling(input1_scale, input2_scale, output_scale) -> dict[str, int]:
    """CalculateOpDataAdd for int8: both inputs are rescaled to twice the larger
    input scale after a 20-bit headroom shift, then the sum to the output scale."""
    twice_max_input_scale = 2.0 * float(max(f32(input1_scale), f32(input2_scale)))
    real_input1 = float(f32(input1_scale)) / twice_max_input_scale
    real_input2 = float(f32(input2_scale)) / twice_max_input_scale
    real_output = twice_max_input_scale / (float(1 << ADD_INT8_LEFT_SHIFT) * float(f32(output_scale)))
    result = {"left_shift": ADD_INT8_LEFT_SHIFT}
    for name, real in (("input1", real_input1), ("input2", real_input2), ("output", real_output)):
        # QuantizeMultiplierSmallerThanOneExp checks 0 < real < 1.
        if not 0.0 < real < 1.0:
            raise ValueError(f"{name} rescale factor {real:g} is outside (0, 1)")
        multiplier, shift = quantize_multiplier(real)
        result[f"{name}_multiplier"] = multiplier
        result[f"{name}_shift"] = shift
    return result


def requantize_multiplier(input_scale, output_scale) -> tuple[int, int]:
    """PrepareQuantizeReference for int8 -> int8: double(input) / double(output)."""
    return quantize_multiplier(float(f32(input_scale)) / float(f32(output_scale)))
