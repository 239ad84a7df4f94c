// tinyrig DSP-extension kernel: CONV_2D with a 2-D filter (no dilation, any stride and padding) on
// whole groups of 4 input channels and of 4 filters, in blocks of 2 output pixels x 4 filters.
//
// Per output row the filter_h input rows under it are widened once into a band laid [x][fy][c]
// (tinyrig_dsp_band.cc fill_band, the zero point outside the image), so that each output pixel's
// window is depth / 2 consecutive words and the next pixel's window starts kPixelBytes on. One
// assembly call (band_quad_run) sweeps every quad of filters over a pair of neighbouring pixels,
// reading both windows in place: a step loads the 2 int8 weight words of the filter pairs (a, b)
// and (c, d) (conv.py's pair words (a0, b0 - [a0 < 0], a1, b1 - [a1 < 0])) and the 2 pixels' band
// words as one run of 4 single LDRs (5 cycles; pixel 1 at the immediate offset kPixelBytes),
// issues the 4 raw-word SMLADs, widens both weight words in place (2 SXTB16) and issues the 4
// others: 15 M4 cycles and 14 instructions for 16 MACs, where the band path's 3-pixel x 2-filter
// unit of tinyrig_dsp_conv.cc takes 24 cycles and 22 instructions for 24. The registers, passes,
// epilogue and stream follow tinyrig_dsp_pointwise_quad.cc (the 1x1 kernel of the same block),
// except that the band pointer moves 4 bytes a step where the stream moves 8. A row of an odd
// pixel count ends with the pair of its last two pixels (the second-last computed twice, the
// same bytes written again): no scratch outputs, no copies.
#include "tinyrig_dsp_band.h"
#include "tinyrig_dsp_band_quad.h"
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_quad_epilogue.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

// Units of 2 steps per pass of the assembly run. 18 units: a 3x3 window on 4k channels is 9k
// units, the first apart and the rest whole passes of 18 where k is even. A core fetching from
// flash through a small instruction cache (TINYRIG_FLASH_ICACHE_BYTES, set by the firmware build
// from the board's [timing], as for tinyrig_dsp_conv.cc) gets 6, so that the first unit, the pass
// and the epilogue (about 1 KB) stay in a 1 KB cache. band_quad.py PASS_UNITS / SMALL_CACHE_PASS_UNITS.
#if TINYRIG_SMALL_FLASH_ICACHE
#define TINYRIG_BQ_PASS_UNITS 6
#else
#define TINYRIG_BQ_PASS_UNITS 18
#endif
constexpr int32_t kPassUnits = TINYRIG_BQ_PASS_UNITS;

// The pixel steps in bytes (band_quad.py PIXEL_BYTES): one assembly run each (and its clamping twin).
#define TINYRIG_BQ_PIXEL_BYTES(X)                                                                     \
  X(8) X(16) X(24) X(32) X(40) X(48) X(64) X(80) X(96) X(128) X(144) X(160) X(192) X(256) X(288) X(384) \
  X(512) X(576) X(768) X(1152) X(1536)

// One call of band_quad_run: a pair of neighbouring pixels against every quad of filters. Field
// order is the run's stack frame (x to end first: one LDM at each quad's end reloads them).
struct BandQuadRun {
  const uint32_t* x;      // 0: pixel 0's window in the band (pixel 1's kPixelBytes on)
  int8_t* out;            // 4: pixel 0's output of the current quad (pixel 1 out_c bytes on)
  int32_t out_c;          // 8
  const int32_t* end;     // 12: the stream past the last quad
  const uint32_t* x_end;  // 16: past pixel 0's window
  int32_t adjust;         // 20: added to the stream after the first unit (half of it to x):
                          // 16 - 16 * entry
  int32_t entry;          // 24: the unit (0..kPassUnits) the first pass starts at (quad_entry);
                          // the run turns it into a code address in its frame
  uint32_t lo4, hi4;      // 28, 32: activation min / max in every byte (clamping run only)
  const int32_t* stream;  // 36: quad 0
};

// The pass unit the first pass enters at after a quad's first unit: the one that leaves whole
// passes, or kPassUnits (the pass's end) when the depth is one unit.
constexpr int32_t quad_entry(int32_t units) {
  return units == 1 ? kPassUnits : (kPassUnits - (units - 1) % kPassUnits) % kPassUnits;
}

using BandQuadRunFn = void (*)(const BandQuadRun*);

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// One step: weight words at byte W of the stream (r1), pixel 0's band word at byte X of r0 and
// pixel 1's PB bytes further on. r2, r3 the weight words of the pairs (a, b), (c, d); r4, r5
// pixels 0, 1. Accumulators: r6 a0, r7 raw_ab0, r8 a1, r9 raw_ab1, r10 c0, r11 raw_cd0, r12 c1,
// lr raw_cd1 (a0: filter a at pixel 0).
#define TINYRIG_BQ_LOADS(W, X, PB)                                        \
  "ldr r2, [r1, #" #W "]\n\t"                                             \
  "ldr r3, [r1, #" #W " + 4]\n\t"                                         \
  "ldr r4, [r0, #" #X "]\n\t"                                             \
  "ldr r5, [r0, #" #X " + " #PB "]\n\t"
#define TINYRIG_BQ_STEP(W, X, PB)                                         \
  TINYRIG_BQ_LOADS(W, X, PB)                                              \
  "smlad r7, r4, r2, r7\n\t"                                              \
  "smlad r9, r5, r2, r9\n\t"                                              \
  "smlad r11, r4, r3, r11\n\t"                                            \
  "smlad lr, r5, r3, lr\n\t"                                              \
  "sxtb16 r2, r2\n\t"                                                     \
  "sxtb16 r3, r3\n\t"                                                     \
  "smlad r6, r4, r2, r6\n\t"                                              \
  "smlad r8, r5, r2, r8\n\t"                                              \
  "smlad r10, r4, r3, r10\n\t"                                            \
  "smlad r12, r5, r3, r12\n\t"
// A quad's first step starts the 8 accumulators (SMUAD: no seeding moves; the biases join in the
// epilogue).
#define TINYRIG_BQ_FIRST_STEP(PB)                                         \
  TINYRIG_BQ_LOADS(0, 0, PB)                                              \
  "smuad r7, r4, r2\n\t"                                                  \
  "smuad r9, r5, r2\n\t"                                                  \
  "smuad r11, r4, r3\n\t"                                                 \
  "smuad lr, r5, r3\n\t"                                                  \
  "sxtb16 r2, r2\n\t"                                                     \
  "sxtb16 r3, r3\n\t"                                                     \
  "smuad r6, r4, r2\n\t"                                                  \
  "smuad r8, r5, r2\n\t"                                                  \
  "smuad r10, r4, r3\n\t"                                                 \
  "smuad r12, r5, r3\n\t"
// Unit U of a pass: 2 steps, 16 bytes of stream and 8 of band a unit.
#define TINYRIG_BQ_UNIT(U, PB) \
  TINYRIG_BQ_STEP(16 * U, 8 * U, PB) TINYRIG_BQ_STEP(16 * U + 8, 8 * U + 4, PB)

// The entry table (one address per unit, then the pass's end) and the units of one pass.
#if TINYRIG_BQ_PASS_UNITS == 6
#define TINYRIG_BQ_PASS(PB)                                               \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 7f + 1\n\t" \
  "10:\n\t" TINYRIG_BQ_UNIT(0, PB) "11:\n\t" TINYRIG_BQ_UNIT(1, PB) "12:\n\t" TINYRIG_BQ_UNIT(2, PB) \
  "13:\n\t" TINYRIG_BQ_UNIT(3, PB) "14:\n\t" TINYRIG_BQ_UNIT(4, PB) "15:\n\t" TINYRIG_BQ_UNIT(5, PB)
#else
#define TINYRIG_BQ_PASS(PB)                                               \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1, 18f + 1\n\t" \
  ".word 19f + 1, 20f + 1, 21f + 1, 22f + 1, 23f + 1, 24f + 1, 25f + 1, 26f + 1, 27f + 1, 7f + 1\n\t" \
  "10:\n\t" TINYRIG_BQ_UNIT(0, PB) "11:\n\t" TINYRIG_BQ_UNIT(1, PB) "12:\n\t" TINYRIG_BQ_UNIT(2, PB) \
  "13:\n\t" TINYRIG_BQ_UNIT(3, PB) "14:\n\t" TINYRIG_BQ_UNIT(4, PB) "15:\n\t" TINYRIG_BQ_UNIT(5, PB) \
  "16:\n\t" TINYRIG_BQ_UNIT(6, PB) "17:\n\t" TINYRIG_BQ_UNIT(7, PB) "18:\n\t" TINYRIG_BQ_UNIT(8, PB) \
  "19:\n\t" TINYRIG_BQ_UNIT(9, PB) "20:\n\t" TINYRIG_BQ_UNIT(10, PB) "21:\n\t" TINYRIG_BQ_UNIT(11, PB) \
  "22:\n\t" TINYRIG_BQ_UNIT(12, PB) "23:\n\t" TINYRIG_BQ_UNIT(13, PB) "24:\n\t" TINYRIG_BQ_UNIT(14, PB) \
  "25:\n\t" TINYRIG_BQ_UNIT(15, PB) "26:\n\t" TINYRIG_BQ_UNIT(16, PB) "27:\n\t" TINYRIG_BQ_UNIT(17, PB)
#endif
#define TINYRIG_BQ_STR2(V) #V
#define TINYRIG_BQ_STR(V) TINYRIG_BQ_STR2(V)

// The pass's end: the band a pass on (8 bytes a unit), the stream too (16), another pass while
// pixel 0's window goes on (LDR, CMP, BNE: 5 cycles and the 2 ADDs when it falls through).
#define TINYRIG_BQ_PASS_END                                               \
  "add r0, r0, #8 * " TINYRIG_BQ_STR(TINYRIG_BQ_PASS_UNITS) "\n\t"        \
  "add r1, r1, #16 * " TINYRIG_BQ_STR(TINYRIG_BQ_PASS_UNITS) "\n\t"       \
  "ldr r2, [sp, #16]\n\t"                                                 \
  "cmp r0, r2\n\t"                                                        \
  "bne 10b\n\t"

// The run: its frame is the BandQuadRun block, the entry index turned into the unit's code
// address; a quad's first unit, then passes of kPassUnits units entered mid-pass. CLAMP:
// TINYRIG_QUAD_CLAMP or "".
#define TINYRIG_BQ_RUN_OF(PB, CLAMP)                                      \
  "push {r4-r11, lr}\n\t"                                                 \
  "sub sp, sp, #36\n\t"                                                   \
  "ldm r0, {r1-r10}\n\t"                                                  \
  "adr r11, 6f\n\t"                                                       \
  "ldr r7, [r11, r7, lsl #2]\n\t" /* the entry unit's address */          \
  "stm sp, {r1-r9}\n\t"                                                   \
  "mov r0, r1\n\t"                                                        \
  "mov r1, r10\n\t" /* r1: the stream, from here on */                    \
  "b 2f\n\t"                                                              \
  ".p2align 2\n\t"                                                        \
  "6:\n\t"                                                                \
  TINYRIG_BQ_PASS(PB)                                                     \
  "7:\n\t"                                                                \
  TINYRIG_BQ_PASS_END                                                     \
  TINYRIG_QUAD_EPILOGUE                                                     \
  CLAMP                                                                   \
  TINYRIG_QUAD_STORE                                                        \
  "beq 9f\n\t"                                                            \
  "2:\n\t" /* the next quad: its first unit, then the passes */          \
  TINYRIG_BQ_FIRST_STEP(PB)                                               \
  TINYRIG_BQ_STEP(8, 4, PB)                                               \
  "ldr r2, [sp, #20]\n\t"                                                 \
  "add r0, r0, r2, asr #1\n\t"                                            \
  "add r1, r1, r2\n\t"                                                    \
  "ldr pc, [sp, #24]\n\t" /* the entry unit */                           \
  "9:\n\t"                                                                \
  "add sp, sp, #36\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

// One run and its clamping twin per pixel step (noipa: the caller must not learn from the opaque
// bodies which registers survive); each a function of its own, so the linker keeps only those a
// model's layers use.
template <int kPixelBytes>
struct BandQuadRuns;
#define TINYRIG_BQ_RUNS(PB)                                                                         \
  __attribute__((naked, noipa)) void band_quad_run_##PB(const BandQuadRun*) {                       \
    __asm__ volatile(TINYRIG_BQ_RUN_OF(PB, ""));                                                    \
  }                                                                                                 \
  __attribute__((naked, noipa)) void band_quad_run_clamp_##PB(const BandQuadRun*) {                 \
    __asm__ volatile(TINYRIG_BQ_RUN_OF(PB, TINYRIG_QUAD_CLAMP));                                      \
  }                                                                                                 \
  template <>                                                                                       \
  struct BandQuadRuns<PB> {                                                                         \
    static constexpr BandQuadRunFn run(bool clamp) { return clamp ? band_quad_run_clamp_##PB : band_quad_run_##PB; } \
  };
TINYRIG_BQ_PIXEL_BYTES(TINYRIG_BQ_RUNS)

#else  // host model of the same run

void band_quad_run_model(const BandQuadRun* run, bool clamp, int32_t pixel_words) {
  quad_block_model(run, clamp, static_cast<int32_t>(run->x_end - run->x), pixel_words, 1);  // windows in place
}

template <int kPixelBytes>
struct BandQuadRuns {  // the model reads pixel 1 kPixelBytes on
  static void plain(const BandQuadRun* run) { band_quad_run_model(run, false, kPixelBytes / 4); }
  static void clamped(const BandQuadRun* run) { band_quad_run_model(run, true, kPixelBytes / 4); }
  static constexpr BandQuadRunFn run(bool clamp) { return clamp ? clamped : plain; }
};

#endif

// Per output row: the band, then every pair of neighbouring pixels read in place by the run; a
// row of an odd pixel count ends with the pair of its last two pixels. One driver for every
// pixel step and clamp (the template wrapper passes its run).
void band_quad(const Window2D& w, int32_t input_zero_point, int32_t band_w, int32_t activation_min,
               int32_t activation_max, const int32_t* stream, const int8_t* input, int8_t* output, int32_t* scratch,
               int32_t pixel_words, BandQuadRunFn run_fn) {
  const int32_t depth = w.filter_h * w.filter_w * w.input_c;
  const int32_t steps = depth / 2, units = depth / 4;
  const int32_t out_w = w.output_w, out_c = w.output_c;
  uint32_t* const band = reinterpret_cast<uint32_t*>(scratch);
  BandQuadRun run;
  run.out_c = out_c;
  run.end = stream + (out_c / 4) * (2 * steps + kQuadEpilogueWords);
  run.entry = quad_entry(units);
  run.adjust = 16 - 16 * run.entry;
  run.lo4 = static_cast<uint8_t>(activation_min) * 0x01010101u;
  run.hi4 = static_cast<uint8_t>(activation_max) * 0x01010101u;
  run.stream = stream;
  for (int32_t out_y = 0; out_y < w.output_h; ++out_y) {
    fill_band(w, input_zero_point, input, out_y, band_w, band);
    int8_t* const row = output + out_y * out_w * out_c;
    for (int32_t x = 0; x < out_w; x += 2) {
      const int32_t first = x + 2 <= out_w ? x : out_w - 2;  // an odd row's last pair overlaps
      run.x = band + first * pixel_words;
      run.x_end = run.x + steps;
      run.out = row + first * out_c;
      run_fn(&run);
    }
  }
}

}  // namespace

template <int kPixelBytes, int kClamp>
void conv2d_s8(const DspBandQuadParams<kPixelBytes, kClamp>& p, const int8_t* input, int8_t* output,
               int32_t* scratch) {
  constexpr BandQuadRunFn run = BandQuadRuns<kPixelBytes>::run(kClamp != 0);  // the other run stays unlinked
  band_quad(p.window, p.input_zero_point, p.band_w, p.activation_min, p.activation_max, p.stream, input, output,
            scratch, kPixelBytes / 4, run);
}

// Every pixel step, clamping or not; the linker keeps the ones a model's layers use.
#define TINYRIG_BQ_INSTANCES(PB)                                                                        \
  template void conv2d_s8<PB, 0>(const DspBandQuadParams<PB, 0>&, const int8_t*, int8_t*, int32_t*);   \
  template void conv2d_s8<PB, 1>(const DspBandQuadParams<PB, 1>&, const int8_t*, int8_t*, int32_t*);
TINYRIG_BQ_PIXEL_BYTES(TINYRIG_BQ_INSTANCES)

}  // namespace arm_dsp
}  // namespace tinyrig
