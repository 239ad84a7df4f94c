// tinyrig DSP-extension kernel: CONV_2D 1x1 (no padding, any stride) on whole groups of 4 input
// channels and of 4 filters, in blocks of 2 output pixels x 4 filters.
//
// Per pair of output pixels the two input pixels are widened once into scratch, int16 pairs in
// SXTB16 order interleaved [step][pixel]; then one assembly call (quad_run) sweeps every quad of
// filters over them. The weights stay int8 in flash as conv.py lays them (one word per SMLAD step
// of a filter pair (a, b) holding (a0, b0 - [a0 < 0], a1, b1 - [a1 < 0])): SMLAD with the raw word
// accumulates a + 256 * b, with its SXTB16 filter a, and the epilogue takes b from the difference.
// A step of the quad loads the 2 weight words (pairs (a, b) and (c, d)) and the 2 pixels' input
// words as one run of 4 single LDRs (2 + 1 + 1 + 1 = 5 cycles), issues the 4 raw-word SMLADs,
// widens both weight words in place (2 SXTB16) and issues the 4 others: 15 cycles for 16 MACs,
// where the 3-pixel x 2-filter block of tinyrig_dsp_conv.cc takes 24 for 24. The 8 accumulators,
// 4 operand registers and the 2 pointers use r0-r12 and lr, so the loop is unrolled into passes
// read at immediate offsets, the pointers bumped once a pass and its end tested against the frame.
// A last odd pixel runs as a pair with itself, its outputs through scratch.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_pointwise_quad.h"
#include "tinyrig_dsp_quad_epilogue.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

// Units of 2 steps per pass of the assembly run. 16 units (32 steps) keep the run about 1.9 KB;
// a core fetching from flash through a small instruction cache (TINYRIG_FLASH_ICACHE_BYTES, set
// by the firmware build from the board's [timing], as for tinyrig_dsp_conv.cc) gets 5, so that
// the first unit, the pass and the epilogue (0.86 KB) stay in a 1 KB cache beside the widening
// and the driver's loop, run once a pixel pair (with 6 units, vww01's layer 6 waited on flash
// 49 K cycles on nucleo-l4r5zi, 13 K with 5; 9 K on the 3x2 block).
// pointwise_quad.py PASS_UNITS / SMALL_CACHE_PASS_UNITS.
#if TINYRIG_SMALL_FLASH_ICACHE
#define TINYRIG_QUAD_PASS_UNITS 5
#else
#define TINYRIG_QUAD_PASS_UNITS 16
#endif
constexpr int32_t kPassUnits = TINYRIG_QUAD_PASS_UNITS;

// The pass unit the first pass enters at after a quad's first unit: the one that leaves whole
// passes, or kPassUnits (the pass's end) when the depth is one unit.
constexpr int32_t quad_entry(int32_t units) {
  return units == 1 ? kPassUnits : (kPassUnits - (units - 1) % kPassUnits) % kPassUnits;
}

inline void store_word(void* p, uint32_t v) { std::memcpy(p, &v, sizeof(v)); }

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// One step at byte offset OFF of both pointers (r0 the pixels, r1 the stream): r2, r3 the weight
// words of the pairs (a, b), (c, d); r4, r5 pixels 0, 1. Accumulators: r6 a0, r7 raw_ab0, r8 a1,
// r9 raw_ab1, r10 c0, r11 raw_cd0, r12 c1, lr raw_cd1 (a0: filter a at pixel 0).
#define TINYRIG_QUAD_LOADS(OFF)                                           \
  "ldr r2, [r1, #" #OFF "]\n\t"                                           \
  "ldr r3, [r1, #" #OFF " + 4]\n\t"                                       \
  "ldr r4, [r0, #" #OFF "]\n\t"                                           \
  "ldr r5, [r0, #" #OFF " + 4]\n\t"
#define TINYRIG_QUAD_STEP(OFF)                                            \
  TINYRIG_QUAD_LOADS(OFF)                                                 \
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
#define TINYRIG_QUAD_FIRST_STEP                                           \
  TINYRIG_QUAD_LOADS(0)                                                   \
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
#define TINYRIG_QUAD_UNIT(OFF) TINYRIG_QUAD_STEP(OFF) TINYRIG_QUAD_STEP(OFF + 8)

// The entry table (one address per unit, then the pass's end) and the units of one pass.
#if TINYRIG_QUAD_PASS_UNITS == 5
#define TINYRIG_QUAD_PASS_BYTES "80"
#define TINYRIG_QUAD_PASS                                                 \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 7f + 1\n\t"       \
  "10:\n\t" TINYRIG_QUAD_UNIT(0) "11:\n\t" TINYRIG_QUAD_UNIT(16) "12:\n\t" TINYRIG_QUAD_UNIT(32) \
  "13:\n\t" TINYRIG_QUAD_UNIT(48) "14:\n\t" TINYRIG_QUAD_UNIT(64)
#else
#define TINYRIG_QUAD_PASS_BYTES "256"
#define TINYRIG_QUAD_PASS                                                 \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1\n\t" \
  ".word 18f + 1, 19f + 1, 20f + 1, 21f + 1, 22f + 1, 23f + 1, 24f + 1, 25f + 1, 7f + 1\n\t" \
  "10:\n\t" TINYRIG_QUAD_UNIT(0) "11:\n\t" TINYRIG_QUAD_UNIT(16) "12:\n\t" TINYRIG_QUAD_UNIT(32) \
  "13:\n\t" TINYRIG_QUAD_UNIT(48) "14:\n\t" TINYRIG_QUAD_UNIT(64) "15:\n\t" TINYRIG_QUAD_UNIT(80) \
  "16:\n\t" TINYRIG_QUAD_UNIT(96) "17:\n\t" TINYRIG_QUAD_UNIT(112) "18:\n\t" TINYRIG_QUAD_UNIT(128) \
  "19:\n\t" TINYRIG_QUAD_UNIT(144) "20:\n\t" TINYRIG_QUAD_UNIT(160) "21:\n\t" TINYRIG_QUAD_UNIT(176) \
  "22:\n\t" TINYRIG_QUAD_UNIT(192) "23:\n\t" TINYRIG_QUAD_UNIT(208) "24:\n\t" TINYRIG_QUAD_UNIT(224) \
  "25:\n\t" TINYRIG_QUAD_UNIT(240)
#endif

// The pass's end: both pointers on by a pass, another pass while the pixels' columns go on
// (LDR, CMP, BNE: 5 cycles and the 2 ADDs when it falls through) ...
#define TINYRIG_QUAD_PASS_END                                             \
  "add r0, r0, #" TINYRIG_QUAD_PASS_BYTES "\n\t"                          \
  "add r1, r1, #" TINYRIG_QUAD_PASS_BYTES "\n\t"                          \
  "ldr r2, [sp, #16]\n\t"                                                 \
  "cmp r0, r2\n\t"                                                        \
  "bne 10b\n\t"

// Any depth: the run's frame is the QuadRun block, its entry index turned into the unit's code
// address; a quad's first unit, then passes of kPassUnits units entered mid-pass.
// CLAMP: TINYRIG_QUAD_CLAMP or "".
#define TINYRIG_QUAD_RUN_OF(CLAMP)                                        \
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
  TINYRIG_QUAD_PASS                                                       \
  "7:\n\t"                                                                \
  TINYRIG_QUAD_PASS_END                                                   \
  TINYRIG_QUAD_EPILOGUE                                                   \
  CLAMP                                                                   \
  TINYRIG_QUAD_STORE                                                      \
  "beq 9f\n\t"                                                            \
  "2:\n\t" /* the next quad: its first unit, then the passes */          \
  TINYRIG_QUAD_FIRST_STEP                                                 \
  TINYRIG_QUAD_STEP(8)                                                    \
  "ldr r2, [sp, #20]\n\t"                                                 \
  "add r0, r0, r2\n\t"                                                    \
  "add r1, r1, r2\n\t"                                                    \
  "ldr pc, [sp, #24]\n\t" /* the entry unit */                           \
  "9:\n\t"                                                                \
  "add sp, sp, #36\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

// A depth of UNITS units (at most one pass after the first unit, the layers of kws01, vww01 and
// ic01): a quad is straight code, the first unit and UNITS - 1 more at immediate offsets, the
// epilogue and a branch back (3 cycles) where the run of any depth spends 9 on its entry (the
// frame's adjust and entry address, LDR PC) and the exit test. One function per UNITS and clamp;
// only those a model uses are linked.
#define TINYRIG_QUAD_STRAIGHT_OF(UNITS, CLAMP)                            \
  "push {r4-r11, lr}\n\t"                                                 \
  "sub sp, sp, #36\n\t"                                                   \
  "ldm r0, {r1-r10}\n\t"                                                  \
  "stm sp, {r1-r9}\n\t"                                                   \
  "mov r0, r1\n\t"                                                        \
  "mov r1, r10\n\t"                                                       \
  "2:\n\t"                                                                \
  TINYRIG_QUAD_FIRST_STEP                                                 \
  TINYRIG_QUAD_STEP(8)                                                    \
  ".set tinyrig_quad_off, 16\n\t"                                         \
  ".rept " #UNITS " - 1\n\t"                                              \
  TINYRIG_QUAD_UNIT(tinyrig_quad_off)                                     \
  ".set tinyrig_quad_off, tinyrig_quad_off + 16\n\t"                      \
  ".endr\n\t"                                                             \
  "add r1, r1, #16 * " #UNITS "\n\t" /* the quad's epilogue words */      \
  TINYRIG_QUAD_EPILOGUE                                                   \
  CLAMP                                                                   \
  TINYRIG_QUAD_STORE                                                      \
  "bne 2b\n\t"                                                            \
  "add sp, sp, #36\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

// noipa: the caller must not learn from the (opaque) bodies which registers survive. Each run is
// a function of its own, so the linker keeps only those a model's layers use.
__attribute__((naked, noipa)) void quad_run(const QuadRun*) { __asm__ volatile(TINYRIG_QUAD_RUN_OF("")); }
__attribute__((naked, noipa)) void quad_run_clamp(const QuadRun*) {
  __asm__ volatile(TINYRIG_QUAD_RUN_OF(TINYRIG_QUAD_CLAMP));
}

template <int kUnits>
struct StraightRun;
#define TINYRIG_QUAD_STRAIGHT_RUNS(U)                                                              \
  __attribute__((naked, noipa)) void quad_run_##U(const QuadRun*) {                                \
    __asm__ volatile(TINYRIG_QUAD_STRAIGHT_OF(U, ""));                                             \
  }                                                                                                \
  __attribute__((naked, noipa)) void quad_run_clamp_##U(const QuadRun*) {                          \
    __asm__ volatile(TINYRIG_QUAD_STRAIGHT_OF(U, TINYRIG_QUAD_CLAMP));                             \
  }                                                                                                \
  template <>                                                                                      \
  struct StraightRun<U> {                                                                          \
    static constexpr QuadRunFn run(bool clamp) { return clamp ? quad_run_clamp_##U : quad_run_##U; } \
  };
TINYRIG_QUAD_STRAIGHT_UNITS(TINYRIG_QUAD_STRAIGHT_RUNS)

}  // namespace

// The 2 pixels' widened columns, [step][pixel]: per 2 groups of 4 channels 4 LDR, 8 SXTB16 (in
// place, into the STM's order) and one STM of 8 (26 cycles with the loop's test, where a group a
// trip took 16); a last odd group alone. r0, r1 the pixels, r2 dst, r3 the groups (at least 1).
__attribute__((naked, noipa)) void widen2_groups(const int8_t*, const int8_t*, uint32_t*, int32_t) {
  __asm__ volatile(
      "push {r4-r11}\n\t"
      "subs r3, r3, #2\n\t"
      "blt 2f\n\t"
      "1:\n\t"
      "ldr r8, [r0], #4\n\t"
      "ldr r9, [r1], #4\n\t"
      "ldr r10, [r0], #4\n\t"
      "ldr r11, [r1], #4\n\t"
      "sxtb16 r4, r8\n\t"
      "sxtb16 r5, r9\n\t"
      "sxtb16 r6, r8, ror #8\n\t"
      "sxtb16 r7, r9, ror #8\n\t"
      "sxtb16 r8, r10\n\t"
      "sxtb16 r9, r11\n\t"
      "sxtb16 r10, r10, ror #8\n\t"
      "sxtb16 r11, r11, ror #8\n\t"
      "stm r2!, {r4-r11}\n\t"
      "subs r3, r3, #2\n\t"
      "bge 1b\n\t"
      "2:\n\t"
      "adds r3, r3, #2\n\t" /* the odd group, if any */
      "beq 3f\n\t"
      "ldr r8, [r0]\n\t"
      "ldr r9, [r1]\n\t"
      "sxtb16 r4, r8\n\t"
      "sxtb16 r5, r9\n\t"
      "sxtb16 r6, r8, ror #8\n\t"
      "sxtb16 r7, r9, ror #8\n\t"
      "stm r2, {r4-r7}\n\t"
      "3:\n\t"
      "pop {r4-r11}\n\t"
      "bx lr\n\t");
}

#else  // host model of the same run

void quad_run_model(const QuadRun* run, bool clamp) {
  quad_block_model(run, clamp, static_cast<int32_t>(run->x_end - run->x) / 2, 1, 2);  // [step][pixel]
}

void quad_run(const QuadRun* run) { quad_run_model(run, false); }
void quad_run_clamp(const QuadRun* run) { quad_run_model(run, true); }
template <int kUnits>
struct StraightRun {  // one loop for every depth
  static constexpr QuadRunFn run(bool clamp) { return clamp ? quad_run_clamp : quad_run; }
};

}  // namespace

void widen2_groups(const int8_t* a, const int8_t* b, uint32_t* d, int32_t groups) {
  for (int32_t g = 0; g < groups; ++g, a += 4, b += 4, d += 4) {
    const uint32_t wa = load_word(a), wb = load_word(b);
    d[0] = sxtb16(wa);
    d[1] = sxtb16(wb);
    d[2] = sxtb16_ror8(wa);
    d[3] = sxtb16_ror8(wb);
  }
}

#endif

// The run of a layer's clamp and depth (only the ones used are linked): its straight run where the
// units after a quad's first fit one pass of this build (kUnits: pointwise_quad.py's, 0 for deeper
// layers), else the run of any depth.
template <int kClamp, int kUnits>
QuadRunFn quad_run_of() {
  if constexpr (kUnits > 0 && kUnits - 1 <= kPassUnits) {
    return StraightRun<kUnits>::run(kClamp != 0);
  } else {
    return kClamp != 0 ? quad_run_clamp : quad_run;
  }
}

void quad_run_frame(QuadRun* run, const int32_t* stream, int32_t depth, int32_t output_c, int32_t activation_min,
                    int32_t activation_max, const uint32_t* columns) {
  const int32_t steps = depth / 2;
  run->x = columns;
  run->out = nullptr;
  run->out_c = output_c;
  run->end = stream + (output_c / 4) * (2 * steps + kQuadEpilogueWords);
  run->x_end = columns + 2 * steps;
  run->entry = quad_entry(depth / 4);
  run->adjust = 16 - 16 * run->entry;
  run->lo4 = static_cast<uint8_t>(activation_min) * 0x01010101u;
  run->hi4 = static_cast<uint8_t>(activation_max) * 0x01010101u;
  run->stream = stream;
}

namespace {

// The input pixel under output `pixel` (1x1, no padding).
inline const int8_t* pixel_source(int32_t pixel, int32_t output_w, int32_t row_bytes, int32_t column_bytes,
                                  const int8_t* input) {
  const int32_t out_y = pixel / output_w;
  return input + out_y * row_bytes + (pixel - out_y * output_w) * column_bytes;
}

// One driver for every run (the template wrapper passes its run): the pixel pairs, then a last
// odd pixel paired with itself, its outputs through scratch.
void pointwise_quad(int32_t output_h, int32_t output_w, int32_t output_c, int32_t input_w, int32_t input_c,
                    int32_t stride_h, int32_t stride_w, int32_t activation_min, int32_t activation_max,
                    const int32_t* stream, const int8_t* input, int8_t* output, int32_t* scratch,
                    QuadRunFn run_fn) {
  const int32_t steps = input_c / 2, units = input_c / 4;
  uint32_t* const columns = reinterpret_cast<uint32_t*>(scratch);  // [steps][2]
  int8_t* const partial_out = reinterpret_cast<int8_t*>(columns + 2 * steps);
  QuadRun run;
  quad_run_frame(&run, stream, input_c, output_c, activation_min, activation_max, columns);
  const int32_t pixels = output_h * output_w;
  const int32_t full = pixels - pixels % 2;
  int32_t first = 0;
  if (stride_h == 1 && stride_w == 1) {  // pixel i reads input pixel i
    for (const int8_t* src = input; first < full; first += 2, src += 2 * input_c) {
      widen2_groups(src, src + input_c, columns, units);
      run.out = output + first * output_c;
      run_fn(&run);
    }
  } else {
    const int32_t row_bytes = stride_h * input_w * input_c, column_bytes = stride_w * input_c;
    for (; first < full; first += 2) {
      widen2_groups(pixel_source(first, output_w, row_bytes, column_bytes, input),
                    pixel_source(first + 1, output_w, row_bytes, column_bytes, input), columns, units);
      run.out = output + first * output_c;
      run_fn(&run);
    }
  }
  if (first < pixels) {
    const int8_t* src = pixel_source(first, output_w, stride_h * input_w * input_c, stride_w * input_c, input);
    widen2_groups(src, src, columns, units);
    run.out = partial_out;
    run_fn(&run);
    int8_t* out = output + first * output_c;
    for (int32_t i = 0; i < output_c; i += 4) store_word(out + i, load_word(partial_out + i));
  }
}

}  // namespace

template <int kClamp, int kUnits>
void conv2d_s8(const DspPointwiseQuadParams<kClamp, kUnits>& p, const int8_t* input, int8_t* output,
               int32_t* scratch) {
  pointwise_quad(p.output_h, p.output_w, p.output_c, p.input_w, p.input_c, p.stride_h, p.stride_w,
                 p.activation_min, p.activation_max, p.stream, input, output, scratch,
                 quad_run_of<kClamp, kUnits>());
}

// Every clamp and straight depth (and 0: any depth), for this kernel and for the runs' other
// callers; the linker keeps the ones a model's layers use.
#define TINYRIG_QUAD_INSTANCES(U)                                                                         \
  template void conv2d_s8<0, U>(const DspPointwiseQuadParams<0, U>&, const int8_t*, int8_t*, int32_t*); \
  template void conv2d_s8<1, U>(const DspPointwiseQuadParams<1, U>&, const int8_t*, int8_t*, int32_t*); \
  template QuadRunFn quad_run_of<0, U>();                                                                \
  template QuadRunFn quad_run_of<1, U>();
TINYRIG_QUAD_INSTANCES(0)
TINYRIG_QUAD_STRAIGHT_UNITS(TINYRIG_QUAD_INSTANCES)

}  // namespace arm_dsp
}  // namespace tinyrig
