// tinyrig reference kernels: QUANTIZE (float32 -> int8, int8 -> int8) and
// DEQUANTIZE (int8 -> float32), as TFLM's AffineQuantize / Requantize /
// Dequantize. Float arithmetic is single precision, in the same order as TFLM,
// so results are identical on any IEEE-754 target (no -ffast-math).
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_quantize.h"

namespace tinyrig {
namespace reference {

namespace {

// std::round for float (halfway cases away from zero) without libm. The
// argument is clamped to the int32 range first: TFLM's cast of an out-of-range
// value is undefined, and any such value saturates to -128/127 after the clamp.
inline int32_t round_half_away_from_zero(float value) {
  if (value >= 2147483520.0f) return INT32_MAX;
  if (value <= -2147483520.0f) return INT32_MIN;
  if (!(value == value)) return 0;  // NaN
  const int32_t truncated = static_cast<int32_t>(value);
  const float fraction = value - static_cast<float>(truncated);  // exact for |value| < 2^31
  if (fraction >= 0.5f) return truncated + 1;
  if (fraction <= -0.5f) return truncated - 1;
  return truncated;
}

}  // namespace

void quantize_f32_s8(const QuantizeParams& p, const float* input, int8_t* output) {
  for (int32_t i = 0; i < p.size; ++i) {
    const int32_t rounded = round_half_away_from_zero(input[i] / p.scale);
    // Clamp before adding the zero point so the addition cannot overflow.
    const int32_t value = clamp_i32(rounded, -512, 512) + p.zero_point;
    output[i] = static_cast<int8_t>(clamp_i32(value, -128, 127));
  }
}

void requantize_s8(const RequantizeParams& p, const int8_t* input, int8_t* output) {
  for (int32_t i = 0; i < p.size; ++i) {
    const int32_t value =
        multiply_by_quantized_multiplier(static_cast<int32_t>(input[i]) - p.input_zero_point,
                                         p.multiplier, p.shift) +
        p.output_zero_point;
    output[i] = static_cast<int8_t>(clamp_i32(value, -128, 127));
  }
}

void dequantize_s8_f32(const DequantizeParams& p, const int8_t* input, float* output) {
  for (int32_t i = 0; i < p.size; ++i) {
    // TFLM: static_cast<float>(scale * (val - zero_point)), an int promoted to float.
    output[i] = p.scale * static_cast<float>(static_cast<int32_t>(input[i]) - p.zero_point);
  }
}

}  // namespace reference
}  // namespace tinyrig
