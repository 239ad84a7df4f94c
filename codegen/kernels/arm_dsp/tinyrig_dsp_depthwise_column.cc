// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D with a one-column filter
// (DspDepthwiseColumnParams): out[t][c] = sum over taps j of w[j][c] * in[t + j - pad][c].
//
// SMLAD needs two products of the same channel, so the pairs run along the height: for
// 4 channels at a time, each column's input is widened once into per-channel series of
// int16 pairs (x[k], x[k + 1]) for every k (both parities: one word per input row and
// channel, built from two word loads by PKHBT/PKHTB and SXTB16), rows outside the image
// reading the input zero point (the host-folded bias expects it). Output t is then
// sum_j SMLAD(pair[t + 2j], (w[2j], w[2j + 1])). A MAC block makes 4 neighbouring outputs
// of one channel: per tap pair one LDRD of the next two series words, one weight load and
// 4 SMLADs (8 MACs), the previous two words kept in registers. Blocks past the last output
// row are computed and dropped. The fused requantisation (tinyrig_dsp_common.h) follows
// in registers.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_depthwise_column.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kLanes = 4;  // channels widened together (one input word)

// PKHBT (a.lo, b.lo) and PKHTB (a.hi, b.hi): bytes 0-1 / 2-3 of two input words, side by side.
inline uint32_t pack_low_halves(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (a & 0xFFFFu) | (b << 16);
#endif
}

inline uint32_t pack_high_halves(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
#else
  return (b & 0xFFFF0000u) | (a >> 16);
#endif
}

// The 4 channel bytes of padded row k (input row k - pad_top) of the column at `col`;
// `lanes` < 4 for the last channels of a layer whose depth is not a multiple of 4 (the
// missing lanes are never read back).
inline uint32_t row_word(const DspDepthwiseColumnParams& p, const int8_t* col, int32_t k, int32_t lanes,
                         uint32_t zp4) {
  const int32_t y = k - p.pad_top;
  if (y < 0 || y >= p.input_h) return zp4;
  const int8_t* src = col + y * p.in_row_bytes;
  if (lanes == kLanes) return load_word(src);
  uint32_t word = zp4;
  for (int32_t j = 0; j < lanes; ++j) {
    word = (word & ~(0xFFu << (8 * j))) | (static_cast<uint32_t>(static_cast<uint8_t>(src[j])) << (8 * j));
  }
  return word;
}

// Series word k of the 4 lanes from padded rows k (`a`) and k + 1 (`b`): lane l gets (a.l, b.l).
inline void store_pairs(uint32_t a, uint32_t b, uint32_t* d, int32_t lane_words) {
  const uint32_t lo = pack_low_halves(a, b), hi = pack_high_halves(a, b);
  d[0] = sxtb16(lo);
  d[lane_words] = sxtb16_ror8(lo);
  d[2 * lane_words] = sxtb16(hi);
  d[3 * lane_words] = sxtb16_ror8(hi);
}

// Widens `lanes` channels of one input column into [lane][pair_words] series.
void widen_column(const DspDepthwiseColumnParams& p, const int8_t* col, int32_t lanes, uint32_t zp4,
                  uint32_t* pairs) {
  const int32_t n = p.pair_words;
  uint32_t a = row_word(p, col, 0, lanes, zp4);
  int32_t k = 0;
  for (; k < n && (k < p.pad_top || lanes != kLanes); ++k) {  // top padding (or a ragged channel tail)
    const uint32_t b = row_word(p, col, k + 1, lanes, zp4);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
  // Rows k and k + 1 both inside the image: plain word loads down the column.
  int32_t inside_end = p.pad_top + p.input_h - 1;
  if (inside_end > n) inside_end = n;
  const int8_t* src = col + (k + 1 - p.pad_top) * p.in_row_bytes;
  for (; k < inside_end; ++k, src += p.in_row_bytes) {
    const uint32_t b = load_word(src);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
  for (; k < n; ++k) {  // bottom padding and rows only dropped outputs read
    const uint32_t b = row_word(p, col, k + 1, lanes, zp4);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
}

// One channel of one column: the widened series, the channel's record and output row 0.
struct ColumnRun {
  const uint32_t* series;  // 0: pair word 0 of the channel
  const int32_t* record;   // 4: M, rounding, e, bias, tap pairs
  int8_t* out;             // 8: output row 0 of the channel
  int32_t blocks;          // 12: >= 1
  int32_t last;            // 16: outputs of the last block, 1..4
  int32_t row_bytes;       // 20: output bytes between rows
  int32_t rewind;          // 24: 8 * tap_pairs - 16: the series pointer back to the next block
  int32_t tap_bytes;       // 28: 4 * tap_pairs
};

// The C++ form of the block loop: the host's model of the assembly below, and the path of
// layers with a clamping activation (the assembly has no register left for the clamp).
void column_run_c(const DspDepthwiseColumnParams& p, const ColumnRun& r) {
  const int32_t* record = r.record;
  const int32_t bias = record[3];
  const uint32_t* taps = reinterpret_cast<const uint32_t*>(record + 4);
  const int32_t tap_pairs = r.tap_bytes / 4;
  const uint32_t* series = r.series;
  int8_t* out = r.out;
  for (int32_t b = 0; b < r.blocks; ++b, series += 4, out += 4 * r.row_bytes) {
    int32_t acc[4] = {bias, bias, bias, bias};
    const uint32_t* x = series;
    uint32_t x0 = x[0], x1 = x[1];
    for (int32_t j = 0; j < tap_pairs; ++j, x += 2) {
      const uint32_t w = taps[j];
      const uint32_t x2 = x[2], x3 = x[3];
      acc[0] = smlad(x0, w, acc[0]);
      acc[1] = smlad(x1, w, acc[1]);
      acc[2] = smlad(x2, w, acc[2]);
      acc[3] = smlad(x3, w, acc[3]);
      x0 = x2;
      x1 = x3;
    }
    const int32_t count = b + 1 < r.blocks ? 4 : r.last;
    for (int32_t i = 0; i < count; ++i) {
      out[i * r.row_bytes] = clamp_output(requantize(acc[i], record), p.clamp, p.activation_min, p.activation_max);
    }
  }
}

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// r0 series walk, r1 taps walk, r2-r5 series words, r6-r9 the 4 accumulators, r10 the
// tap pair (then scratch), r11 the taps' end, r12 output, lr blocks left. Per tap pair
// one LDRD, one LDR and 4 SMLADs; the two halves of a loop trip swap the roles of
// (r2, r3) and (r4, r5), so a series word is loaded once per block. An odd number of tap
// pairs enters at the second half. Epilogue: SMMLAR, sign fix-up, shift, SSAT per output.
#define TINYRIG_DWC_RQ(ACC)                                               \
  "smmlar r10, " #ACC ", r2, r3\n\t"                                      \
  "add r10, r10, " #ACC ", asr #31\n\t"                                   \
  "asr r10, r10, r4\n\t"                                                  \
  "ssat " #ACC ", #8, r10\n\t"
#define TINYRIG_DWC_PRELOAD_EVEN "ldrd r2, r3, [r0]\n\t"
#define TINYRIG_DWC_PRELOAD_ODD                                           \
  "ldrd r4, r5, [r0]\n\t"                                                 \
  "sub r0, r0, #8\n\t"                                                    \
  "b 2f\n\t"
#define TINYRIG_DWC_FN(PRELOAD)                                           \
  "push {r4-r11, lr}\n\t"                                                 \
  "sub sp, sp, #32\n\t"                                                   \
  "ldm r0, {r1-r8}\n\t"                                                   \
  "stm sp, {r1-r8}\n\t"                                                   \
  "ldr r0, [sp]\n\t"                                                      \
  "ldrd r12, lr, [sp, #8]\n\t" /* out, blocks */                          \
  "ldr r11, [sp, #4]\n\t"                                                 \
  "add r11, r11, #16\n\t"                                                 \
  "ldr r10, [sp, #28]\n\t"                                                \
  "add r11, r11, r10\n\t" /* taps end */                                  \
  "0:\n\t" /* block */                                                    \
  "ldr r1, [sp, #4]\n\t"                                                  \
  "ldr r6, [r1, #12]\n\t" /* bias */                                      \
  "add r1, r1, #16\n\t"                                                   \
  "mov r7, r6\n\t"                                                        \
  "mov r8, r6\n\t"                                                        \
  "mov r9, r6\n\t"                                                        \
  PRELOAD                                                                 \
  "1:\n\t"                                                                \
  "ldrd r4, r5, [r0, #8]\n\t"                                             \
  "ldr r10, [r1], #4\n\t"                                                 \
  "smlad r6, r2, r10, r6\n\t"                                             \
  "smlad r7, r3, r10, r7\n\t"                                             \
  "smlad r8, r4, r10, r8\n\t"                                             \
  "smlad r9, r5, r10, r9\n\t"                                             \
  "2:\n\t"                                                                \
  "ldrd r2, r3, [r0, #16]!\n\t"                                           \
  "ldr r10, [r1], #4\n\t"                                                 \
  "smlad r6, r4, r10, r6\n\t"                                             \
  "smlad r7, r5, r10, r7\n\t"                                             \
  "smlad r8, r2, r10, r8\n\t"                                             \
  "smlad r9, r3, r10, r9\n\t"                                             \
  "cmp r1, r11\n\t"                                                       \
  "bne 1b\n\t"                                                            \
  "ldr r10, [sp, #24]\n\t"                                                \
  "sub r0, r0, r10\n\t" /* the next block's first pair word */           \
  "ldr r1, [sp, #4]\n\t"                                                  \
  "ldm r1, {r2, r3, r4}\n\t" /* M, rounding, e */                         \
  "ldr r5, [sp, #20]\n\t"                                                 \
  TINYRIG_DWC_RQ(r6) TINYRIG_DWC_RQ(r7) TINYRIG_DWC_RQ(r8) TINYRIG_DWC_RQ(r9) \
  "subs lr, lr, #1\n\t"                                                   \
  "beq 8f\n\t"                                                            \
  "strb r6, [r12]\n\t"                                                    \
  "strb r7, [r12, r5]\n\t"                                                \
  "add r12, r12, r5, lsl #1\n\t"                                          \
  "strb r8, [r12]\n\t"                                                    \
  "strb r9, [r12, r5]\n\t"                                                \
  "add r12, r12, r5, lsl #1\n\t"                                          \
  "b 0b\n\t"                                                              \
  "8:\n\t" /* the last block: `last` outputs */                           \
  "ldr r10, [sp, #16]\n\t"                                                \
  "strb r6, [r12]\n\t"                                                    \
  "cmp r10, #2\n\t"                                                       \
  "blt 9f\n\t"                                                            \
  "strb r7, [r12, r5]\n\t"                                                \
  "cmp r10, #3\n\t"                                                       \
  "blt 9f\n\t"                                                            \
  "add r12, r12, r5, lsl #1\n\t"                                          \
  "strb r8, [r12]\n\t"                                                    \
  "cmp r10, #4\n\t"                                                       \
  "blt 9f\n\t"                                                            \
  "strb r9, [r12, r5]\n\t"                                                \
  "9:\n\t"                                                                \
  "add sp, sp, #32\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

// noipa: the caller must not learn from the (opaque) bodies which registers survive.
__attribute__((naked, noipa)) void column_run_even(const ColumnRun*) {
  __asm__ volatile(TINYRIG_DWC_FN(TINYRIG_DWC_PRELOAD_EVEN));
}
__attribute__((naked, noipa)) void column_run_odd(const ColumnRun*) {
  __asm__ volatile(TINYRIG_DWC_FN(TINYRIG_DWC_PRELOAD_ODD));
}

void column_run(const DspDepthwiseColumnParams& p, const ColumnRun& r) {
  if (p.clamp) {
    column_run_c(p, r);
  } else if (p.tap_pairs & 1) {
    column_run_odd(&r);
  } else {
    column_run_even(&r);
  }
}

#else

void column_run(const DspDepthwiseColumnParams& p, const ColumnRun& r) { column_run_c(p, r); }

#endif

}  // namespace

void depthwise_conv2d_s8(const DspDepthwiseColumnParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  uint32_t* pairs = reinterpret_cast<uint32_t*>(scratch);  // [lane][pair_words]
  const uint32_t zp4 = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  ColumnRun run;
  run.blocks = p.blocks;
  run.last = p.output_h - 4 * (p.blocks - 1);
  run.row_bytes = p.out_row_bytes;
  run.rewind = 8 * p.tap_pairs - 16;
  run.tap_bytes = 4 * p.tap_pairs;
  for (int32_t ox = 0; ox < p.output_w; ++ox) {
    const int8_t* col = input + ox * p.in_col_bytes;
    int8_t* out_col = output + ox * p.channels;
    for (int32_t c0 = 0; c0 < p.channels; c0 += kLanes) {
      const int32_t lanes = p.channels - c0 < kLanes ? p.channels - c0 : kLanes;
      widen_column(p, col + c0, lanes, zp4, pairs);
      for (int32_t l = 0; l < lanes; ++l) {
        run.series = pairs + l * p.pair_words;
        run.record = p.records + (c0 + l) * p.record_words;
        run.out = out_col + c0 + l;
        column_run(p, run);
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
