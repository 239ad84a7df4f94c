// tinyrig Helium kernels: int8 dot products over 16-byte vectors.
//
// On Cortex-M55 (__ARM_FEATURE_MVE) each 16-value chunk of a row costs one VLDRB
// and one VMLADAVA.S8; a column is loaded once per chunk and used by 4 (or 8)
// rows. On the host the same functions are plain loops, so layouts and the
// epilogue are testable against TFLM without the instructions.
#ifndef TINYRIG_MVE_COMMON_H_
#define TINYRIG_MVE_COMMON_H_

#include <cstdint>

#include "tinyrig_dsp_common.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define TINYRIG_MVE_NATIVE 1
#else
#define TINYRIG_MVE_NATIVE 0
#endif

namespace tinyrig {
namespace arm_mve {

// acc[r] += sum_i x[i] * w[r * depth + i] for r < 4; depth is a multiple of 16.
inline void dot_1x4(const int8_t* x, const int8_t* w, int32_t depth, int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
#if TINYRIG_MVE_NATIVE
  for (int32_t i = 0; i < depth; i += 16) {
    const int8x16_t v = vld1q_s8(x + i);
    a0 = vmladavaq_s8(a0, v, vld1q_s8(w0 + i));
    a1 = vmladavaq_s8(a1, v, vld1q_s8(w1 + i));
    a2 = vmladavaq_s8(a2, v, vld1q_s8(w2 + i));
    a3 = vmladavaq_s8(a3, v, vld1q_s8(w3 + i));
  }
#else
  for (int32_t i = 0; i < depth; ++i) {
    a0 += x[i] * w0[i];
    a1 += x[i] * w1[i];
    a2 += x[i] * w2[i];
    a3 += x[i] * w3[i];
  }
#endif
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

// Two columns against the same 4 rows: acc[4 * column + r].
inline void dot_2x4(const int8_t* x0, const int8_t* x1, const int8_t* w, int32_t depth, int32_t* acc) {
#if TINYRIG_MVE_NATIVE
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t b0 = acc[4], b1 = acc[5], b2 = acc[6], b3 = acc[7];
  const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
  for (int32_t i = 0; i < depth; i += 16) {
    const int8x16_t u = vld1q_s8(x0 + i);
    const int8x16_t v = vld1q_s8(x1 + i);
    int8x16_t k = vld1q_s8(w0 + i);
    a0 = vmladavaq_s8(a0, u, k);
    b0 = vmladavaq_s8(b0, v, k);
    k = vld1q_s8(w1 + i);
    a1 = vmladavaq_s8(a1, u, k);
    b1 = vmladavaq_s8(b1, v, k);
    k = vld1q_s8(w2 + i);
    a2 = vmladavaq_s8(a2, u, k);
    b2 = vmladavaq_s8(b2, v, k);
    k = vld1q_s8(w3 + i);
    a3 = vmladavaq_s8(a3, u, k);
    b3 = vmladavaq_s8(b3, v, k);
  }
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
  acc[4] = b0, acc[5] = b1, acc[6] = b2, acc[7] = b3;
#else
  dot_1x4(x0, w, depth, acc);
  dot_1x4(x1, w, depth, acc + 4);
#endif
}

// The DSP kernels' fused requantisation with the 2^(ls+1) scaling applied here
// (the int8 weights cannot carry it): rq = {multiplier, rounding, e, ls + 1}.
inline int8_t requantize_output(int32_t acc, const int32_t* rq, int32_t clamp, int32_t lo, int32_t hi) {
  const int32_t scaled = static_cast<int32_t>(static_cast<uint32_t>(acc) << rq[3]);
  return arm_dsp::clamp_output(arm_dsp::requantize(scaled, rq), clamp, lo, hi);
}

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_COMMON_H_
