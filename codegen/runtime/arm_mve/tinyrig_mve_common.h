// tinyrig Helium kernels: shared pieces (vector requantisation, byte copies).
//
// The epilogue is TFLM's double-rounding MultiplyByQuantizedMultiplier on four
// int32 lanes at once, for right shifts >= 1 and no left shift (the code generator
// declines other layers, which then run the DSP or reference kernel):
//   SaturatingRoundingDoublingHighMul(x, M) == VQRDMULH.S32 (both are
//     floor((x*M + 2^30) / 2^31); TFLM's nudge-and-truncate agrees at every tie);
//   RoundingDivideByPOT(y, e) == VRSHL.S32(VQADD.S32(y, y >> 31), -e) (round half
//     away from zero: a negative y is nudged down by one before the round-half-up
//     shift; VQADD keeps INT32_MIN, whose result is then still exact).
// On a host (no MVE) the same functions are scalar loops over the same layouts.
#ifndef TINYRIG_MVE_COMMON_H_
#define TINYRIG_MVE_COMMON_H_

#include <cstdint>

#include "tinyrig_fixedpoint.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define TINYRIG_MVE_NATIVE 1
#else
#define TINYRIG_MVE_NATIVE 0
#endif

namespace tinyrig {
namespace arm_mve {

// Per-channel epilogue constants, in groups of 4 channels: [group][bias, multiplier,
// -right shift][4]. The bias already folds the input zero point in.
constexpr int32_t kRequantWords = 12;

#if TINYRIG_MVE_NATIVE
// Four accumulators (bias included) -> four int8 outputs in int32 lanes.
inline int32x4_t requantize4(int32x4_t acc, int32x4_t multiplier, int32x4_t neg_shift, int32_t output_offset,
                             int32x4_t lo, int32x4_t hi) {
  int32x4_t y = vqrdmulhq_s32(acc, multiplier);
  y = vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), neg_shift);
  y = vaddq_n_s32(y, output_offset);
  return vminq_s32(vmaxq_s32(y, lo), hi);
}

// The same for any shift: x << left (wrapping, as TFLM's x * (1 << left)), and no
// sign fix-up where there is no right shift (neg_shift 0 clears the sign bit).
inline int32x4_t requantize4_any_shift(int32x4_t acc, int32x4_t multiplier, int32x4_t neg_shift, int32x4_t left,
                                       int32_t output_offset, int32x4_t lo, int32x4_t hi) {
  int32x4_t y = vqrdmulhq_s32(vshlq_s32(acc, left), multiplier);
  y = vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(vandq_s32(y, neg_shift), 31)), neg_shift);
  y = vaddq_n_s32(y, output_offset);
  return vminq_s32(vmaxq_s32(y, lo), hi);
}
#endif

// One accumulator (bias included) -> int8, the scalar form of requantize4 (a group
// of 16 words also has the left shifts).
inline int8_t requantize1(int32_t acc, const int32_t* group, int32_t lane, int32_t output_offset, int32_t lo,
                          int32_t hi, bool left_shifts = false) {
  const int32_t shift = left_shifts && group[12 + lane] > 0 ? group[12 + lane] : group[8 + lane];
  const int32_t y = multiply_by_quantized_multiplier(acc, group[4 + lane], shift) + output_offset;
  return static_cast<int8_t>(y < lo ? lo : (y > hi ? hi : y));
}

// dst[0..n) = src[0..n), 16 bytes per step (tail-predicated on Helium).
inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
#if TINYRIG_MVE_NATIVE
  for (; n > 0; n -= 16, src += 16, dst += 16) {
    const mve_pred16_t p = vctp8q(static_cast<uint32_t>(n));
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
  }
#else
  for (int32_t i = 0; i < n; ++i) dst[i] = src[i];
#endif
}

// dst[0..n) = value.
inline void fill_bytes(int8_t* dst, int8_t value, int32_t n) {
#if TINYRIG_MVE_NATIVE
  const int8x16_t v = vdupq_n_s8(value);
  for (; n > 0; n -= 16, dst += 16) vstrbq_p_s8(dst, v, vctp8q(static_cast<uint32_t>(n)));
#else
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
#endif
}

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_COMMON_H_
