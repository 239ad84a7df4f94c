// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D (int8, depth multiplier 1).
//
// 3x3 filters with a stride of 1 or 2 along rows or columns run the channel-planar
// line kernel below (DspDepthwiseLineParams): SMLAD on pairs of neighbouring inputs
// of one channel, weights of a channel held in registers for a whole line, and the
// fused requantisation in the same assembly loop (see the comment at DwLine).
//
// Other filters (DspDepthwiseConv2DParams): input rows are widened once into a ring
// of filter_h row slots (int16 pairs in SXTB16 order, padding columns and rows
// filled with the input zero point, which the host-folded bias expects), so the tap
// loop has no bounds checks and no per-tap sign extension. A slot is group-major,
// [channel group][column][A/B word]; a C++ tap loop runs one pixel at a time.
#include <cstddef>

#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_depthwise.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kMaxFilterH = 8;  // depthwise.py DW_MAX_FILTER_H

// Widens input row y into a group-major slot ([group][column][A/B]).
void widen_row(const DspDepthwiseConv2DParams& p, const int8_t* input, int32_t y, uint32_t* dst) {
  const int32_t group_words = 2 * p.padded_w;
  const uint32_t zp = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  const uint32_t pad_a = sxtb16(zp), pad_b = sxtb16_ror8(zp);
  const bool row_inside = y >= 0 && y < p.window.input_h;
  const int32_t full_groups = p.window.input_c / 4;
  for (int32_t xp = 0; xp < p.padded_w; ++xp) {
    const int32_t x = xp - p.window.pad_left;
    uint32_t* column = dst + 2 * xp;
    if (row_inside && x >= 0 && x < p.window.input_w) {
      const int8_t* src = input + (y * p.window.input_w + x) * p.window.input_c;
      int32_t g = 0;
      for (; g < full_groups; ++g, src += 4) {
        const uint32_t word = load_word(src);
        column[g * group_words] = sxtb16(word);
        column[g * group_words + 1] = sxtb16_ror8(word);
      }
      if (g < p.channel_groups) {  // last 1-3 channels, without reading past the pixel
        uint32_t word = 0;
        for (int32_t j = 0; j < p.window.input_c - 4 * g; ++j) {
          word |= static_cast<uint32_t>(static_cast<uint8_t>(src[j])) << (8 * j);
        }
        column[g * group_words] = sxtb16(word);
        column[g * group_words + 1] = sxtb16_ror8(word);
      }
    } else {
      for (int32_t g = 0; g < p.channel_groups; ++g) {
        column[g * group_words] = pad_a;
        column[g * group_words + 1] = pad_b;
      }
    }
  }
}

// Requantises the accumulators of one pixel's 4 channels (acc[0..3] = channels
// 4g + 0..3) and stores the `count` that exist.
inline void store_group(const DspDepthwiseConv2DParams& p, const int32_t* acc, const int32_t* rq, int32_t count,
                        int8_t* out) {
  const int32_t lo = p.activation_min, hi = p.activation_max;
  out[0] = clamp_output(requantize(acc[0], rq), p.clamp, lo, hi);
  if (count > 1) out[1] = clamp_output(requantize(acc[1], rq + 3), p.clamp, lo, hi);
  if (count > 2) out[2] = clamp_output(requantize(acc[2], rq + 6), p.clamp, lo, hi);
  if (count > 3) out[3] = clamp_output(requantize(acc[3], rq + 9), p.clamp, lo, hi);
}

// Points rows[fy] at the widened slot of input row out_y * stride - pad + fy,
// widening rows the ring does not hold yet.
void fill_rows(const DspDepthwiseConv2DParams& p, const int8_t* input, int32_t out_y, uint32_t* slots,
               int32_t* slot_row, const uint32_t** rows) {
  const int32_t fh = p.window.filter_h;
  const int32_t row_words = p.padded_w * p.channel_groups * 2;
  for (int32_t fy = 0; fy < fh; ++fy) {
    const int32_t y = out_y * p.window.stride_h - p.window.pad_top + fy;
    const int32_t slot = ((y % fh) + fh) % fh;
    uint32_t* row = slots + slot * row_words;
    if (slot_row[slot] != y) {
      widen_row(p, input, y, row);
      slot_row[slot] = y;
    }
    rows[fy] = row;
  }
}

void depthwise_generic(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  const int32_t fh = p.window.filter_h, fw = p.window.filter_w;
  uint32_t* slots = reinterpret_cast<uint32_t*>(scratch);
  int32_t slot_row[kMaxFilterH];
  for (int32_t i = 0; i < fh; ++i) slot_row[i] = INT32_MIN;
  const uint32_t* rows[kMaxFilterH];
  const int32_t group_words = 2 * p.padded_w;
  for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
    fill_rows(p, input, out_y, slots, slot_row, rows);
    for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
      const int32_t column = out_x * p.window.stride_w * 2;
      for (int32_t g = 0; g < p.channel_groups; ++g) {
        const int32_t* bias = p.bias + 4 * g;
        int32_t acc[4] = {bias[0], bias[1], bias[2], bias[3]};
        const uint32_t* w = reinterpret_cast<const uint32_t*>(p.weights) + g * fh * fw * 2;
        for (int32_t fy = 0; fy < fh; ++fy) {
          const uint32_t* x = rows[fy] + g * group_words + column;
          for (int32_t fx = 0; fx < fw; ++fx, x += 2, w += 2) {
            acc[0] = smlabb(x[0], w[0], acc[0]);  // channel 4g + 0
            acc[2] = smlatt(x[0], w[0], acc[2]);  // channel 4g + 2
            acc[1] = smlabb(x[1], w[1], acc[1]);  // channel 4g + 1
            acc[3] = smlatt(x[1], w[1], acc[3]);  // channel 4g + 3
          }
        }
        const int32_t c = 4 * g;
        const int32_t count = p.window.input_c - c < 4 ? p.window.input_c - c : 4;
        store_group(p, acc, p.requant + 3 * c, count,
            output + (out_y * p.window.output_w + out_x) * p.window.input_c + c);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// 3x3 on channel-planar lines (DspDepthwiseLineParams).
//
// A ring slot holds, per channel, the line's inputs as int16 pairs of neighbours
// (x[2k], x[2k+1]) = column word k; the 3 slots of a column word are adjacent, so
// the ring is [channel][column word][slot] and one step of the assembly reads the
// 6 words of columns k and k+1 with 3 LDRDs. Per filter row the weights are two
// words A, B (stride 1: A = (w0, w1), B = (w1, w2); stride 2: A = (w0, w1),
// B = (w2, 0)), so at stride 1 a step makes outputs 2k and 2k+1 in 12 SMLAD/SMLAxy
// instructions (18 MACs):
//   out[2k]   = sum over rows of SMLAD(W[k], A) + W[k+1].lo * B.hi
//   out[2k+1] = sum over rows of W[k].hi * A.lo + SMLAD(W[k+1], B)
// and at stride 2 a step makes output k in 6 (9 MACs).
//
// Which ring slot holds which filter row rotates from line to line (slot s holds row
// (s - y0) mod 3 for a line whose first input line is y0). The weights of filter rows
// 0, 1, 2 always sit in the same registers; the MAC loop exists in 3 copies, one per
// rotation, naming the registers of the row each slot holds, so a channel's record
// stores each row once. For one line the assembly runs, per channel, the MAC steps
// (accumulators to a line buffer) and then the requantisation (SMMULR, SMMLAR, SSAT
// per output, the right shift in the second multiplier: one copy for every shift) and
// byte stores along the line.
// The requantisation loads words 0..28 with one LDM, so their order follows its registers.
struct DwLine {
  int32_t* acc;                // 0: accumulator line buffer, ending on a kDwAccAlign boundary
  int32_t rq_mode;             // 4: 2 * (outputs % 8), the requantisation's entry (+ 1 per channel)
  const int32_t* record;       // 8: the channel's record (past its rows and bias during the MAC)
  int32_t octs;                // 12: outputs / 8
  int32_t out_step2;           // 16: 2 * out_step
  int32_t out_step3;           // 20: 3 * out_step
  int8_t* out;                 // 24: the channel's output 0 of the line
  int32_t out_step;            // 28: bytes between outputs along the line
  const int32_t* records_end;  // 32: the record of channel `channels`
  const uint32_t* ring;        // 36: channel 0's column word 0, slot 0
  int32_t mac_mode;            // 40: 8 * rotation + 4 * (stride 2) + steps % 4, the MAC loop's entry
  int32_t lo, hi;              // 44, 48: activation clamp (one-at-a-time channels)
  int32_t outputs;             // 52: outputs of the line (one-at-a-time channels)
  int32_t steps;               // 56: MAC steps (the host model's; the assembly stops at acc's end)
};
#if defined(__thumb2__)  // the offsets the assembly names (32-bit pointers)
static_assert(offsetof(DwLine, record) == 8 && offsetof(DwLine, out) == 24 && offsetof(DwLine, out_step) == 28 &&
                  offsetof(DwLine, records_end) == 32 && offsetof(DwLine, ring) == 36 &&
                  offsetof(DwLine, mac_mode) == 40 && offsetof(DwLine, lo) == 44 && offsetof(DwLine, outputs) == 52 &&
                  sizeof(DwLine) == 60,
              "dw_line's frame offsets");
#endif
// The accumulator buffer ends on a multiple of kDwAccAlign bytes and is at most that
// long (depthwise.py DW_LINE_MAX_ACC_BYTES), so the MAC loop's end is the first time
// the buffer pointer's low TINYRIG_DWL_ACC_ALIGN_LOG2 bits are zero.
#define TINYRIG_DWL_ACC_ALIGN_LOG2 9
constexpr uintptr_t kDwAccAlign = uintptr_t{1} << TINYRIG_DWL_ACC_ALIGN_LOG2;
// A channel's record (7 words): filter rows 0, 1, 2, bias, then either 2M - 2^32, 2^(32 - e) + 1
// and the output zero point (TINYRIG_DWL_RQ, 8 outputs a trip), or M, e + 2^31 and the
// rounding (TINYRIG_DWL_RQ_SHIFT, one output at a time with the activation clamp: layers
// that clamp, and channels where the first form is not exact). Bit 31 of the second
// word picks the form: it is clear in 2^(32 - e) + 1 <= 2^30 + 1, and ASR by register
// reads only e's low byte. A row word holds int8 weights so that
// SXTB16 gives its A pair and SXTB16 ROR 8 its B pair: (w0, w1, w1, w2) at stride 1,
// (w0, w2, w1, 0) at stride 2, each weight (and the bias) times 2^ls, half the fused
// epilogue's scale: the requantisation doubles the accumulator (see TINYRIG_DWL_RQ).
constexpr int32_t kRecordWords = 7;

// The plane kernel (DspDepthwisePlaneParams) runs a band of several output lines per
// channel in one call: its ring holds kPlaneSlots input lines per column word
// ([channel][column word][slot], a column word kPlaneSlots words long), so line j of the
// band reads its 3 rows at slots j * stride_x .. + 2 with no rotation, and its column
// words are one fixed step apart (an immediate in the loads). depthwise.py DW_PLANE_SLOTS.
constexpr int32_t kPlaneSlots = 8;
// The straight MAC sequences are this many steps long (depthwise.py DW_PLANE_MAX_STEPS).
constexpr int32_t kPlaneMaxSteps = 6;
// The assembly's immediates: a column word is 32 bytes (TINYRIG_DWP_LOAD, widen_run_plane), and
// the runs exist for 1..6 steps (dwp_e1 .. dwp_e6 and their table).
static_assert(kPlaneSlots * 4 == 32 && kPlaneMaxSteps == 6, "dw_plane's immediates and runs");

// The plane kernel's frame: the words at 0..55 are DwLine's (the requantisation reads them).
struct DwPlane {
  int32_t* acc;                // 0: accumulators of the band's lines, ending on a kDwAccAlign boundary
  int32_t rq_mode;             // 4: 2 * (outputs % 8)
  const int32_t* record;       // 8
  int32_t octs;                // 12: outputs / 8
  int32_t out_step2;           // 16
  int32_t out_step3;           // 20
  int8_t* out;                 // 24: the channel's output 0 of the band's first line
  int32_t out_step;            // 28: bytes between outputs (along a line and from a line to the next)
  const int32_t* records_end;  // 32
  const uint32_t* ring;        // 36: channel 0's column word 0, slot 0
  int32_t mac_mode;            // 40: 8 * kind (0 stride 1, 1 stride 1 odd line, 2 stride 2) + steps;
                               // the assembly replaces it with its run's address
  int32_t lo, hi;              // 44, 48
  int32_t outputs;             // 52: outputs of the band (lines x line_len)
  int32_t line_back;           // 56: bytes from the end of a line's walk to the next line's start
  int32_t channel_back;        // 60: bytes from there, after the last line, to the next channel's ring
  // the host model's
  int32_t steps, lines, stride_x, column_words;
};
#if defined(__thumb2__)
static_assert(offsetof(DwPlane, record) == 8 && offsetof(DwPlane, out) == 24 && offsetof(DwPlane, records_end) == 32 &&
                  offsetof(DwPlane, ring) == 36 && offsetof(DwPlane, mac_mode) == 40 && offsetof(DwPlane, lo) == 44 &&
                  offsetof(DwPlane, outputs) == 52 && offsetof(DwPlane, line_back) == 56 &&
                  offsetof(DwPlane, channel_back) == 60,
              "dw_plane's frame offsets");
#endif

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

#define TINYRIG_DWL_STR_(x) #x
#define TINYRIG_DWL_STR(x) TINYRIG_DWL_STR_(x)

// A channel's weights for one line (r3: its record): filter row f's A/B int16 pairs
// (SXTB16, SXTB16 ROR 8) in r6/r7 (row 0), r8/r9 (row 1), r10/r11 (row 2); the bias
// (scaled on the host) in r12. The accumulators are half the fused epilogue's acc'
// (weights and bias carry 2^ls, not 2^(ls+1)): the requantisation doubles them for
// free (TINYRIG_DWL_RQ), which spares 6 SADD16s per channel and line.
#define TINYRIG_DWL_WEIGHTS                                               \
  "ldm r3!, {r6, r8, r10, r12}\n\t"                                       \
  "str r3, [sp, #8]\n\t"                                                  \
  "sxtb16 r7, r6, ror #8\n\t"                                             \
  "sxtb16 r6, r6\n\t"                                                     \
  "sxtb16 r9, r8, ror #8\n\t"                                             \
  "sxtb16 r8, r8\n\t"                                                     \
  "sxtb16 r11, r10, ror #8\n\t"                                           \
  "sxtb16 r10, r10\n\t"
// r0 ring (column k + 1), r1 accumulator buffer, r2/r3/lr column k's words of slots
// 0..2 (loaded by the step before), r4/r5 accumulators, A0..B2 the weights slots 0..2
// hold in this rotation, r12 bias. A step loads column k + 1 once (LDM, 4 cycles) and
// leaves it in r2/r3/lr for the next step: 19 cycles for 18 MACs at stride 1.
#define TINYRIG_DWL_STEP_S1_L(LOAD, A0, B0, A1, B1, A2, B2)              \
  "smlad r4, r2, " A0 ", r12\n\t"                                         \
  "smlatb r5, r2, " A0 ", r12\n\t"                                        \
  "smlad r4, r3, " A1 ", r4\n\t"                                          \
  "smlatb r5, r3, " A1 ", r5\n\t"                                         \
  "smlad r4, lr, " A2 ", r4\n\t"                                          \
  "smlatb r5, lr, " A2 ", r5\n\t"                                         \
  LOAD  /* column k + 1 */                                                \
  "smlabt r4, r2, " B0 ", r4\n\t"                                         \
  "smlad r5, r2, " B0 ", r5\n\t"                                          \
  "smlabt r4, r3, " B1 ", r4\n\t"                                         \
  "smlad r5, r3, " B1 ", r5\n\t"                                          \
  "smlabt r4, lr, " B2 ", r4\n\t"                                         \
  "smlad r5, lr, " B2 ", r5\n\t"                                          \
  "strd r4, r5, [r1], #8\n\t"
// The line kernel's ring: a column word's 3 slots adjacent, one LDM.
#define TINYRIG_DWL_LDM "ldm r0!, {r2, r3, lr}\n\t"
#define TINYRIG_DWL_STEP_S1(A0, B0, A1, B1, A2, B2) TINYRIG_DWL_STEP_S1_L(TINYRIG_DWL_LDM, A0, B0, A1, B1, A2, B2)
// Stride 2: output k from column words k and k + 1 (the B pairs' high halves are 0).
#define TINYRIG_DWL_STEP_S2_HALF_L(LOAD, ACC, A0, B0, A1, B1, A2, B2)     \
  "smlad " ACC ", r2, " A0 ", r12\n\t"                                    \
  "smlad " ACC ", r3, " A1 ", " ACC "\n\t"                                \
  "smlad " ACC ", lr, " A2 ", " ACC "\n\t"                                \
  LOAD  /* column k + 1 */                                                \
  "smlabb " ACC ", r2, " B0 ", " ACC "\n\t"                               \
  "smlabb " ACC ", r3, " B1 ", " ACC "\n\t"                               \
  "smlabb " ACC ", lr, " B2 ", " ACC "\n\t"
#define TINYRIG_DWL_STEP_S2_HALF(ACC, A0, B0, A1, B1, A2, B2) \
  TINYRIG_DWL_STEP_S2_HALF_L(TINYRIG_DWL_LDM, ACC, A0, B0, A1, B1, A2, B2)
#define TINYRIG_DWL_STEP_S2(A0, B0, A1, B1, A2, B2)                       \
  TINYRIG_DWL_STEP_S2_HALF("r4", A0, B0, A1, B1, A2, B2)                  \
  "str r4, [r1], #4\n\t"
// Two stride-2 outputs, stored together.
#define TINYRIG_DWL_STEP_S2X2(A0, B0, A1, B1, A2, B2)                     \
  TINYRIG_DWL_STEP_S2_HALF("r4", A0, B0, A1, B1, A2, B2)                  \
  TINYRIG_DWL_STEP_S2_HALF("r5", A0, B0, A1, B1, A2, B2)                  \
  "strd r4, r5, [r1], #8\n\t"
// The walk ends when r1 reaches the accumulator buffer's end, which the driver puts
// on a kDwAccAlign boundary (no register is left for an end pointer); r4/r5 are dead
// after a store, so LSLS into r4 tests r1's low bits.
#define TINYRIG_DWL_AT_END "lsls r4, r1, #(32 - " TINYRIG_DWL_STR(TINYRIG_DWL_ACC_ALIGN_LOG2) ")\n\t"
// The MAC loops of rotation R (W: the weight registers slots 0..2 read), both
// strides: 4 steps a trip at stride 1, 2 double steps at stride 2, entered by the
// TBH on mac_mode so that only whole trips follow.
#define TINYRIG_DWL_MAC_S1(R, W)                                          \
  "dwl_r" #R "_s1_0:\n\t" TINYRIG_DWL_STEP_S1 W                           \
  "dwl_r" #R "_s1_3:\n\t" TINYRIG_DWL_STEP_S1 W                           \
  "dwl_r" #R "_s1_2:\n\t" TINYRIG_DWL_STEP_S1 W                           \
  "dwl_r" #R "_s1_1:\n\t" TINYRIG_DWL_STEP_S1 W                           \
  TINYRIG_DWL_AT_END                                                      \
  "bne dwl_r" #R "_s1_0\n\t"
#define TINYRIG_DWL_MAC_S2(R, W)                                          \
  "dwl_r" #R "_s2_1:\n\t" TINYRIG_DWL_STEP_S2 W                           \
  TINYRIG_DWL_AT_END                                                      \
  "beq dwl_requant\n\t"                                                   \
  "dwl_r" #R "_s2_0:\n\t" TINYRIG_DWL_STEP_S2X2 W                         \
  "dwl_r" #R "_s2_2:\n\t" TINYRIG_DWL_STEP_S2X2 W                         \
  TINYRIG_DWL_AT_END                                                      \
  "bne dwl_r" #R "_s2_0\n\t"                                              \
  "b dwl_requant\n\t"                                                     \
  "dwl_r" #R "_s2_3:\n\t" TINYRIG_DWL_STEP_S2 W                           \
  "b dwl_r" #R "_s2_2\n\t"
#define TINYRIG_DWL_MAC(R, W) TINYRIG_DWL_MAC_S1(R, W) "b dwl_requant\n\t" TINYRIG_DWL_MAC_S2(R, W)
#define TINYRIG_DWL_MAC_ENTRIES(R)                                        \
  ".hword (dwl_r" #R "_s1_0 - 7b) / 2, (dwl_r" #R "_s1_1 - 7b) / 2\n\t"   \
  ".hword (dwl_r" #R "_s1_2 - 7b) / 2, (dwl_r" #R "_s1_3 - 7b) / 2\n\t"   \
  ".hword (dwl_r" #R "_s2_0 - 7b) / 2, (dwl_r" #R "_s2_1 - 7b) / 2\n\t"   \
  ".hword (dwl_r" #R "_s2_2 - 7b) / 2, (dwl_r" #R "_s2_3 - 7b) / 2\n\t"
// Rotation r: slot s holds row (s - r) mod 3; rows 0, 1, 2 are r6/r7, r8/r9, r10/r11.
#define TINYRIG_DWL_ROT0 ("r6", "r7", "r8", "r9", "r10", "r11")
#define TINYRIG_DWL_ROT1 ("r10", "r11", "r6", "r7", "r8", "r9")
#define TINYRIG_DWL_ROT2 ("r8", "r9", "r10", "r11", "r6", "r7")
// Requantisation of ACC (r2 2M - 2^32, r3 2^(32 - e) + 1, r9 output zero point) in 3
// instructions, bit-exact with TFLM's SRDHM(x, M) then RDBP(., e) plus the zero point:
//   H = SMMLAR(a, 2M - 2^32, a)             = floor((2M * a + 2^31) / 2^32) = SMMULR(acc', M)
//                                           = SRDHM (fused_epilogue: acc' = 2a = acc * 2^(ls+1))
//   y = SMMLAR(H, 2^(32-e) + 1, zp)         = zp + floor((H + 2^(e-1)) / 2^e + H / 2^32)
// The first line takes the half accumulator a: a * 2^32 + a * (2M - 2^32) is exactly
// 2M * a in SMMLAR's 64-bit sum, and 2M - 2^32 fits int32 since 2^30 < M < 2^31.
// The H / 2^32 term is below 2^-e in size while |H| < 2^(32-e): it leaves a non-negative
// H's floor alone and lowers a negative H's exactly at the ties, which is RDBP's
// rounding of negatives (floor((H + 2^(e-1) - [H < 0]) / 2^e)); larger |H| saturate
// either way (depthwise.py checks both, and e >= 2 so the factor fits int32).
#define TINYRIG_DWL_RQ(ACC)                                               \
  "smmlar " #ACC ", " #ACC ", r2, " #ACC "\n\t"                            \
  "smmlar " #ACC ", " #ACC ", r3, r9\n\t"                                 \
  "ssat " #ACC ", #8, " #ACC "\n\t"
// The fused epilogue's own form (r2 M, r3 e in its low byte, r9 rounding; r8 scratch),
// for channels where the form above is not exact and layers whose activation clamps:
// the half accumulator doubled (ADD), SMMLAR, the sign ADD, ASR by register and SSAT.
#define TINYRIG_DWL_RQ_SHIFT(ACC)                                         \
  "add " #ACC ", " #ACC ", " #ACC "\n\t"                                  \
  "smmlar r8, " #ACC ", r2, r9\n\t"                                       \
  "add r8, r8, " #ACC ", asr #31\n\t"                                     \
  "asr r8, r8, r3\n\t"                                                    \
  "ssat " #ACC ", #8, r8\n\t"
// One output (r1 accumulators, r12 output, lr its step).
#define TINYRIG_DWL_SINGLE                                                \
  "ldr r4, [r1], #4\n\t"                                                  \
  TINYRIG_DWL_RQ(r4)                                                      \
  "strb r4, [r12]\n\t"                                                    \
  "add r12, r12, lr\n\t"
// Four outputs (r10, r11: 2 and 3 output steps).
#define TINYRIG_DWL_RQ4                                                   \
  "ldm r1!, {r4-r7}\n\t"                                                  \
  TINYRIG_DWL_RQ(r4) TINYRIG_DWL_RQ(r5) TINYRIG_DWL_RQ(r6) TINYRIG_DWL_RQ(r7) \
  "strb r4, [r12]\n\t"                                                    \
  "strb r5, [r12, lr]\n\t"                                                \
  "strb r6, [r12, r10]\n\t"                                               \
  "strb r7, [r12, r11]\n\t"                                               \
  "add r12, r12, lr, lsl #2\n\t"
// One output in the epilogue's own form with the activation clamp (r10 lo, r11 hi).
#define TINYRIG_DWL_SINGLE_CLAMPED                                        \
  "ldr r4, [r1], #4\n\t"                                                  \
  TINYRIG_DWL_RQ_SHIFT(r4)                                                \
  "cmp r4, r10\n\t"                                                       \
  "it lt\n\t"                                                             \
  "movlt r4, r10\n\t"                                                     \
  "cmp r4, r11\n\t"                                                       \
  "it gt\n\t"                                                             \
  "movgt r4, r11\n\t"                                                     \
  "strb r4, [r12]\n\t"                                                    \
  "add r12, r12, lr\n\t"

// The requantisation of a channel's accumulators and the step to the next channel (back to
// local label 0, or return), shared by dw_line and dw_plane: FRAME is the bytes of the
// frame the function copied to sp (the same words at 0..55).
#define TINYRIG_DWL_REQUANT(FRAME) \
  "ldm sp, {r1, r4, r5, r8, r10, r11, r12, lr}\n\t" /* acc, rq_mode, record, octs, 2x, 3x step, out, step */  \
  "ldm r5!, {r2, r3, r9}\n\t" /* 2M - 2^32, 2^(32 - e) + 1, zero point or M, e + 2^31, rounding */            \
  "add r6, r12, #1\n\t"                                                                                       \
  "str r5, [sp, #8]\n\t" /* the next channel's record */                                                      \
  "str r6, [sp, #24]\n\t" /* and output */                                                                    \
  "add r4, r4, r3, lsr #31\n\t"                                                                               \
  "tbb [pc, r4]\n\t"                                                                                          \
  "5:\n\t"                                                                                                    \
  ".byte (20f-5b)/2, (30f-5b)/2, (21f-5b)/2, (30f-5b)/2\n\t"                                                  \
  ".byte (22f-5b)/2, (30f-5b)/2, (23f-5b)/2, (30f-5b)/2\n\t"                                                  \
  ".byte (24f-5b)/2, (30f-5b)/2, (25f-5b)/2, (30f-5b)/2\n\t"                                                  \
  ".byte (26f-5b)/2, (30f-5b)/2, (27f-5b)/2, (30f-5b)/2\n\t"                                                  \
  "27:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "26:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "25:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "24:\n\t" TINYRIG_DWL_RQ4                                                                                   \
  "cmp r8, #0\n\t"                                                                                            \
  "bne 3f\n\t"                                                                                                \
  /* next channel, here so that short lines (4-7 outputs) reach it without a branch */                        \
  "6:\n\t"                                                                                                    \
  "ldr r3, [sp, #8]\n\t"                                                                                      \
  "ldr r4, [sp, #32]\n\t"                                                                                     \
  "cmp r3, r4\n\t"                                                                                            \
  "bne 0b\n\t"                                                                                                \
  "add sp, sp, #" FRAME "\n\t"                                                                                \
  "pop {r4-r11, pc}\n\t"                                                                                      \
  "23:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "22:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "21:\n\t" TINYRIG_DWL_SINGLE                                                                                \
  "20:\n\t"                                                                                                   \
  "cmp r8, #0\n\t"                                                                                            \
  "beq 6b\n\t"                                                                                                \
  "3:\n\t"                                                                                                    \
  TINYRIG_DWL_RQ4 TINYRIG_DWL_RQ4                                                                             \
  "subs r8, r8, #1\n\t"                                                                                       \
  "bne 3b\n\t"                                                                                                \
  "b 6b\n\t"                                                                                                  \
  "30:\n\t" /* one output at a time, clamped, (M, rounding, e) */                                             \
  "ldrd r10, r11, [sp, #44]\n\t"                                                                              \
  "ldr r5, [sp, #52]\n\t"                                                                                     \
  "31:\n\t"                                                                                                   \
  TINYRIG_DWL_SINGLE_CLAMPED                                                                                  \
  "subs r5, r5, #1\n\t"                                                                                       \
  "bne 31b\n\t"                                                                                               \
  "b 6b\n\t"

// The frame (DwLine) is copied to sp. Per channel: the weights (one LDM of the
// record's rows and bias), a TBH on mac_mode into the MAC loops, the ring pointer on
// to the next channel (its column 0, where the walk ends, kept in r0), one LDM of the
// requantisation's frame words (the record pointer among them), one of its record
// words, a TBB on rq_mode plus the
// record's form bit: the outputs % 8 first (0-3 single outputs, or 0-3 singles and 4
// at once), then 8 per trip; or one at a time with the activation clamp.
// noipa: the caller must not learn from the (opaque) body which registers survive.
__attribute__((naked, noipa)) void dw_line(DwLine*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #56\n\t"
      "ldm r0!, {r1-r7}\n\t"
      "stm sp, {r1-r7}\n\t"
      "ldm r0, {r1-r7}\n\t"
      "add r8, sp, #28\n\t"
      "stm r8, {r1-r7}\n\t"
      "ldr r0, [sp, #36]\n\t" /* ring */
      "ldr r3, [sp, #8]\n\t" /* record */
      "0:\n\t" /* channel */
      TINYRIG_DWL_WEIGHTS
      "ldr r1, [sp]\n\t"      /* acc */
      "ldr r4, [sp, #40]\n\t" /* mac_mode */
      "ldm r0!, {r2, r3, lr}\n\t" /* column 0 */
      "tbh [pc, r4, lsl #1]\n\t"
      "7:\n\t"
      TINYRIG_DWL_MAC_ENTRIES(0) TINYRIG_DWL_MAC_ENTRIES(1) TINYRIG_DWL_MAC_ENTRIES(2)
      TINYRIG_DWL_MAC(0, TINYRIG_DWL_ROT0)
      TINYRIG_DWL_MAC(1, TINYRIG_DWL_ROT1)
      TINYRIG_DWL_MAC_S2(2, TINYRIG_DWL_ROT2)
      TINYRIG_DWL_MAC_S1(2, TINYRIG_DWL_ROT2) /* falls through: one in three stride-1 lines skips a branch */
      "dwl_requant:\n\t" /* r0 is the next channel's ring */
      TINYRIG_DWL_REQUANT("56"));
}


// The plane kernel's MAC steps: its ring's column words are 8 words apart (kPlaneSlots), so
// the next column word's 3 rows are 3 single LDRs, the last one stepping r0 (4 cycles,
// as the line kernel's LDM), and the weights of rows 0, 1, 2 always read slots 0, 1, 2.
#define TINYRIG_DWP_LOAD "ldr r3, [r0, #4]\n\t" "ldr lr, [r0, #8]\n\t" "ldr r2, [r0], #32\n\t"
#define TINYRIG_DWP_S1 TINYRIG_DWL_STEP_S1_L(TINYRIG_DWP_LOAD, "r6", "r7", "r8", "r9", "r10", "r11")
// An odd line's last step: output 2k only (half the MACs, one store).
#define TINYRIG_DWP_S1_LAST_ODD                                           \
  "smlad r4, r2, r6, r12\n\t"                                             \
  "smlad r4, r3, r8, r4\n\t"                                              \
  "smlad r4, lr, r10, r4\n\t"                                             \
  TINYRIG_DWP_LOAD                                                        \
  "smlabt r4, r2, r7, r4\n\t"                                             \
  "smlabt r4, r3, r9, r4\n\t"                                             \
  "smlabt r4, lr, r11, r4\n\t"                                            \
  "str r4, [r1], #4\n\t"
#define TINYRIG_DWP_S2                                                    \
  TINYRIG_DWL_STEP_S2_HALF_L(TINYRIG_DWP_LOAD, "r4", "r6", "r7", "r8", "r9", "r10", "r11") \
  "str r4, [r1], #4\n\t"
#define TINYRIG_DWP_ENTRIES(KIND)                                         \
  ".hword (8b - 1b) / 2, (dwp_" #KIND "1 - 1b) / 2, (dwp_" #KIND "2 - 1b) / 2, (dwp_" #KIND "3 - 1b) / 2\n\t" \
  ".hword (dwp_" #KIND "4 - 1b) / 2, (dwp_" #KIND "5 - 1b) / 2, (dwp_" #KIND "6 - 1b) / 2, (8b - 1b) / 2\n\t"

// A band of output lines per channel (DwPlane copied to sp): the weights once, then per
// line its column 0 (3 LDR) and an LDR PC into a straight run of exactly `steps` MAC steps
// (no loop test: kPlaneMaxSteps at most; the run's address is looked up from mac_mode once
// a call), and the next line's ring start (line_back), until the accumulator pointer
// reaches the buffer's aligned end after the band's last line; then one requantisation
// over all the band's outputs, which lie out_step apart from one line to the next too
// (lines are output rows). dwp_o1 and dwp_t1 (lines of 1 output) are never entered (a
// plane layer has at least 2 lines, and lines no shorter than that), but are there so that
// every entry of the table is a run.
__attribute__((naked, noipa)) void dw_plane(DwPlane*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #64\n\t"
      "ldm r0!, {r1-r8}\n\t"
      "stm sp, {r1-r8}\n\t"
      "ldm r0, {r1-r8}\n\t"
      "add r9, sp, #32\n\t"
      "stm r9, {r1-r8}\n\t"
      "ldr r4, [sp, #40]\n\t" /* mac_mode -> the address of its run, for LDR PC once a line */
      "adr r5, 7f\n\t"
      "ldrh r4, [r5, r4, lsl #1]\n\t"
      "adr r5, 1f\n\t"
      "add r4, r5, r4, lsl #1\n\t"
      "orr r4, r4, #1\n\t" /* Thumb */
      "str r4, [sp, #40]\n\t"
      "ldr r0, [sp, #36]\n\t" /* ring */
      "ldr r3, [sp, #8]\n\t" /* record */
      "0:\n\t" /* channel */
      TINYRIG_DWL_WEIGHTS
      "ldr r1, [sp]\n\t" /* acc */
      TINYRIG_DWP_LOAD /* column 0 */
      "ldr pc, [sp, #40]\n\t"
      "1:\n\t"
      "dwp_o6:\n\t" TINYRIG_DWP_S1
      "dwp_o5:\n\t" TINYRIG_DWP_S1
      "dwp_o4:\n\t" TINYRIG_DWP_S1
      "dwp_o3:\n\t" TINYRIG_DWP_S1
      "dwp_o2:\n\t" TINYRIG_DWP_S1
      "dwp_o1:\n\t" TINYRIG_DWP_S1_LAST_ODD
      "b 8f\n\t"
      "dwp_t6:\n\t" TINYRIG_DWP_S2
      "dwp_t5:\n\t" TINYRIG_DWP_S2
      "dwp_t4:\n\t" TINYRIG_DWP_S2
      "dwp_t3:\n\t" TINYRIG_DWP_S2
      "dwp_t2:\n\t" TINYRIG_DWP_S2
      "dwp_t1:\n\t" TINYRIG_DWP_S2
      "b 8f\n\t"
      "dwp_e6:\n\t" TINYRIG_DWP_S1 /* falls through: even stride-1 lines, the commonest */
      "dwp_e5:\n\t" TINYRIG_DWP_S1
      "dwp_e4:\n\t" TINYRIG_DWP_S1
      "dwp_e3:\n\t" TINYRIG_DWP_S1
      "dwp_e2:\n\t" TINYRIG_DWP_S1
      "dwp_e1:\n\t" TINYRIG_DWP_S1
      "8:\n\t" /* a line done: r0 past its last column word */
      TINYRIG_DWL_AT_END
      "ldr r4, [sp, #56]\n\t"
      "sub r0, r0, r4\n\t" /* the next line's column 0 */
      "beq 2f\n\t"
      TINYRIG_DWP_LOAD
      "ldr pc, [sp, #40]\n\t"
      "2:\n\t"
      "ldr r4, [sp, #60]\n\t"
      "sub r0, r0, r4\n\t" /* the next channel's */
      TINYRIG_DWL_REQUANT("64")
      ".p2align 1\n\t"
      "7:\n\t" /* the runs' offsets from 1: by mac_mode */
      TINYRIG_DWP_ENTRIES(e) TINYRIG_DWP_ENTRIES(o) TINYRIG_DWP_ENTRIES(t));
}

#else  // host model of the same loops

// One channel's requantisation and byte stores (TINYRIG_DWL_REQUANT).
void requantize_channel(const int32_t* acc, const int32_t* rec, int32_t outputs, int32_t step, int32_t lo, int32_t hi,
                        int8_t* out) {
  const bool one_by_one = rec[5] < 0;  // e + 2^31
  const int32_t rq[3] = {rec[4], rec[6], rec[5] & 0xFF};  // M, rounding, e
  for (int32_t i = 0; i < outputs; ++i, out += step) {
    if (one_by_one) {
      const int32_t y = requantize_doubled(acc[i], rq);
      *out = static_cast<int8_t>(y < lo ? lo : (y > hi ? hi : y));
    } else {  // rec[4] = 2M - 2^32: H = SMMULR(2 * acc, M)
      *out = static_cast<int8_t>(ssat8(smmlar(smmlar(acc[i], rec[4], acc[i]), rec[5], rec[6])));
    }
  }
}

// A MAC step on column words x[0..2] (k) and x[slots..slots + 2] (k + 1) with the weights
// w[slot][A/B]: outputs 2k, 2k + 1 at stride 1 (a0, a1), output k at stride 2 (a0).
void mac_step(const uint32_t* x, int32_t slots, const uint32_t* w, int32_t bias, bool stride2, int32_t* a0_out,
              int32_t* a1_out) {
  int32_t a0 = bias, a1 = bias;
  for (int32_t s = 0; s < 3; ++s) {
    const uint32_t wa = w[2 * s], wb = w[2 * s + 1];
    const uint32_t x0 = x[s], x1 = x[slots + s];
    if (!stride2) {
      a0 = smlad(x0, wa, a0);
      a0 = wrap_add(a0, static_cast<int64_t>(low_half(x1)) * high_half(wb));
      a1 = wrap_add(a1, static_cast<int64_t>(high_half(x0)) * low_half(wa));
      a1 = smlad(x1, wb, a1);
    } else {
      a0 = smlad(x0, wa, a0);
      a0 = smlabb(x1, wb, a0);
    }
  }
  *a0_out = a0;
  *a1_out = a1;
}

void dw_line(DwLine* line) {
  const DwLine& r = *line;
  const bool stride2 = (r.mac_mode & 4) != 0;
  const int32_t rotation = r.mac_mode >> 3;
  const int32_t steps = r.steps;
  int8_t* out = r.out;
  const uint32_t* ring = r.ring;
  for (const int32_t* rec = r.record; rec != r.records_end; rec += kRecordWords, ++out) {
    uint32_t w[6];  // [slot][A/B]
    for (int32_t slot = 0; slot < 3; ++slot) {
      const uint32_t row = static_cast<uint32_t>(rec[(slot - rotation + 3) % 3]);
      w[2 * slot] = sxtb16(row);
      w[2 * slot + 1] = sxtb16_ror8(row);
    }
    const uint32_t* x = ring;
    for (int32_t k = 0; k < steps; ++k, x += 3) {
      int32_t a0, a1;
      mac_step(x, 3, w, rec[3], stride2, &a0, &a1);
      r.acc[stride2 ? k : 2 * k] = a0;
      if (!stride2) r.acc[2 * k + 1] = a1;
    }
    ring += 3 * (steps + 1);
    const int32_t outputs = rec[5] < 0 ? r.outputs : r.rq_mode / 2 + 8 * r.octs;
    requantize_channel(r.acc, rec, outputs, r.out_step, r.lo, r.hi, out);
  }
}

void dw_plane(DwPlane* plane) {
  const DwPlane& r = *plane;
  const int32_t kind = r.mac_mode >> 3;  // 0 stride 1, 1 stride 1 odd line, 2 stride 2
  int8_t* out = r.out;
  const uint32_t* ring = r.ring;
  for (const int32_t* rec = r.record; rec != r.records_end;
       rec += kRecordWords, ++out, ring += kPlaneSlots * r.column_words) {
    uint32_t w[6];  // [row][A/B]: row f in slot j * stride_x + f of line j
    for (int32_t f = 0; f < 3; ++f) {
      w[2 * f] = sxtb16(static_cast<uint32_t>(rec[f]));
      w[2 * f + 1] = sxtb16_ror8(static_cast<uint32_t>(rec[f]));
    }
    int32_t* acc = r.acc;
    for (int32_t j = 0; j < r.lines; ++j) {
      const uint32_t* x = ring + j * r.stride_x;
      for (int32_t k = 0; k < r.steps; ++k, x += kPlaneSlots) {
        int32_t a0, a1;
        mac_step(x, kPlaneSlots, w, rec[3], kind == 2, &a0, &a1);
        *acc++ = a0;
        if (kind == 0 || (kind == 1 && k < r.steps - 1)) *acc++ = a1;
      }
    }
    requantize_channel(r.acc, rec, r.outputs, r.out_step, r.lo, r.hi, out);
  }
}

#endif


inline int32_t mod3(int32_t v) { return ((v % 3) + 3) % 3; }

// Column words k .. k + ks - 1 of one ring slot for channels 0 .. 4 * groups - 1:
// column word k pairs the inputs at s0 + k * step and s1 + k * step. Per group of 4
// channels: 2 LDR, PKHBT/PKHTB to (c0, c1) and (c2, c3) byte pairs of both inputs, 4
// SXTB16 and 4 STR (channel c's word 4 * cw_bytes after channel c - 4's).
struct WidenRun {
  const int8_t* s0;  // 0
  const int8_t* s1;  // 4
  uint32_t* d;       // 8: channel 0's column word k in the slot
  int32_t ks;        // 12: column words (>= 1)
  int32_t cw_bytes;  // 16: bytes between channels in the ring
  int32_t step;      // 20: input bytes from one column word to the next
  int32_t groups;    // 24: >= 1
};

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
// One group of 4 channels from its two input words, a (at s0) and b (at s1): PKHBT/PKHTB
// to the byte pairs (c0, c1) and (c2, c3) of both, 4 SXTB16, 4 stores (r2 the destination
// of channel 0, r3/r4/r5 1/2/3 channel strides in the ring). Two of the stores follow a
// load of the next group's or column word's words (LOAD_A, LOAD_B), which the M4
// pipelines (1 cycle instead of 2): 17 cycles a group instead of 19. The last one of a
// run has no next and loads nothing (the tail forms, which also never read past a run).
// Groups inner (widen_run): a in r8, b in r7; channel 0's word goes to [r2] first.
#define TINYRIG_WIDEN_G_BODY(LOAD_B, LOAD_A, DST_ADV)                     \
  "pkhbt r9, r8, r7, lsl #16\n\t"                                         \
  "pkhtb r10, r7, r8, asr #16\n\t"                                        \
  "sxtb16 r7, r9\n\t"                                                     \
  "sxtb16 r8, r9, ror #8\n\t"                                             \
  "sxtb16 r9, r10\n\t"                                                    \
  "sxtb16 r10, r10, ror #8\n\t"                                           \
  "str r7, [r2]\n\t"                                                      \
  LOAD_B                                                                  \
  "str r8, [r2, r3]\n\t"                                                  \
  LOAD_A                                                                  \
  "str r9, [r2, r4]\n\t"                                                  \
  "str r10, [r2, r5]\n\t"                                                 \
  DST_ADV
#define TINYRIG_WIDEN_G                                                   \
  TINYRIG_WIDEN_G_BODY("ldr r7, [r0, r1]\n\t", "ldr r8, [r0], #4\n\t", "add r2, r2, r3, lsl #2\n\t")
#define TINYRIG_WIDEN_G_LAST TINYRIG_WIDEN_G_BODY("", "", "")
// CW_BYTES: bytes from one column word to the next in the ring (12 in the line kernel's
// 3-slot ring, 32 in the plane kernel's 8-slot one). Per column word: the first group's words loaded ahead, then groups - 1 groups two at a
// time (an odd count enters at the second) that load their successor's, then the last;
// the stack holds step and 2 * ceil((groups - 1) / 2) + (groups - 1) % 2.
#define TINYRIG_WIDEN_RUN_FN(NAME, CW_BYTES) \
__attribute__((naked, noipa)) void NAME(const WidenRun*) {                                       \
  __asm__ volatile(                                                                              \
      "push {r4-r11, lr}\n\t"                                                                    \
      "ldm r0, {r1-r7}\n\t"                                                                      \
      "sub r7, r7, #1\n\t"         /* groups - 1 groups load their successor's words */          \
      "and r8, r7, #1\n\t"         /* (groups - 1) + 2 * ((groups - 1) % 2): the trips above */  \
      "add r7, r7, r8, lsl #1\n\t" /* bit 0, the odd count in it */                              \
      "push {r6, r7}\n\t"          /* step, count */                                             \
      "mov r11, r1\n\t"            /* s0 of column word k */                                     \
      "sub r1, r2, r1\n\t"         /* s1 - s0 */                                                 \
      "mov r12, r3\n\t"            /* d of column word k */                                      \
      "mov lr, r4\n\t"                                                                           \
      "mov r3, r5\n\t"                                                                           \
      "lsl r4, r3, #1\n\t"                                                                       \
      "add r5, r4, r3\n\t"                                                                       \
      "0:\n\t"                                                                                   \
      "mov r0, r11\n\t"                                                                          \
      "mov r2, r12\n\t"                                                                          \
      "ldr r6, [sp, #4]\n\t"                                                                     \
      "ldr r7, [r0, r1]\n\t"       /* the first group's b and a */                               \
      "ldr r8, [r0], #4\n\t"                                                                     \
      "lsrs r6, r6, #1\n\t"        /* Z: one group; C: an odd count before the last */           \
      "beq 9f\n\t"                                                                               \
      "bcs 2f\n\t"                                                                               \
      "1:\n\t"                                                                                   \
      TINYRIG_WIDEN_G                                                                            \
      "2:\n\t"                                                                                   \
      TINYRIG_WIDEN_G                                                                            \
      "subs r6, r6, #1\n\t"                                                                      \
      "bne 1b\n\t"                                                                               \
      "9:\n\t"                                                                                   \
      TINYRIG_WIDEN_G_LAST                                                                       \
      "ldr r6, [sp]\n\t"                                                                         \
      "add r11, r11, r6\n\t"                                                                     \
      "add r12, r12, #" CW_BYTES "\n\t"                                                          \
      "subs lr, lr, #1\n\t"                                                                      \
      "bne 0b\n\t"                                                                               \
      "add sp, sp, #8\n\t"                                                                       \
      "pop {r4-r11, pc}\n\t");                                                                   \
}
// Column words inner (widen_run_cw): a in r8, b in r9, r0 already on the next column word
// (r11 the input step); channel 0's word goes last, to [r2] with the step to the next
// column word.
#define TINYRIG_WIDEN_K_BODY(LOAD_A, LOAD_B, SRC_ADV, CW_BYTES)           \
  "pkhbt r7, r8, r9, lsl #16\n\t"                                         \
  "pkhtb r10, r9, r8, asr #16\n\t"                                        \
  "sxtb16 r8, r7, ror #8\n\t"                                             \
  "sxtb16 r7, r7\n\t"                                                     \
  "sxtb16 r9, r10\n\t"                                                    \
  "sxtb16 r10, r10, ror #8\n\t"                                           \
  "str r8, [r2, r3]\n\t"                                                  \
  LOAD_A                                                                  \
  "str r9, [r2, r4]\n\t"                                                  \
  LOAD_B                                                                  \
  "str r10, [r2, r5]\n\t"                                                 \
  "str r7, [r2], #" CW_BYTES "\n\t"                                       \
  SRC_ADV
#define TINYRIG_WIDEN_K(CW_BYTES)                                         \
  TINYRIG_WIDEN_K_BODY("ldr r8, [r0]\n\t", "ldr r9, [r0, r1]\n\t", "add r0, r0, r11\n\t", CW_BYTES)
#define TINYRIG_WIDEN_K_LAST(CW_BYTES) TINYRIG_WIDEN_K_BODY("", "", "", CW_BYTES)
// The same with the loops the other way round (groups outside, column words inside),
// for runs longer than the group count; the stack holds the column word count coded as
// above and the groups left.
#define TINYRIG_WIDEN_RUN_CW_FN(NAME, CW_BYTES) \
__attribute__((naked, noipa)) void NAME(const WidenRun*) {                                    \
  __asm__ volatile(                                                                           \
      "push {r4-r11, lr}\n\t"                                                                 \
      "ldm r0, {r1-r7}\n\t"                                                                   \
      "sub r4, r4, #1\n\t"         /* ks - 1 column words load their successor's words */     \
      "and r8, r4, #1\n\t"                                                                    \
      "add r4, r4, r8, lsl #1\n\t"                                                            \
      "push {r4, r7}\n\t"          /* count, groups */                                        \
      "mov r11, r6\n\t"            /* step */                                                 \
      "mov r12, r1\n\t"            /* s0 of the group */                                      \
      "sub r1, r2, r1\n\t"         /* s1 - s0 */                                              \
      "mov lr, r3\n\t"             /* d of the group */                                       \
      "mov r3, r5\n\t"                                                                        \
      "lsl r4, r3, #1\n\t"                                                                    \
      "add r5, r4, r3\n\t"                                                                    \
      "0:\n\t"                                                                                \
      "mov r0, r12\n\t"                                                                       \
      "mov r2, lr\n\t"                                                                        \
      "ldr r6, [sp]\n\t"                                                                      \
      "ldr r8, [r0]\n\t"           /* the first column word's a and b */                      \
      "ldr r9, [r0, r1]\n\t"                                                                  \
      "add r0, r0, r11\n\t"                                                                   \
      "lsrs r6, r6, #1\n\t"        /* Z: one column word; C: an odd count before the last */  \
      "beq 9f\n\t"                                                                            \
      "bcs 2f\n\t"                                                                            \
      "1:\n\t"                                                                                \
      TINYRIG_WIDEN_K(CW_BYTES)                                                               \
      "2:\n\t"                                                                                \
      TINYRIG_WIDEN_K(CW_BYTES)                                                               \
      "subs r6, r6, #1\n\t"                                                                   \
      "bne 1b\n\t"                                                                            \
      "9:\n\t"                                                                                \
      TINYRIG_WIDEN_K_LAST(CW_BYTES)                                                          \
      "add r12, r12, #4\n\t"                                                                  \
      "add lr, lr, r3, lsl #2\n\t"                                                            \
      "ldr r6, [sp, #4]\n\t"                                                                  \
      "subs r6, r6, #1\n\t"                                                                   \
      "str r6, [sp, #4]\n\t"                                                                  \
      "bne 0b\n\t"                                                                            \
      "add sp, sp, #8\n\t"                                                                    \
      "pop {r4-r11, pc}\n\t");                                                                \
}
TINYRIG_WIDEN_RUN_FN(widen_run, "12")
TINYRIG_WIDEN_RUN_CW_FN(widen_run_cw, "12")
// The plane kernel's rings are short (column words <= kPlaneMaxSteps + 1): groups inner only.
TINYRIG_WIDEN_RUN_FN(widen_run_plane, "32")
#else
// kSlots: the ring's slots per column word (3 or kPlaneSlots).
template <int kSlots>
void widen_run_slots(const WidenRun* r) {
  const int32_t cw = r->cw_bytes / 4;
  for (int32_t k = 0; k < r->ks; ++k) {
    const int8_t* s0 = r->s0 + k * r->step;
    const int8_t* s1 = r->s1 + k * r->step;
    uint32_t* d = r->d + kSlots * k;
    for (int32_t g = 0; g < r->groups; ++g, s0 += 4, s1 += 4, d += 4 * cw) {
      const uint32_t w0 = load_word(s0), w1 = load_word(s1);
      const uint32_t a0 = sxtb16(w0), a1 = sxtb16(w1), b0 = sxtb16_ror8(w0), b1 = sxtb16_ror8(w1);
      d[0] = pack_low_halves(a0, a1);
      d[cw] = pack_low_halves(b0, b1);
      d[2 * cw] = pack_high_halves(a0, a1);
      d[3 * cw] = pack_high_halves(b0, b1);
    }
  }
}
void widen_run(const WidenRun* r) { widen_run_slots<3>(r); }
void widen_run_cw(const WidenRun* r) { widen_run_slots<3>(r); }
void widen_run_plane(const WidenRun* r) { widen_run_slots<kPlaneSlots>(r); }
#endif

// Widens input line y of channels c0 .. c0 + count - 1 into ring slot `slot` of a ring
// of kSlots slots per column word ([channel - c0][column word][slot]). Elements outside
// the image read the input zero point from zp_row; a line outside the image is one
// zero-point pair in every word. Runs of column words inside the line go through
// widen_run together, the edge words one at a time; channels past the last group of 4
// in C.
template <int kSlots>
void widen_line(const DspDepthwiseLineParams& p, const int8_t* input, int32_t y, uint32_t* ring, int32_t slot,
                const int8_t* zp_row, int32_t c0, int32_t count) {
  const int32_t cw = kSlots * p.column_words;  // words between channels
  if (y < 0 || y >= p.in_lines) {
    const uint32_t zp = static_cast<uint16_t>(static_cast<int16_t>(p.input_zero_point)) * 0x00010001u;
    // The slot's words of all channels are one sequence, kSlots words apart: 8 stores a
    // trip (2 cycles each, none can pair), so the loop's own 5 cycles weigh little.
    uint32_t* d = ring + slot;
    uint32_t* const end = d + kSlots * count * p.column_words;
    for (; end - d >= 8 * kSlots; d += 8 * kSlots) {
      d[0] = zp, d[kSlots] = zp, d[2 * kSlots] = zp, d[3 * kSlots] = zp;
      d[4 * kSlots] = zp, d[5 * kSlots] = zp, d[6 * kSlots] = zp, d[7 * kSlots] = zp;
    }
    for (; d < end; d += kSlots) *d = zp;
    return;
  }
  const int8_t* line = input + y * p.in_line_bytes + c0;
  const int32_t full = count & ~3;
  WidenRun run;
  run.cw_bytes = 4 * cw;
  run.step = 2 * p.in_elem_bytes;
  run.groups = full / 4;
  for (int32_t k = 0; k < p.column_words;) {
    const int32_t e0 = 2 * k - p.pad_a, e1 = e0 + 1;
    const bool in0 = e0 >= 0 && e0 < p.in_len, in1 = e1 >= 0 && e1 < p.in_len;
    int32_t ks = 1;
    if (in0 && in1) {  // the run of column words whose both inputs are inside
      ks = (p.in_len - 1 - e1) / 2 + 1;
      if (ks > p.column_words - k) ks = p.column_words - k;
    }
    const int8_t* s0 = in0 ? line + e0 * p.in_elem_bytes : zp_row;
    const int8_t* s1 = in1 ? line + e1 * p.in_elem_bytes : zp_row;
    if (full > 0) {
      run.s0 = s0;
      run.s1 = s1;
      run.d = ring + kSlots * k + slot;
      run.ks = ks;
      if constexpr (kSlots == 3) {
        if (ks > run.groups) {
          widen_run_cw(&run);
        } else {
          widen_run(&run);
        }
      } else {
        widen_run_plane(&run);
      }
    }
    for (int32_t j = 0; j < ks && full < count; ++j) {
      uint32_t* d = ring + kSlots * (k + j) + slot + full * cw;
      const int8_t* t0 = in0 && in1 ? s0 + j * run.step : s0;
      const int8_t* t1 = in0 && in1 ? s1 + j * run.step : s1;
      for (int32_t c = full; c < count; ++c, d += cw) {
        const uint32_t v0 = static_cast<uint16_t>(static_cast<int16_t>(t0[c]));
        const uint32_t v1 = static_cast<uint16_t>(static_cast<int16_t>(t1[c]));
        d[0] = v0 | (v1 << 16);
      }
    }
    k += ks;
  }
}

}  // namespace

void depthwise_conv2d_s8(const DspDepthwiseLineParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  // Scratch: the ring, then the accumulator buffer ending on the next kDwAccAlign
  // boundary (depthwise.py reserves the slack), then a row of zero points.
  uint32_t* ring = reinterpret_cast<uint32_t*>(scratch);
  const int32_t ring_words = 3 * p.column_words * p.channels;
  const int32_t acc_words = p.stride_a == 1 ? 2 * p.steps : p.steps;
  const uintptr_t acc_end =
      (reinterpret_cast<uintptr_t>(scratch + ring_words + acc_words) + kDwAccAlign - 1) & ~(kDwAccAlign - 1);
  int32_t* acc = reinterpret_cast<int32_t*>(acc_end) - acc_words;
  int8_t* zp_row = reinterpret_cast<int8_t*>(acc_end);
  memset(zp_row, static_cast<int8_t>(p.input_zero_point), static_cast<size_t>((p.channels + 3) & ~3));
  int32_t slot_line[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
  // The assembly walks column_words = steps + 1 ring words per channel and slot.
  DwLine line;
  line.acc = acc;
  line.rq_mode = 2 * (p.line_len % 8);
  line.octs = p.line_len / 8;
  line.out_step2 = 2 * p.out_elem_bytes;
  line.out_step3 = 3 * p.out_elem_bytes;
  line.out_step = p.out_elem_bytes;
  line.records_end = p.records + kRecordWords * p.channels;
  line.ring = ring;
  line.lo = p.activation_min;
  line.hi = p.activation_max;
  line.outputs = p.line_len;
  line.steps = p.steps;
  const int32_t stride_mode = 4 * (p.stride_a == 2) + (p.steps & 3);
  for (int32_t ol = 0; ol < p.lines; ++ol) {
    const int32_t y0 = ol * p.stride_x - p.pad_x;
    for (int32_t fr = 0; fr < 3; ++fr) {
      const int32_t y = y0 + fr;
      const int32_t slot = mod3(y);
      if (slot_line[slot] != y) {
        widen_line<3>(p, input, y, ring, slot, zp_row, 0, p.channels);
        slot_line[slot] = y;
      }
    }
    line.out = output + ol * p.out_line_bytes;
    line.record = p.records;
    line.mac_mode = 8 * mod3(y0) + stride_mode;  // slot s holds filter row (s - y0) mod 3
    dw_line(&line);
  }
}

void depthwise_conv2d_s8(const DspDepthwisePlaneParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch) {
  const DspDepthwiseLineParams& p = params.line;
  // Scratch: the ring of chunk_channels channels, then the accumulators of a band ending on
  // the next kDwAccAlign boundary (depthwise.py reserves the slack), then a row of zero points.
  uint32_t* ring = reinterpret_cast<uint32_t*>(scratch);
  const int32_t ring_words = kPlaneSlots * p.column_words * params.chunk_channels;
  const uintptr_t acc_end =
      (reinterpret_cast<uintptr_t>(scratch + ring_words + params.band_lines * p.line_len) + kDwAccAlign - 1) &
      ~(kDwAccAlign - 1);
  int8_t* zp_row = reinterpret_cast<int8_t*>(acc_end);
  memset(zp_row, static_cast<int8_t>(p.input_zero_point), static_cast<size_t>((p.channels + 3) & ~3));
  DwPlane band;
  band.out_step = p.out_elem_bytes;
  band.out_step2 = 2 * p.out_elem_bytes;
  band.out_step3 = 3 * p.out_elem_bytes;
  band.lo = p.activation_min;
  band.hi = p.activation_max;
  const int32_t kind = p.stride_a == 2 ? 2 : (p.line_len & 1);  // odd stride-1 lines end on a half step
  band.mac_mode = 8 * kind + p.steps;
  // A line's walk ends column_words column words on; the next line starts stride_x slots on.
  band.line_back = 4 * (kPlaneSlots * p.column_words - p.stride_x);
  band.steps = p.steps;
  band.stride_x = p.stride_x;
  band.column_words = p.column_words;
  for (int32_t l0 = 0; l0 < p.lines; l0 += params.band_lines) {
    const int32_t lines = p.lines - l0 < params.band_lines ? p.lines - l0 : params.band_lines;
    const int32_t outputs = lines * p.line_len;
    band.acc = reinterpret_cast<int32_t*>(acc_end) - outputs;
    band.rq_mode = 2 * (outputs % 8);
    band.octs = outputs / 8;
    band.outputs = outputs;
    band.lines = lines;
    band.channel_back = 4 * (lines * p.stride_x - kPlaneSlots * p.column_words);
    const int32_t y0 = l0 * p.stride_x - p.pad_x;
    const int32_t rows = (lines - 1) * p.stride_x + 3;
    for (int32_t c0 = 0; c0 < p.channels; c0 += params.chunk_channels) {
      const int32_t count = p.channels - c0 < params.chunk_channels ? p.channels - c0 : params.chunk_channels;
      for (int32_t r = 0; r < rows; ++r) widen_line<kPlaneSlots>(p, input, y0 + r, ring, r, zp_row, c0, count);
      band.record = p.records + kRecordWords * c0;
      band.records_end = p.records + kRecordWords * (c0 + count);
      band.out = output + l0 * p.out_line_bytes + c0;
      band.ring = ring;
      dw_plane(&band);
    }
  }
}

void depthwise_conv2d_s8(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  depthwise_generic(p, input, output, scratch);
}

}  // namespace arm_dsp
}  // namespace tinyrig
