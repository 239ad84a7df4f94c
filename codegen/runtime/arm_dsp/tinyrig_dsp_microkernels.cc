// tinyrig DSP-extension kernels: the register-blocked multiply-accumulate loops.
//
// These are the loops that run almost every MAC of a model, so they are written
// in assembly: the block sizes are chosen so that every operand of a step arrives
// with one LDM (one instruction for 2-4 words, which C compilers do not emit for
// these access patterns), and 14 registers hold accumulators, operands, two
// pointers and the trip count. Each trip is 4 steps, unrolled.
//
//   3x2 block: per step LDM 3 input words + LDM 2 weight words + 6 SMLAD = 12 MACs
//              in 8 instructions (0.67 per MAC before the loop branch).
//   1x4 block: per group of 4 inputs, LDM 2 input words + 2 x (LDM 4 weight words
//              + 4 SMLAD) = 16 MACs in 11 instructions.
//   depthwise 3x3, 2 pixels x 4 channels: per tap LDRD 2 weight words + 2 x (LDRD
//              2 input words + 4 SMLABB/SMLATT) = 8 MACs in 11 instructions.
//
// On a host (no DSP extension) the same loops are plain C++ over the same layouts.
#include "tinyrig_dsp_common.h"

namespace tinyrig {
namespace arm_dsp {

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

#define TINYRIG_STEP_3X2                  \
  "ldm r0!, {r3, r4, r5}\n\t"            \
  "ldm r1!, {r6, r7}\n\t"                \
  "smlad r8, r3, r6, r8\n\t"             \
  "smlad r9, r3, r7, r9\n\t"             \
  "smlad r10, r4, r6, r10\n\t"           \
  "smlad r11, r4, r7, r11\n\t"           \
  "smlad r12, r5, r6, r12\n\t"           \
  "smlad lr, r5, r7, lr\n\t"

extern "C" __attribute__((naked)) void tinyrig_dsp_block_3x2(const uint32_t*, const int32_t*, int32_t,
                                                             const int32_t*, int32_t*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldrd r8, r9, [r3]\n\t"  // bias of the two filters seeds all six accumulators
      "mov r10, r8\n\t"
      "mov r11, r9\n\t"
      "mov r12, r8\n\t"
      "mov lr, r9\n\t"
      "1:\n\t"
      TINYRIG_STEP_3X2 TINYRIG_STEP_3X2 TINYRIG_STEP_3X2 TINYRIG_STEP_3X2
      "subs r2, r2, #1\n\t"
      "bne 1b\n\t"
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

// Depthwise 3x3: rows[fy] points at the first tap of pixel 0 in a group-major
// slot (one doubleword per column: A = channels (0, 2), B = channels (1, 3));
// pixel 1 is STRIDE columns on. w holds [tap][A/B] words. Accumulators: r4-r7
// pixel 0 channels 0-3, r8-r11 pixel 1. r0 walks the rows, r1 the weights, r2/r3
// hold a tap's weights, r12/lr a tap's input.
#define TINYRIG_STR_(x) #x
#define TINYRIG_STR(x) TINYRIG_STR_(x)
#define TINYRIG_DW_TAP(TAP, FX, STRIDE)                                   \
  "ldrd r2, r3, [r1, #" TINYRIG_STR(8 * (TAP)) "]\n\t"                     \
  "ldrd r12, lr, [r0, #" TINYRIG_STR(8 * (FX)) "]\n\t"                     \
  "smlabb r4, r12, r2, r4\n\t"                                          \
  "smlatt r6, r12, r2, r6\n\t"                                          \
  "smlabb r5, lr, r3, r5\n\t"                                           \
  "smlatt r7, lr, r3, r7\n\t"                                           \
  "ldrd r12, lr, [r0, #" TINYRIG_STR(8 * ((FX) + (STRIDE))) "]\n\t"        \
  "smlabb r8, r12, r2, r8\n\t"                                          \
  "smlatt r10, r12, r2, r10\n\t"                                        \
  "smlabb r9, lr, r3, r9\n\t"                                           \
  "smlatt r11, lr, r3, r11\n\t"
#define TINYRIG_DW_ROW(FY, STRIDE)                                        \
  "ldr r0, [sp]\n\t" /* the rows array, pushed on entry */              \
  "ldr r0, [r0, #" TINYRIG_STR(4 * (FY)) "]\n\t"                           \
  TINYRIG_DW_TAP(3 * (FY), 0, STRIDE) TINYRIG_DW_TAP(3 * (FY) + 1, 1, STRIDE) \
  TINYRIG_DW_TAP(3 * (FY) + 2, 2, STRIDE)
#define TINYRIG_DW_BLOCK(STRIDE)                                          \
  "push {r4-r11, lr}\n\t"                                                 \
  "push {r0, r3}\n\t"                                                     \
  "ldm r2, {r4-r7}\n\t" /* bias of the 4 channels seeds both pixels */  \
  "mov r8, r4\n\t"                                                        \
  "mov r9, r5\n\t"                                                        \
  "mov r10, r6\n\t"                                                       \
  "mov r11, r7\n\t"                                                       \
  TINYRIG_DW_ROW(0, STRIDE) TINYRIG_DW_ROW(1, STRIDE) TINYRIG_DW_ROW(2, STRIDE) \
  "ldr r0, [sp, #4]\n\t"                                                  \
  "stm r0, {r4-r11}\n\t"                                                  \
  "add sp, sp, #8\n\t"                                                    \
  "pop {r4-r11, pc}\n\t"

extern "C" __attribute__((naked)) void tinyrig_dsp_dw3x3_s1(const uint32_t* const*, const uint32_t*,
                                                            const int32_t*, int32_t*) {
  __asm__ volatile(TINYRIG_DW_BLOCK(1));
}

extern "C" __attribute__((naked)) void tinyrig_dsp_dw3x3_s2(const uint32_t* const*, const uint32_t*,
                                                            const int32_t*, int32_t*) {
  __asm__ volatile(TINYRIG_DW_BLOCK(2));
}

// CONV_2D run (struct Conv3x2Run, copied to the frame at sp): per filter pair the
// 3x2 loop above, then one LDM of both filters' (M, r, e), 4 instructions per
// output, BFI packs each pixel's 2 bytes, SSUB8/SEL clamp, STRH stores.
#define TINYRIG_CONV_RQ(ACC, M, R, E)                                     \
  "smmlar r0, " #ACC ", " #M ", " #R "\n\t"                               \
  "add r0, r0, " #ACC ", asr #31\n\t"                                     \
  "asr r0, r0, " #E "\n\t"                                                \
  "ssat " #ACC ", #8, r0\n\t"
#define TINYRIG_CONV_CLAMP(V)                                             \
  "ssub8 r0, " #V ", r2\n\t"                                              \
  "sel " #V ", " #V ", r2\n\t"                                            \
  "ssub8 r0, r3, " #V "\n\t"                                              \
  "sel " #V ", " #V ", r3\n\t"

extern "C" __attribute__((naked)) void tinyrig_dsp_conv_3x2_run(const Conv3x2Run*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #48\n\t"
      "ldm r0!, {r1-r7}\n\t"
      "stm sp, {r1-r7}\n\t"
      "ldm r0, {r1-r5}\n\t"
      "add r6, sp, #28\n\t"
      "stm r6, {r1-r5}\n\t"
      "ldr r1, [sp, #4]\n\t"
      "1:\n\t"  // filter pair
      "ldr r3, [sp, #12]\n\t"
      "ldrd r8, r9, [r3], #8\n\t"
      "str r3, [sp, #12]\n\t"
      "mov r10, r8\n\t"
      "mov r11, r9\n\t"
      "mov r12, r8\n\t"
      "mov lr, r9\n\t"
      "ldr r0, [sp]\n\t"
      "ldr r2, [sp, #8]\n\t"
      "2:\n\t"
      TINYRIG_STEP_3X2 TINYRIG_STEP_3X2 TINYRIG_STEP_3X2 TINYRIG_STEP_3X2
      "subs r2, r2, #1\n\t"
      "bne 2b\n\t"
      "ldr r0, [sp, #16]\n\t"
      "ldm r0!, {r2-r7}\n\t"
      "str r0, [sp, #16]\n\t"
      TINYRIG_CONV_RQ(r8, r2, r3, r4) TINYRIG_CONV_RQ(r10, r2, r3, r4) TINYRIG_CONV_RQ(r12, r2, r3, r4)
      TINYRIG_CONV_RQ(r9, r5, r6, r7) TINYRIG_CONV_RQ(r11, r5, r6, r7) TINYRIG_CONV_RQ(lr, r5, r6, r7)
      "bfi r8, r9, #8, #8\n\t"
      "bfi r10, r11, #8, #8\n\t"
      "bfi r12, lr, #8, #8\n\t"
      "ldr r2, [sp, #32]\n\t"
      "cbz r2, 3f\n\t"
      "ldrd r2, r3, [sp, #36]\n\t"
      TINYRIG_CONV_CLAMP(r8) TINYRIG_CONV_CLAMP(r10) TINYRIG_CONV_CLAMP(r12)
      "3:\n\t"
      "ldrd r0, r2, [sp, #20]\n\t"  // out, out_c
      "strh r8, [r0]\n\t"
      "strh r10, [r0, r2]\n\t"
      "strh r12, [r0, r2, lsl #1]\n\t"
      "add r0, r0, #2\n\t"
      "str r0, [sp, #20]\n\t"
      "ldr r0, [sp, #28]\n\t"
      "subs r0, r0, #1\n\t"
      "str r0, [sp, #28]\n\t"
      "bne 1b\n\t"
      "add sp, sp, #48\n\t"
      "pop {r4-r11, pc}\n\t");
}

// Depthwise 3x3 over a row (struct Dw3x3Row, copied to the frame at sp): per pixel
// pair the 9 taps as above, then per channel one LDM of (M, r, e) shared by both
// pixels and 4 instructions per output (SMMLAR, sign fixup, ASR, SSAT), BFI packs
// each pixel's 4 bytes into a word, SSUB8/SEL clamp all 4 at once and one STR
// stores them. The second pixel of an odd row's last pair is computed, not stored.
#define TINYRIG_DW_RQ(ACC)                                                \
  "smmlar lr, " #ACC ", r2, r3\n\t"                                       \
  "add lr, lr, " #ACC ", asr #31\n\t"                                     \
  "asr lr, lr, r12\n\t"                                                   \
  "ssat " #ACC ", #8, lr\n\t"
#define TINYRIG_DW_RUN_ROW(FY, STRIDE)                                    \
  "ldr r0, [sp, #" TINYRIG_STR(4 * (FY)) "]\n\t"                           \
  TINYRIG_DW_TAP(3 * (FY), 0, STRIDE) TINYRIG_DW_TAP(3 * (FY) + 1, 1, STRIDE) \
  TINYRIG_DW_TAP(3 * (FY) + 2, 2, STRIDE)                                 \
  "add r0, r0, #" TINYRIG_STR(16 * (STRIDE)) "\n\t"                        \
  "str r0, [sp, #" TINYRIG_STR(4 * (FY)) "]\n\t"
#define TINYRIG_DW_CLAMP(V)                                               \
  "ssub8 r12, " #V ", r2\n\t"                                             \
  "sel " #V ", " #V ", r2\n\t"                                            \
  "ssub8 r12, r3, " #V "\n\t"                                             \
  "sel " #V ", " #V ", r3\n\t"
#define TINYRIG_DW_ROW_FN(STRIDE)                                         \
  "push {r4-r11, lr}\n\t"                                                 \
  "sub sp, sp, #76\n\t"                                                   \
  "ldm r0!, {r1-r7}\n\t"                                                  \
  "stm sp, {r1-r7}\n\t"                                                   \
  "ldm r0!, {r1-r7}\n\t"                                                  \
  "add r8, sp, #28\n\t"                                                   \
  "stm r8, {r1-r7}\n\t"                                                   \
  "ldm r0!, {r1-r5}\n\t"                                                  \
  "add r8, sp, #56\n\t"                                                   \
  "stm r8, {r1-r5}\n\t"                                                   \
  "1:\n\t" /* pixel pair */                                               \
  "ldr r2, [sp, #16]\n\t"                                                 \
  "ldm r2, {r4-r7}\n\t"                                                   \
  "mov r8, r4\n\t"                                                        \
  "mov r9, r5\n\t"                                                        \
  "mov r10, r6\n\t"                                                       \
  "mov r11, r7\n\t"                                                       \
  "ldr r1, [sp, #12]\n\t"                                                 \
  TINYRIG_DW_RUN_ROW(0, STRIDE) TINYRIG_DW_RUN_ROW(1, STRIDE) TINYRIG_DW_RUN_ROW(2, STRIDE) \
  "ldr r1, [sp, #20]\n\t"                                                 \
  "ldm r1!, {r2, r3, r12}\n\t"                                            \
  TINYRIG_DW_RQ(r4) TINYRIG_DW_RQ(r8)                                     \
  "ldm r1!, {r2, r3, r12}\n\t"                                            \
  TINYRIG_DW_RQ(r5) TINYRIG_DW_RQ(r9)                                     \
  "ldm r1!, {r2, r3, r12}\n\t"                                            \
  TINYRIG_DW_RQ(r6) TINYRIG_DW_RQ(r10)                                    \
  "ldm r1!, {r2, r3, r12}\n\t"                                            \
  TINYRIG_DW_RQ(r7) TINYRIG_DW_RQ(r11)                                    \
  "bfi r4, r5, #8, #8\n\t"                                                \
  "bfi r4, r6, #16, #8\n\t"                                               \
  "bfi r4, r7, #24, #8\n\t"                                               \
  "bfi r8, r9, #8, #8\n\t"                                                \
  "bfi r8, r10, #16, #8\n\t"                                              \
  "bfi r8, r11, #24, #8\n\t"                                              \
  "ldr r2, [sp, #36]\n\t"                                                 \
  "cbz r2, 2f\n\t"                                                        \
  "ldrd r2, r3, [sp, #40]\n\t"                                            \
  TINYRIG_DW_CLAMP(r4) TINYRIG_DW_CLAMP(r8)                               \
  "2:\n\t"                                                                \
  "ldrd r0, r1, [sp, #24]\n\t" /* out, channels */                        \
  "ldr r2, [sp, #32]\n\t"                                                 \
  "str r4, [r0]\n\t"                                                      \
  "cmp r2, #2\n\t"                                                        \
  "it ge\n\t"                                                             \
  "strge r8, [r0, r1]\n\t"                                                \
  "add r0, r0, r1, lsl #1\n\t"                                            \
  "str r0, [sp, #24]\n\t"                                                 \
  "subs r2, r2, #2\n\t"                                                   \
  "str r2, [sp, #32]\n\t"                                                 \
  "bgt 1b\n\t"                                                            \
  /* next channel group */                                                \
  "ldr r0, [sp, #52]\n\t"                                                 \
  "subs r0, r0, #1\n\t"                                                   \
  "beq 3f\n\t"                                                            \
  "str r0, [sp, #52]\n\t"                                                 \
  "ldrd r0, r1, [sp, #12]\n\t" /* weights, bias */                        \
  "add r0, r0, #72\n\t"                                                   \
  "add r1, r1, #16\n\t"                                                   \
  "strd r0, r1, [sp, #12]\n\t"                                            \
  "ldr r0, [sp, #20]\n\t"                                                 \
  "add r0, r0, #48\n\t"                                                   \
  "str r0, [sp, #20]\n\t"                                                 \
  "ldr r2, [sp, #56]\n\t"                                                 \
  "add r3, sp, #60\n\t"                                                   \
  "ldm r3, {r4-r7}\n\t" /* bases, out_base */                             \
  "add r4, r4, r2\n\t"                                                    \
  "add r5, r5, r2\n\t"                                                    \
  "add r6, r6, r2\n\t"                                                    \
  "add r7, r7, #4\n\t"                                                    \
  "stm r3, {r4-r7}\n\t"                                                   \
  "stm sp, {r4-r6}\n\t"                                                   \
  "str r7, [sp, #24]\n\t"                                                 \
  "ldr r0, [sp, #48]\n\t"                                                 \
  "str r0, [sp, #32]\n\t"                                                 \
  "b 1b\n\t"                                                              \
  "3:\n\t"                                                                \
  "add sp, sp, #76\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

extern "C" __attribute__((naked)) void tinyrig_dsp_dw3x3_row_s1(const Dw3x3Row*) {
  __asm__ volatile(TINYRIG_DW_ROW_FN(1));
}

extern "C" __attribute__((naked)) void tinyrig_dsp_dw3x3_row_s2(const Dw3x3Row*) {
  __asm__ volatile(TINYRIG_DW_ROW_FN(2));
}

#else  // host model of the same loops

extern "C" void tinyrig_dsp_block_3x2(const uint32_t* x, const int32_t* w, int32_t trips, const int32_t* bias,
                                      int32_t* acc) {
  for (int32_t i = 0; i < 6; ++i) acc[i] = bias[i % 2];
  for (int32_t step = 0; step < trips * 4; ++step, x += 3, w += 2) {
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

template <int32_t kStride>
void dw3x3_model(const uint32_t* const* rows, const uint32_t* w, const int32_t* bias, int32_t* acc) {
  for (int32_t i = 0; i < 8; ++i) acc[i] = bias[i % 4];
  for (int32_t fy = 0; fy < 3; ++fy) {
    for (int32_t fx = 0; fx < 3; ++fx) {
      const uint32_t wa = w[2 * (3 * fy + fx)], wb = w[2 * (3 * fy + fx) + 1];
      for (int32_t pixel = 0; pixel < 2; ++pixel) {
        const uint32_t* x = rows[fy] + 2 * (fx + pixel * kStride);
        int32_t* a = acc + 4 * pixel;
        a[0] = smlabb(x[0], wa, a[0]);
        a[2] = smlatt(x[0], wa, a[2]);
        a[1] = smlabb(x[1], wb, a[1]);
        a[3] = smlatt(x[1], wb, a[3]);
      }
    }
  }
}

extern "C" void tinyrig_dsp_dw3x3_s1(const uint32_t* const* rows, const uint32_t* w, const int32_t* bias,
                                     int32_t* acc) {
  dw3x3_model<1>(rows, w, bias, acc);
}

extern "C" void tinyrig_dsp_dw3x3_s2(const uint32_t* const* rows, const uint32_t* w, const int32_t* bias,
                                     int32_t* acc) {
  dw3x3_model<2>(rows, w, bias, acc);
}

template <int32_t kStride>
void dw3x3_row_model(const Dw3x3Row* row) {
  Dw3x3Row r = *row;
  for (int32_t g = 0; g < r.groups; ++g) {
    const uint32_t* rows[3];
    for (int32_t fy = 0; fy < 3; ++fy) {
      rows[fy] = reinterpret_cast<const uint32_t*>(reinterpret_cast<const uint8_t*>(r.bases[fy]) + g * r.group_bytes);
    }
    const uint32_t* w = r.weights + 18 * g;
    for (int32_t x = 0; x < r.width; x += 2) {
      int32_t acc[8];
      dw3x3_model<kStride>(rows, w, r.bias + 4 * g, acc);
      for (int32_t fy = 0; fy < 3; ++fy) rows[fy] += 4 * kStride;
      for (int32_t pixel = 0; pixel < 2 && x + pixel < r.width; ++pixel) {
        int8_t* out = r.out_base + 4 * g + (x + pixel) * r.channels;
        for (int32_t c = 0; c < 4; ++c) {
          int32_t y = requantize(acc[4 * pixel + c], r.requant + 12 * g + 3 * c);
          if (r.clamp) {
            const int32_t lo = static_cast<int8_t>(r.lo4), hi = static_cast<int8_t>(r.hi4);
            y = y < lo ? lo : (y > hi ? hi : y);
          }
          out[c] = static_cast<int8_t>(y);
        }
      }
    }
  }
}

extern "C" void tinyrig_dsp_dw3x3_row_s1(const Dw3x3Row* row) { dw3x3_row_model<1>(row); }
extern "C" void tinyrig_dsp_dw3x3_row_s2(const Dw3x3Row* row) { dw3x3_row_model<2>(row); }

extern "C" void tinyrig_dsp_conv_3x2_run(const Conv3x2Run* run) {
  const int32_t steps = run->trips * 4;
  for (int32_t pair = 0; pair < run->pairs; ++pair) {
    int32_t acc[6];
    tinyrig_dsp_block_3x2(run->x, run->weights + pair * 2 * steps, run->trips, run->bias + 2 * pair, acc);
    for (int32_t pixel = 0; pixel < 3; ++pixel) {
      for (int32_t f = 0; f < 2; ++f) {
        int32_t y = requantize(acc[2 * pixel + f], run->requant + 6 * pair + 3 * f);
        if (run->clamp) {
          const int32_t lo = static_cast<int8_t>(run->lo4), hi = static_cast<int8_t>(run->hi4);
          y = y < lo ? lo : (y > hi ? hi : y);
        }
        run->out[pixel * run->out_c + 2 * pair + f] = static_cast<int8_t>(y);
      }
    }
  }
}

#endif

}  // namespace arm_dsp
}  // namespace tinyrig
