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

#if TINYRIG_MVE_NATIVE && defined(__thumb2__)
// Shared pieces of the 2-pixel x 4-filter assembly runs (tinyrig_mve_conv.cc,
// tinyrig_mve_conv_window.cc). Registers: columns r1 (pixel 0) and r3 (pixel 1),
// weights r5, all walking on; accumulators r0, r2, r4, r6 (pixel 0) and r8, r10, r12,
// lr (pixel 1), the even registers VMLADAVA can name.

// 16 bytes of depth: 2 column loads + 4 weight loads + 8 multiply-accumulates.
#define TINYRIG_MVE_CHUNK(OP)                                \
  "vldrb.8 q0, [r1], #16\n\t"                                \
  "vldrb.8 q1, [r3], #16\n\t"                                \
  "vldrb.8 q2, [r5], #16\n\t"                                \
  OP " r0, q0, q2\n\t"                                       \
  OP " r8, q1, q2\n\t"                                       \
  "vldrb.8 q3, [r5], #16\n\t"                                \
  OP " r2, q0, q3\n\t"                                       \
  OP " r10, q1, q3\n\t"                                      \
  "vldrb.8 q2, [r5], #16\n\t"                                \
  OP " r4, q0, q2\n\t"                                       \
  OP " r12, q1, q2\n\t"                                      \
  "vldrb.8 q3, [r5], #16\n\t"                                \
  OP " r6, q0, q3\n\t"                                       \
  OP " lr, q1, q3\n\t"

// The 8 accumulators -> requantised int32 lanes q0 (pixel 0) and q1 (pixel 1), through
// the frame (no more instructions than VMOV register pairs, and no dependence on the
// two-lane VMOV's lane order). Frame: [sp, 32) scratch, [sp + 32) the run state
// {requant, out0, out1, channels left, quads left}, reloaded into r0, r2, r4, r6, r8
// (r7 = sp + 32 for the store back); r0 steps past the quad's 16 requant words
// (bias, multiplier, -right shift, the unused left shift). q5/q6/q7: output offset,
// activation min/max.
#define TINYRIG_MVE_REQUANT_2X4                              \
  "stm sp, {r0, r2, r4, r6, r8, r10, r12, lr}\n\t"           \
  "vldrw.32 q0, [sp]\n\t"                                    \
  "vldrw.32 q1, [sp, #16]\n\t"                               \
  "add r7, sp, #32\n\t"                                      \
  "ldm r7, {r0, r2, r4, r6, r8}\n\t"                         \
  "vldrw.32 q2, [r0], #16\n\t"                               \
  "vadd.i32 q0, q0, q2\n\t"                                  \
  "vadd.i32 q1, q1, q2\n\t"                                  \
  "vldrw.32 q2, [r0], #16\n\t"                               \
  "vqrdmulh.s32 q0, q0, q2\n\t"                              \
  "vqrdmulh.s32 q1, q1, q2\n\t"                              \
  "vldrw.32 q4, [r0], #32\n\t"                               \
  "vshr.s32 q2, q0, #31\n\t"                                 \
  "vqadd.s32 q0, q0, q2\n\t"                                 \
  "vshr.s32 q2, q1, #31\n\t"                                 \
  "vqadd.s32 q1, q1, q2\n\t"                                 \
  "vrshl.s32 q0, q0, q4\n\t"                                 \
  "vrshl.s32 q1, q1, q4\n\t"                                 \
  "vadd.i32 q0, q0, q5\n\t"                                  \
  "vadd.i32 q1, q1, q5\n\t"                                  \
  "vmax.s32 q0, q0, q6\n\t"                                  \
  "vmax.s32 q1, q1, q6\n\t"                                  \
  "vmin.s32 q0, q0, q7\n\t"                                  \
  "vmin.s32 q1, q1, q7\n\t"
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

// The fused 2-pixel x 4-filter run's arguments (frame layout of the assembly in
// tinyrig_mve_conv.cc, which the window kernel calls too).
struct ConvRun {
  const int32_t* requant;  // 0: [quad][bias, multiplier, -right shift, left shift][4]
  int8_t* out0;            // 4
  int8_t* out1;            // 8: pixel 1's outputs (a dummy row for a lone last pixel)
  int32_t channels;        // 12: outputs left to store
  int32_t quads;           // 16
  int32_t chunks;          // 20
  int32_t offset, lo, hi;  // 24, 28, 32
  int32_t pairs;           // 36: pixel pairs to run, each x_step on from the last
  int32_t x_step;          // 40: bytes between one pair's columns and the next's
  int32_t out_adjust;      // 44: from a pair's last stores to the next pair's outputs
};

// Every filter quad of the pixel pair x0, x1 (w: [quad][chunk][4][16]), requantised
// (right shifts only) and stored; the _pairs form runs run->pairs pairs, x_step apart.
extern "C" void tinyrig_mve_conv_2x4_rq(const int8_t* x0, const int8_t* x1, const int8_t* w, const ConvRun* run);
extern "C" void tinyrig_mve_conv_2x4_rq_pairs(const int8_t* x0, const int8_t* x1, const int8_t* w,
                                              const ConvRun* run);

// One accumulator (bias included) -> int8, the scalar form of requantize4 (a group
// of 16 words also has the left shifts).
inline int8_t requantize1(int32_t acc, const int32_t* group, int32_t lane, int32_t output_offset, int32_t lo,
                          int32_t hi, bool left_shifts = false) {
  const int32_t shift = left_shifts && group[12 + lane] > 0 ? group[12 + lane] : group[8 + lane];
  const int32_t y = multiply_by_quantized_multiplier(acc, group[4 + lane], shift) + output_offset;
  return static_cast<int8_t>(y < lo ? lo : (y > hi ? hi : y));
}

#if !(TINYRIG_MVE_NATIVE && defined(__thumb2__))
// Host model of the 2-pixel x 4-filter assembly runs: every filter quad of the pixel
// pair x0, x1 over `chunks` 16-byte chunks of weights [quad][chunk][4][16], requantised
// (right shifts only) into out0/out1, the first `channels` outputs stored.
inline void dot_2x4_requantized(const int8_t* x0, const int8_t* x1, const int8_t* w, const int32_t* rq,
                                int8_t* out0, int8_t* out1, int32_t channels, int32_t quads, int32_t chunks,
                                int32_t offset, int32_t lo, int32_t hi) {
  int8_t* outs[2] = {out0, out1};
  for (int32_t quad = 0; quad < quads; ++quad, rq += 16) {
    int32_t acc[8] = {0};
    for (int32_t chunk = 0; chunk < chunks; ++chunk, w += 64) {
      for (int32_t f = 0; f < 4; ++f) {
        for (int32_t i = 0; i < 16; ++i) {
          acc[f] += x0[16 * chunk + i] * w[16 * f + i];
          acc[4 + f] += x1[16 * chunk + i] * w[16 * f + i];
        }
      }
    }
    for (int32_t pixel = 0; pixel < 2; ++pixel) {
      for (int32_t lane = 0; lane < 4 && 4 * quad + lane < channels; ++lane) {
        outs[pixel][4 * quad + lane] = requantize1(acc[4 * pixel + lane] + rq[lane], rq, lane, offset, lo, hi);
      }
    }
  }
}
#endif

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
