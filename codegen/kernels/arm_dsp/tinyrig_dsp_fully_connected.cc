// tinyrig DSP-extension kernel: FULLY_CONNECTED (int8), four outputs per block, int8
// weights read straight from flash.
//
// With one input row no weight is used twice, so the loop is bound by loading weights:
// one word brings 4 int8 weights of one output, and one SXTB16 and two SMLADs make its
// 4 MACs against two words of the input row, widened once into scratch
// (fully_connected.py explains the arithmetic). Per group of 4 inputs and 4 outputs: an
// LDM of the 2 input words, an LDM of the 4 weight words, 4 SXTB16 and 8 SMLAD: 16 MACs
// in 14 instructions, 20 cycles on a Cortex-M4. The assembly runs every full block of 4
// outputs, 8 groups a trip, and requantises in the same loop.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_fully_connected.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

// Lane-wise (modulo 2^16) subtract and add of int16 pairs.
inline uint32_t sub16(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  return static_cast<uint32_t>(__ssub16(static_cast<int16x2_t>(a), static_cast<int16x2_t>(b)));
#else
  return ((a - (b & 0xFFFFu)) & 0xFFFFu) | ((a & 0xFFFF0000u) - (b & 0xFFFF0000u));
#endif
}

inline uint32_t add16(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  return static_cast<uint32_t>(__sadd16(static_cast<int16x2_t>(a), static_cast<int16x2_t>(b)));
#else
  return ((a + (b & 0xFFFFu)) & 0xFFFFu) | ((a & 0xFFFF0000u) + (b & 0xFFFF0000u));
#endif
}

// The input row as [group][P, R] words: P = (a1, a3), R = (256 a0 - a1 + 127, 256 a2 - a3 + 127)
// for inputs a0..a3 of the group (zeros past the depth).
void widen_row(const int8_t* input, int32_t depth, int32_t groups, uint32_t* dst) {
  const int32_t full = depth / 4;
  for (int32_t g = 0; g < groups; ++g, dst += 2) {
    uint32_t word = 0;
    if (g < full) {
      word = load_word(input + 4 * g);
    } else {
      for (int32_t j = 0; 4 * g + j < depth; ++j) word |= static_cast<uint32_t>(static_cast<uint8_t>(input[4 * g + j])) << (8 * j);
    }
    const uint32_t odd = sxtb16_ror8(word);                 // (a1, a3)
    const uint32_t even_256 = (word << 8) & 0xFF00FF00u;     // (256 a0, 256 a2) modulo 2^16
    dst[0] = odd;
    dst[1] = add16(sub16(even_256, odd), 0x007F007Fu);
  }
}

// One block run: every field but `act`, `groups`, `lo` and `hi` moves on as blocks are done.
struct FcRun {
  const uint32_t* act;     // 0: the widened input row
  const int8_t* weights;   // 4: the block's [group][row][byte] weights
  int32_t groups;          // 8
  const int32_t* bias;     // 12: the block's 4 start values
  const int32_t* requant;  // 16: the block's 4 x (M, rounding, e, right shift)
  int8_t* out;             // 20
  int32_t blocks;          // 24: blocks left (>= 1)
  int32_t lo, hi;          // 28, 32: activation clamp
  int32_t mode;            // 36: 1 (one table row per output) + 2 (clamp)
};

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// r0 input words, r1 weights, r2/r3 P/R, r4-r7 the weight words of the 4 rows (then their
// SXTB16), r8-r11 the accumulators.
#define TINYRIG_FC_GROUP        \
  "ldm r0!, {r2, r3}\n\t"       \
  "ldm r1!, {r4-r7}\n\t"        \
  "smlad r8, r4, r2, r8\n\t"    \
  "sxtb16 r4, r4\n\t"           \
  "smlad r8, r4, r3, r8\n\t"    \
  "smlad r9, r5, r2, r9\n\t"    \
  "sxtb16 r5, r5\n\t"           \
  "smlad r9, r5, r3, r9\n\t"    \
  "smlad r10, r6, r2, r10\n\t"  \
  "sxtb16 r6, r6\n\t"           \
  "smlad r10, r6, r3, r10\n\t"  \
  "smlad r11, r7, r2, r11\n\t"  \
  "sxtb16 r7, r7\n\t"           \
  "smlad r11, r7, r3, r11\n\t"
// Requantises ACC to r6 (r0 the table row: M, rounding, e, shift; r1 the output).
#define TINYRIG_FC_RQ(ACC)                  \
  "asr " #ACC ", " #ACC ", r5\n\t"          \
  "smmlar r6, " #ACC ", r2, r3\n\t"         \
  "add r6, r6, " #ACC ", asr #31\n\t"       \
  "asr r6, r6, r4\n\t"                      \
  "ssat r6, #8, r6\n\t"
// The activation clamp (r12 lo, r7 hi).
#define TINYRIG_FC_CLAMP    \
  "cmp r6, r12\n\t"        \
  "it lt\n\t"              \
  "movlt r6, r12\n\t"      \
  "cmp r6, r7\n\t"         \
  "it gt\n\t"              \
  "movgt r6, r7\n\t"
#define TINYRIG_FC_STORE "strb r6, [r1], #1\n\t"
// One table row for all 4 outputs (per-tensor quantisation), or one per output.
#define TINYRIG_FC_EPILOGUE_SHARED(CLAMP)                                                   \
  "ldm r0, {r2-r5}\n\t"                                                                    \
  TINYRIG_FC_RQ(r8) CLAMP TINYRIG_FC_STORE TINYRIG_FC_RQ(r9) CLAMP TINYRIG_FC_STORE           \
  TINYRIG_FC_RQ(r10) CLAMP TINYRIG_FC_STORE TINYRIG_FC_RQ(r11) CLAMP TINYRIG_FC_STORE         \
  "b 9f\n\t"
#define TINYRIG_FC_EPILOGUE_ROWS(CLAMP)                                                     \
  "ldm r0!, {r2-r5}\n\t" TINYRIG_FC_RQ(r8) CLAMP TINYRIG_FC_STORE                           \
  "ldm r0!, {r2-r5}\n\t" TINYRIG_FC_RQ(r9) CLAMP TINYRIG_FC_STORE                           \
  "ldm r0!, {r2-r5}\n\t" TINYRIG_FC_RQ(r10) CLAMP TINYRIG_FC_STORE                          \
  "ldm r0!, {r2-r5}\n\t" TINYRIG_FC_RQ(r11) CLAMP TINYRIG_FC_STORE                          \
  "str r0, [lr, #16]\n\t"                                                                  \
  "b 9f\n\t"

// lr holds the run. Per block: the 4 start values, groups % 8 single groups, groups / 8
// trips of 8, then the 4 outputs through the epilogue `mode` picks (a TBB: a branch
// per block instead of four copies of the MAC loop).
__attribute__((naked, noipa)) void fc_blocks(FcRun*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "mov lr, r0\n\t"
      "0:\n\t"
      "ldr r2, [lr, #12]\n\t"
      "ldm r2!, {r8-r11}\n\t"
      "str r2, [lr, #12]\n\t"
      "ldr r0, [lr, #0]\n\t"
      "ldr r1, [lr, #4]\n\t"
      "ldr r12, [lr, #8]\n\t"
      "ands r12, r12, #7\n\t"
      "beq 2f\n\t"
      "1:\n\t"
      TINYRIG_FC_GROUP
      "subs r12, r12, #1\n\t"
      "bne 1b\n\t"
      "2:\n\t"
      "ldr r12, [lr, #8]\n\t"
      "lsrs r12, r12, #3\n\t"
      "beq 3f\n\t"
      "4:\n\t"
      TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP
      TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP
      "subs r12, r12, #1\n\t"
      "bne 4b\n\t"
      "3:\n\t"
      "str r1, [lr, #4]\n\t"
      "ldr r0, [lr, #16]\n\t"
      "ldr r1, [lr, #20]\n\t"
      "ldr r12, [lr, #28]\n\t"
      "ldr r7, [lr, #32]\n\t"
      "ldr r2, [lr, #36]\n\t"
      "tbb [pc, r2]\n\t"
      "5:\n\t"
      ".byte (10f-5b)/2, (11f-5b)/2, (12f-5b)/2, (13f-5b)/2\n\t"
      "10:\n\t" TINYRIG_FC_EPILOGUE_SHARED("")
      "11:\n\t" TINYRIG_FC_EPILOGUE_ROWS("")
      "12:\n\t" TINYRIG_FC_EPILOGUE_SHARED(TINYRIG_FC_CLAMP)
      "13:\n\t" TINYRIG_FC_EPILOGUE_ROWS(TINYRIG_FC_CLAMP)
      "9:\n\t"
      "str r1, [lr, #20]\n\t"
      "ldr r0, [lr, #24]\n\t"
      "subs r0, r0, #1\n\t"
      "str r0, [lr, #24]\n\t"
      "bne 0b\n\t"
      "pop {r4-r11, pc}\n\t");
}

#else  // host model of the same loop

void fc_blocks(FcRun* run) {
  for (; run->blocks > 0; --run->blocks) {
    int32_t acc[4] = {run->bias[0], run->bias[1], run->bias[2], run->bias[3]};
    run->bias += 4;
    const uint32_t* x = run->act;
    for (int32_t g = 0; g < run->groups; ++g, x += 2, run->weights += 16) {
      for (int32_t row = 0; row < 4; ++row) {
        const uint32_t w = load_word(run->weights + 4 * row);
        acc[row] = smlad(w, x[0], acc[row]);
        acc[row] = smlad(sxtb16(w), x[1], acc[row]);
      }
    }
    for (int32_t row = 0; row < 4; ++row) {
      const int32_t* rq = run->requant + ((run->mode & 1) ? 4 * row : 0);
      int32_t y = requantize(acc[row] >> rq[3], rq);
      if (run->mode & 2) y = y < run->lo ? run->lo : (y > run->hi ? run->hi : y);
      *run->out++ = static_cast<int8_t>(y);
    }
    if (run->mode & 1) run->requant += 16;
  }
}

#endif

}  // namespace

void fully_connected_s8(const DspFullyConnectedParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  uint32_t* row = reinterpret_cast<uint32_t*>(scratch);
  const int32_t full_blocks = p.output_depth / 4;
  const int32_t tail = p.output_depth % 4;
  for (int32_t batch = 0; batch < p.batches; ++batch, input += p.accum_depth, output += p.output_depth) {
    widen_row(input, p.accum_depth, p.groups, row);
    FcRun run{row, p.weights, p.groups, p.bias, p.requant, output, full_blocks, p.activation_min, p.activation_max,
              p.mode};
    if (full_blocks > 0) fc_blocks(&run);
    if (tail > 0) {  // the last, partial block into a buffer: its padded rows are not outputs
      int8_t last[4];
      run.out = last;
      run.blocks = 1;
      fc_blocks(&run);
      for (int32_t i = 0; i < tail; ++i) output[4 * full_blocks + i] = last[i];
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
