// tinyrig DSP-extension kernel: FULLY_CONNECTED (int8), five outputs per block, int8
// weights read straight from flash.
//
// With one input row no weight is used twice, so the loop is bound by loading weights:
// one word brings 4 int8 weights of one output, and one SXTB16 and two SMLADs make its
// 4 MACs against two words of the input row, widened once into scratch
// (fully_connected.py explains the arithmetic). Per group of 4 inputs and 5 outputs: an
// LDM of the 2 input words, an LDM of the 5 weight words, 5 SXTB16 and 10 SMLAD: 20 MACs
// in 17 instructions, 24 cycles on a Cortex-M4 (5 outputs because 5 accumulators, 5
// weight words, 2 input words and the 2 pointers are the 14 registers; the loop ends on
// the input pointer against its end kept on the stack). The assembly runs every full
// block, 8 groups a trip, and requantises in the same call.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_fully_connected.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kRows = 5;  // fully_connected.py FC_OUTPUTS

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

// One call: `blocks` blocks of 5 outputs. The assembly copies it to its stack frame.
struct FcRun {
  const uint32_t* act;      // 0: the widened input row
  const uint32_t* rem_end;  // 4: act + 2 x (groups % 8): the single groups run first
  const uint32_t* end;      // 8: act + 2 x groups
  const int32_t* requant;   // 12: the first block's table row(s)
  int8_t* out;              // 16
  int32_t blocks;           // 20: >= 1
  int32_t lo, hi;           // 24, 28: activation clamp (mode 1)
  const int32_t* stream;    // 32: the first block's start values
};

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// r0 input words, r1 the stream, r2/r3 P/R, r4-r7 and r12 the weight words of the 5
// rows (then their SXTB16), r8-r11 and lr the accumulators.
#define TINYRIG_FC_ROW(ACC, W)          \
  "smlad " #ACC ", " #W ", r2, " #ACC "\n\t" \
  "sxtb16 " #W ", " #W "\n\t"           \
  "smlad " #ACC ", " #W ", r3, " #ACC "\n\t"
#define TINYRIG_FC_GROUP                \
  "ldm r0!, {r2, r3}\n\t"               \
  "ldm r1!, {r4-r7, r12}\n\t"           \
  TINYRIG_FC_ROW(r8, r4) TINYRIG_FC_ROW(r9, r5) TINYRIG_FC_ROW(r10, r6) TINYRIG_FC_ROW(r11, r7) \
  TINYRIG_FC_ROW(lr, r12)
// Requantises ACC to r6 with the table row in r2-r5 (M, rounding, e, shift).
#define TINYRIG_FC_RQ(ACC)                  \
  "asr " #ACC ", " #ACC ", r5\n\t"          \
  "smmlar r6, " #ACC ", r2, r3\n\t"         \
  "add r6, r6, " #ACC ", asr #31\n\t"       \
  "asr r6, r6, r4\n\t"                      \
  "ssat r6, #8, r6\n\t"
#define TINYRIG_FC_STORE "strb r6, [r7], #1\n\t"
// Mode 0: the table row loaded once for the block's 5 outputs (r7 the output).
#define TINYRIG_FC_EPILOGUE_SHARED                                                          \
  "ldr r7, [sp, #12]\n\t"                                                                    \
  "ldm r7, {r2-r5}\n\t"                                                                      \
  "ldr r7, [sp, #16]\n\t"                                                                    \
  TINYRIG_FC_RQ(r8) TINYRIG_FC_STORE TINYRIG_FC_RQ(r9) TINYRIG_FC_STORE                       \
  TINYRIG_FC_RQ(r10) TINYRIG_FC_STORE TINYRIG_FC_RQ(r11) TINYRIG_FC_STORE                     \
  TINYRIG_FC_RQ(lr) TINYRIG_FC_STORE                                                         \
  "str r7, [sp, #16]\n\t"
// Mode 1: a row per output (r0 walks the table) and the clamp (r12 lo, r1 hi; the
// stream pointer waits on the stack).
#define TINYRIG_FC_CLAMP    \
  "cmp r6, r12\n\t"        \
  "it lt\n\t"              \
  "movlt r6, r12\n\t"      \
  "cmp r6, r1\n\t"         \
  "it gt\n\t"              \
  "movgt r6, r1\n\t"
#define TINYRIG_FC_ONE_ROW(ACC) "ldm r0!, {r2-r5}\n\t" TINYRIG_FC_RQ(ACC) TINYRIG_FC_CLAMP TINYRIG_FC_STORE
#define TINYRIG_FC_EPILOGUE_ROWS                                                            \
  "str r1, [sp, #36]\n\t"                                                                    \
  "ldr r0, [sp, #12]\n\t"                                                                    \
  "ldr r7, [sp, #16]\n\t"                                                                    \
  "ldrd r12, r1, [sp, #24]\n\t"                                                              \
  TINYRIG_FC_ONE_ROW(r8) TINYRIG_FC_ONE_ROW(r9) TINYRIG_FC_ONE_ROW(r10) TINYRIG_FC_ONE_ROW(r11) \
  TINYRIG_FC_ONE_ROW(lr)                                                                     \
  "str r0, [sp, #12]\n\t"                                                                    \
  "str r7, [sp, #16]\n\t"                                                                    \
  "ldr r1, [sp, #36]\n\t"
// Per block: the 5 start values from the stream, groups % 8 single groups, then trips
// of 8 (each loop ends when the input pointer reaches its end on the stack), then the
// epilogue.
#define TINYRIG_FC_BLOCKS(EPILOGUE)                                                         \
  "push {r4-r11, lr}\n\t"                                                                    \
  "sub sp, sp, #40\n\t"                                                                      \
  "ldm r0, {r1-r9}\n\t"                                                                      \
  "stm sp, {r1-r9}\n\t"                                                                      \
  "mov r1, r9\n\t"                                                                           \
  "0:\n\t"                                                                                   \
  "ldm r1!, {r8-r11, lr}\n\t"                                                                \
  "ldr r0, [sp, #0]\n\t"                                                                     \
  "ldr r2, [sp, #4]\n\t"                                                                     \
  "cmp r0, r2\n\t"                                                                           \
  "beq 2f\n\t"                                                                               \
  "1:\n\t"                                                                                   \
  TINYRIG_FC_GROUP                                                                           \
  "ldr r2, [sp, #4]\n\t"                                                                     \
  "cmp r0, r2\n\t"                                                                           \
  "bne 1b\n\t"                                                                               \
  "2:\n\t"                                                                                   \
  "ldr r2, [sp, #8]\n\t"                                                                     \
  "cmp r0, r2\n\t"                                                                           \
  "beq 3f\n\t"                                                                               \
  "4:\n\t"                                                                                   \
  TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP                        \
  TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP TINYRIG_FC_GROUP                        \
  "ldr r2, [sp, #8]\n\t"                                                                     \
  "cmp r0, r2\n\t"                                                                           \
  "bne 4b\n\t"                                                                               \
  "3:\n\t"                                                                                   \
  EPILOGUE                                                                                   \
  "ldr r2, [sp, #20]\n\t"                                                                    \
  "subs r2, r2, #1\n\t"                                                                      \
  "str r2, [sp, #20]\n\t"                                                                    \
  "bne 0b\n\t"                                                                               \
  "add sp, sp, #40\n\t"                                                                      \
  "pop {r4-r11, pc}\n\t"

__attribute__((naked, noipa)) void fc_blocks_shared(const FcRun*) {
  __asm__ volatile(TINYRIG_FC_BLOCKS(TINYRIG_FC_EPILOGUE_SHARED));
}
__attribute__((naked, noipa)) void fc_blocks_rows(const FcRun*) {
  __asm__ volatile(TINYRIG_FC_BLOCKS(TINYRIG_FC_EPILOGUE_ROWS));
}

#else  // host model of the same loops

template <bool kRowsMode>
void fc_blocks_model(const FcRun* run) {
  const int32_t* stream = run->stream;
  const int32_t* rq = run->requant;
  int8_t* out = run->out;
  for (int32_t block = 0; block < run->blocks; ++block) {
    int32_t acc[kRows];
    for (int32_t row = 0; row < kRows; ++row) acc[row] = *stream++;
    for (const uint32_t* x = run->act; x != run->end; x += 2) {
      for (int32_t row = 0; row < kRows; ++row) {
        const uint32_t w = static_cast<uint32_t>(*stream++);
        acc[row] = smlad(w, x[0], acc[row]);
        acc[row] = smlad(sxtb16(w), x[1], acc[row]);
      }
    }
    for (int32_t row = 0; row < kRows; ++row) {
      int32_t y = requantize(acc[row] >> rq[3], rq);
      if (kRowsMode) {
        y = y < run->lo ? run->lo : (y > run->hi ? run->hi : y);
        rq += 4;
      }
      *out++ = static_cast<int8_t>(y);
    }
  }
}
void fc_blocks_shared(const FcRun* run) { fc_blocks_model<false>(run); }
void fc_blocks_rows(const FcRun* run) { fc_blocks_model<true>(run); }

#endif

}  // namespace

void fully_connected_s8(const DspFullyConnectedParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  uint32_t* row = reinterpret_cast<uint32_t*>(scratch);
  const int32_t full_blocks = p.output_depth / kRows;
  const int32_t tail = p.output_depth % kRows;
  const int32_t block_words = kRows * (1 + p.groups);
  auto run_blocks = p.mode == 0 ? fc_blocks_shared : fc_blocks_rows;
  for (int32_t batch = 0; batch < p.batches; ++batch, input += p.accum_depth, output += p.output_depth) {
    widen_row(input, p.accum_depth, p.groups, row);
    FcRun run{row, row + 2 * (p.groups % 8), row + 2 * p.groups, p.requant, output, full_blocks,
              p.activation_min, p.activation_max, p.stream};
    if (full_blocks > 0) run_blocks(&run);
    if (tail > 0) {  // the last, partial block into a buffer: its padded rows are not outputs
      int8_t last[kRows];
      run.requant = p.requant + (p.mode == 0 ? 0 : 4 * kRows * full_blocks);
      run.stream = p.stream + block_words * full_blocks;
      run.out = last;
      run.blocks = 1;
      run_blocks(&run);
      for (int32_t i = 0; i < tail; ++i) output[kRows * full_blocks + i] = last[i];
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
