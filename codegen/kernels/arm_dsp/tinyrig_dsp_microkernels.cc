// tinyrig DSP-extension kernels: the register-blocked multiply-accumulate loops.
//
// These are the loops that run almost every MAC of a model, so they are written
// in assembly: the block sizes are chosen so that every operand of a step arrives
// with one LDM (one instruction for 2-4 words, which C compilers do not emit for
// these access patterns), and 14 registers hold accumulators, operands, two
// pointers and the trip count. Each trip is 4 steps, unrolled.
//
//   3x2 block: per step LDM 3 input words + LDM 2 weight words + 6 SMLAD = 12 MACs
//              in 8 instructions (0.67 per MAC before the loop branch); any even
//              number of steps (2 first when steps % 4 == 2).
//   1x4 block: per group of 4 inputs, LDM 2 input words + 2 x (LDM 4 weight words
//              + 4 SMLAD) = 16 MACs in 11 instructions.
// (The CONV_2D run in tinyrig_dsp_conv.cc uses the same 3x2 step.)
//
// On a host (no DSP extension) the same loops are plain C++ over the same layouts.
#include "tinyrig_dsp_common.h"

namespace tinyrig {
namespace arm_dsp {

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

extern "C" __attribute__((naked)) void tinyrig_dsp_block_3x2(const uint32_t*, const int32_t*, int32_t,
                                                             const int32_t*, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldrd r8, r9, [r3]\n\t"  // bias of the two filters seeds all six accumulators
      "mov r10, r8\n\t"
      "mov r11, r9\n\t"
      "mov r12, r8\n\t"
      "mov lr, r9\n\t"
      "tst r2, #2\n\t"  // steps % 4 == 2: two steps first
      "beq 2f\n\t"
      TINYRIG_DSP_STEP_3X2 TINYRIG_DSP_STEP_3X2
      "2:\n\t"
      "lsrs r2, r2, #2\n\t"
      "beq 3f\n\t"
      "1:\n\t"
      TINYRIG_DSP_STEP_3X2 TINYRIG_DSP_STEP_3X2 TINYRIG_DSP_STEP_3X2 TINYRIG_DSP_STEP_3X2
      "subs r2, r2, #1\n\t"
      "bne 1b\n\t"
      "3:\n\t"
      "ldr r3, [sp, #36]\n\t"  // fifth argument, above the nine pushed registers
      "stm r3, {r8-r12, lr}\n\t"
      "pop {r4-r11, pc}\n\t");
}

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

extern "C" void tinyrig_dsp_block_3x2(const uint32_t* x, const int32_t* w, int32_t steps, const int32_t* bias,
                                      int32_t* acc) {
  for (int32_t i = 0; i < 6; ++i) acc[i] = bias[i % 2];
  for (int32_t step = 0; step < steps; ++step, x += 3, w += 2) {
    for (int32_t pixel = 0; pixel < 3; ++pixel) {
      for (int32_t filter = 0; filter < 2; ++filter) {
        acc[2 * pixel + filter] = smlad(x[pixel], static_cast<uint32_t>(w[filter]), acc[2 * pixel + filter]);
      }
    }
  }
}

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
