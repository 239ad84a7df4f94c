// tinyrig DSP-extension kernels: FULLY_CONNECTED's register-blocked multiply-accumulate loop.
//
// Written in assembly so that every operand of a step arrives with one LDM (one
// instruction for 2-4 words, which C compilers do not emit for this access pattern);
// 14 registers hold accumulators, operands, two pointers and the trip count. Each trip
// is 4 groups, unrolled.
//
//   1x4 block: per group of 4 inputs, LDM 2 input words + 2 x (LDM 4 weight words
//              + 4 SMLAD) = 16 MACs in 11 instructions.
// (CONV_2D's 3x2 block over int8 weights is in tinyrig_dsp_conv.cc, with its epilogue.)
//
// On a host (no DSP extension) the same loops are plain C++ over the same layouts.
#include "tinyrig_dsp_common.h"

namespace tinyrig {
namespace arm_dsp {

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

#define TINYRIG_GROUP_1X4                 \
  "ldm r0!, {r3, r12}\n\t"               \
  "ldm r1!, {r4-r7}\n\t"                 \
  "smlad r8, r3, r4, r8\n\t"             \
  "smlad r9, r3, r5, r9\n\t"             \
  "smlad r10, r3, r6, r10\n\t"           \
  "smlad r11, r3, r7, r11\n\t"           \
  "ldm r1!, {r4-r7}\n\t"                 \
  "smlad r8, r12, r4, r8\n\t"            \
  "smlad r9, r12, r5, r9\n\t"            \
  "smlad r10, r12, r6, r10\n\t"          \
  "smlad r11, r12, r7, r11\n\t"

extern "C" __attribute__((naked)) void tinyrig_dsp_block_1x4(const uint32_t*, const int32_t*, int32_t,
                                                             const int32_t*, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldm r3, {r8-r11}\n\t"
      "1:\n\t"
      TINYRIG_GROUP_1X4 TINYRIG_GROUP_1X4 TINYRIG_GROUP_1X4 TINYRIG_GROUP_1X4
      "subs r2, r2, #1\n\t"
      "bne 1b\n\t"
      "ldr r3, [sp, #36]\n\t"
      "stm r3, {r8-r11}\n\t"
      "pop {r4-r11, pc}\n\t");
}


#else  // host model of the same loops

extern "C" void tinyrig_dsp_block_1x4(const uint32_t* x, const int32_t* w, int32_t trips, const int32_t* bias,
                                      int32_t* acc) {
  for (int32_t i = 0; i < 4; ++i) acc[i] = bias[i];
  for (int32_t group = 0; group < trips * 4; ++group, x += 2, w += 8) {
    for (int32_t i = 0; i < 4; ++i) {
      acc[i] = smlad(x[0], static_cast<uint32_t>(w[i]), acc[i]);
      acc[i] = smlad(x[1], static_cast<uint32_t>(w[4 + i]), acc[i]);
    }
  }
}


#endif

}  // namespace arm_dsp
}  // namespace tinyrig
