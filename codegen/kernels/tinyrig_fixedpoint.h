// tinyrig inference runtime: integer rounding primitives.
//
// These reproduce, bit for bit, the arithmetic of TensorFlow Lite Micro's
// reference kernels (tensorflow/lite/kernels/internal/common.h and gemmlowp's
// fixedpoint.h) in the configuration TFLM builds by default: the
// "double rounding" MultiplyByQuantizedMultiplier (TFLITE_SINGLE_ROUNDING off).
// Every kernel variant, reference or optimized, must produce the same values.
//
// Signed overflow is avoided where TFLM relies on two's-complement wrapping
// (e.g. x * (1 << shift)); the wrap is done in unsigned arithmetic instead,
// which gives the same bits without undefined behaviour.
//
// Conventions every kernel's parameter block follows:
//  * activations are NHWC, int8 unless stated;
//  * `multiplier`/`shift` pairs are TFLite's quantized multipliers: the real
//    scale is multiplier * 2^(shift - 31); shift > 0 means a left shift;
//  * arrays flagged `per_channel == 0` hold a single entry used for every channel.
#ifndef TINYRIG_FIXEDPOINT_H_
#define TINYRIG_FIXEDPOINT_H_

#include <cstdint>

namespace tinyrig {

inline int32_t clamp_i32(int32_t value, int32_t low, int32_t high) {
  return value < low ? low : (value > high ? high : value);
}

// x * 2^shift with the wrap-around of a 32-bit two's-complement multiply.
inline int32_t wrapping_shift_left(int32_t x, int shift) {
  return static_cast<int32_t>(static_cast<uint32_t>(x) << shift);
}

// gemmlowp::SaturatingRoundingDoublingHighMul (ARM VQRDMULH): round(a*b / 2^31),
// ties away from zero, saturating the single overflow case INT32_MIN * INT32_MIN.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == INT32_MIN;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // Division (not a shift) truncates towards zero, as in gemmlowp.
  const int32_t high = static_cast<int32_t>((ab + nudge) / (INT64_C(1) << 31));
  return overflow ? INT32_MAX : high;
}

// gemmlowp::RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away
// from zero (the threshold is one higher for negative x).
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((INT64_C(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// tflite::MultiplyByQuantizedMultiplier, double-rounding variant:
// x * multiplier * 2^(shift - 31), with a rounding doubling high multiply
// followed by a separate rounding right shift (two roundings, as TFLM does).
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(wrapping_shift_left(x, left_shift), multiplier),
      right_shift);
}

// The common tail of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: scale the
// int32 accumulator to the output, add the output zero point, clamp to the
// fused activation range.
inline int8_t requantize_accumulator_to_int8(int32_t acc, int32_t multiplier, int32_t shift,
                                             int32_t output_zero_point, int32_t activation_min,
                                             int32_t activation_max) {
  const int32_t value = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_zero_point;
  return static_cast<int8_t>(clamp_i32(value, activation_min, activation_max));
}

// gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for exponent > 0: a left
// shift that saturates instead of overflowing.
inline int32_t saturating_shift_left(int32_t x, int exponent) {
  const int32_t threshold = (INT32_C(1) << (31 - exponent)) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return wrapping_shift_left(x, exponent);
}

// gemmlowp::RoundingHalfSum: (a + b) / 2 rounded to nearest, ties away from zero.
inline int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = static_cast<int64_t>(a) + static_cast<int64_t>(b);
  const int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int32_t>((sum + sign) / 2);
}

// Number of leading zero bits of a non-zero 32-bit value.
inline int count_leading_zeros(uint32_t x) {
#if defined(__GNUC__)
  return x == 0 ? 32 : __builtin_clz(x);
#else
  int zeros = 0;
  while (zeros < 32 && (x & (UINT32_C(1) << (31 - zeros))) == 0) ++zeros;
  return zeros;
#endif
}

}  // namespace tinyrig

#endif  // TINYRIG_FIXEDPOINT_H_
