// tinyrig DSP-extension kernel: CONV_2D on 1-3 input channels whose window rows are whole words
// (filter_w * input_c a multiple of 4, dilation 1), in blocks of 2 output pixels x 4 filters.
//
// A window of filter_h rows of filter_w * input_c bytes is, in TFLite's (fy, fx, c) weight order,
// one pixel of depth filter_h * filter_w * input_c for a 1x1 convolution. Per pair of output
// pixels both windows are widened row by row into the [step][pixel] int16 columns the 1x1
// kernel's runs read (tinyrig_dsp_pointwise_quad.cc), straight from the input or from its
// zero-point-bordered copy, and one run sweeps every quad of filters over them: 15 cycles per
// 16 MACs where conv.cc's 3-pixel x 2-filter block takes 24 per 24. A last odd pixel runs paired
// with itself, its outputs through scratch.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_patch_quad.h"
#include "tinyrig_dsp_pointwise_quad.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

#if TINYRIG_DSP_NATIVE && defined(__thumb2__) && TINYRIG_SMALL_FLASH_ICACHE
// Two windows whose rows are one word, `row_bytes` apart, into [step][pixel] columns, a row a trip
// (2 LDR, an ADD, 4 SXTB16, one STM of 4: about 17 cycles): 44 bytes of code, so that the widening,
// the driver's loop and the 1x1 kernel's run of any depth (0.85 KB) share a 1 KB flash cache
// (the 2-row loop below left kws01's stem 12.4 K cycles of flash stalls on nucleo-l4r5zi).
// r0 a, r1 b, r2 dst, r3 row_bytes, stack: rows (at least 1).
__attribute__((naked, noipa)) void widen2_word_rows(const int8_t*, const int8_t*, uint32_t*, int32_t, int32_t) {
  __asm__ volatile(
      "push {r4-r7}\n\t"
      "ldr r12, [sp, #16]\n\t"
      "sub r1, r1, r0\n\t" /* b as an offset from a: one pointer moves */
      "1:\n\t"
      "ldr r4, [r0]\n\t"
      "ldr r5, [r0, r1]\n\t"
      "add r0, r0, r3\n\t"
      "sxtb16 r6, r4, ror #8\n\t"
      "sxtb16 r7, r5, ror #8\n\t"
      "sxtb16 r4, r4\n\t"
      "sxtb16 r5, r5\n\t"
      "stm r2!, {r4-r7}\n\t"
      "subs r12, r12, #1\n\t"
      "bne 1b\n\t"
      "pop {r4-r7}\n\t"
      "bx lr\n\t");
}
#elif TINYRIG_DSP_NATIVE && defined(__thumb2__)
// Two windows whose rows are one word (kws01's 10x4 stem on one channel), `row_bytes` apart, into
// [step][pixel] columns: per 2 rows 4 LDR at register offsets (b - a, row_bytes, both), one ADD,
// 8 SXTB16 and one STM of 8 (about 27 cycles); a last odd row alone. The windows need not be
// word-aligned (single LDRs). r0 a, r1 b, r2 dst, r3 row_bytes, stack: rows (at least 1).
__attribute__((naked, noipa)) void widen2_word_rows(const int8_t*, const int8_t*, uint32_t*, int32_t, int32_t) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr r12, [sp, #36]\n\t"
      "sub r1, r1, r0\n\t"   /* b as an offset from a: one pointer moves */
      "add lr, r1, r3\n\t"   /* b's next row */
      "subs r12, r12, #2\n\t"
      "blt 2f\n\t"
      "1:\n\t"
      "ldr r4, [r0]\n\t"
      "ldr r5, [r0, r1]\n\t"
      "ldr r8, [r0, r3]\n\t"
      "ldr r9, [r0, lr]\n\t"
      "add r0, r0, r3, lsl #1\n\t"
      "sxtb16 r6, r4, ror #8\n\t"
      "sxtb16 r7, r5, ror #8\n\t"
      "sxtb16 r4, r4\n\t"
      "sxtb16 r5, r5\n\t"
      "sxtb16 r10, r8, ror #8\n\t"
      "sxtb16 r11, r9, ror #8\n\t"
      "sxtb16 r8, r8\n\t"
      "sxtb16 r9, r9\n\t"
      "stm r2!, {r4-r11}\n\t"
      "subs r12, r12, #2\n\t"
      "bge 1b\n\t"
      "2:\n\t"
      "adds r12, r12, #2\n\t" /* the odd row, if any */
      "beq 3f\n\t"
      "ldr r4, [r0]\n\t"
      "ldr r5, [r0, r1]\n\t"
      "sxtb16 r6, r4, ror #8\n\t"
      "sxtb16 r7, r5, ror #8\n\t"
      "sxtb16 r4, r4\n\t"
      "sxtb16 r5, r5\n\t"
      "stm r2, {r4-r7}\n\t"
      "3:\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
void widen2_word_rows(const int8_t* a, const int8_t* b, uint32_t* dst, int32_t row_bytes, int32_t rows) {
  for (int32_t row = 0; row < rows; ++row, a += row_bytes, b += row_bytes, dst += 4) widen2_groups(a, b, dst, 1);
}
#endif

// Both windows (rows of `groups` words, `row_bytes` apart) into the run's columns.
inline void widen2_windows(const int8_t* a, const int8_t* b, uint32_t* dst, int32_t row_bytes, int32_t rows,
                           int32_t groups) {
  if (groups == 1) {
    widen2_word_rows(a, b, dst, row_bytes, rows);
    return;
  }
  for (int32_t row = 0; row < rows; ++row, a += row_bytes, b += row_bytes, dst += 4 * groups) {
    widen2_groups(a, b, dst, groups);
  }
}

// The input copied into `padded` (padded_h x padded_w pixels) with a border of the input zero
// point, the image at (pad_top, pad_left): conv.cc's bordered copy, so every window is inside.
void pad_input(const Window2D& w, int32_t zero_point, int32_t padded_h, int32_t padded_w, const int8_t* input,
               int8_t* padded) {
  const int32_t c = w.input_c, row = padded_w * c;
  std::memset(padded, zero_point, static_cast<size_t>(padded_h * row));
  for (int32_t y = 0; y < w.input_h; ++y) {
    std::memcpy(padded + (w.pad_top + y) * row + w.pad_left * c, input + y * w.input_w * c,
                static_cast<size_t>(w.input_w * c));
  }
}

void patch_quad(const Window2D& w, int32_t input_zero_point, int32_t padded_h, int32_t padded_w, int32_t depth,
                int32_t activation_min, int32_t activation_max, const int32_t* stream, const int8_t* input,
                int8_t* output, int32_t* scratch, QuadRunFn run_fn) {
  const int32_t c = w.input_c, out_c = w.output_c;
  // Scratch (patch_quad.py's order): the columns, a last odd pixel's outputs (both pixels'
  // written), the bordered copy.
  uint32_t* const columns = reinterpret_cast<uint32_t*>(scratch);  // [depth / 2][2]
  int8_t* const partial_out = reinterpret_cast<int8_t*>(columns + depth);
  const int8_t* image = input;
  int32_t image_w = w.input_w;
  if (padded_h > 0) {
    int8_t* const padded = partial_out + ((2 * out_c + 3) & ~3);
    pad_input(w, input_zero_point, padded_h, padded_w, input, padded);
    image = padded;
    image_w = padded_w;
  }
  QuadRun run;
  quad_run_frame(&run, stream, depth, out_c, activation_min, activation_max, columns);
  const int32_t row_bytes = image_w * c, groups = w.filter_w * c / 4;
  const int32_t x_step = w.stride_w * c, y_step = w.stride_h * row_bytes;
  // The windows' origins walked along the output rows.
  const int8_t* row = image;
  int32_t out_x = 0;
  auto next_origin = [&]() {
    const int8_t* origin = row + out_x * x_step;
    if (++out_x == w.output_w) out_x = 0, row += y_step;
    return origin;
  };
  const int32_t pixels = w.output_h * w.output_w;
  int32_t first = 0;
  for (const int32_t full = pixels - pixels % 2; first < full; first += 2) {
    const int8_t* a = next_origin();
    const int8_t* b = next_origin();
    widen2_windows(a, b, columns, row_bytes, w.filter_h, groups);
    run.out = output + first * out_c;
    run_fn(&run);
  }
  if (first < pixels) {
    const int8_t* a = next_origin();
    widen2_windows(a, a, columns, row_bytes, w.filter_h, groups);
    run.out = partial_out;
    run_fn(&run);
    std::memcpy(output + first * out_c, partial_out, static_cast<size_t>(out_c));
  }
}

}  // namespace

template <int kClamp, int kUnits>
void conv2d_s8(const DspPatchQuadParams<kClamp, kUnits>& p, const int8_t* input, int8_t* output,
               int32_t* scratch) {
  patch_quad(p.window, p.input_zero_point, p.padded_h, p.padded_w, p.depth, p.activation_min, p.activation_max,
             p.stream, input, output, scratch, quad_run_of<kClamp, kUnits>());
}

// Every clamp and straight depth (and 0: any depth); the linker keeps the ones a model's layers use.
#define TINYRIG_PATCH_QUAD_INSTANCES(U)                                                               \
  template void conv2d_s8<0, U>(const DspPatchQuadParams<0, U>&, const int8_t*, int8_t*, int32_t*); \
  template void conv2d_s8<1, U>(const DspPatchQuadParams<1, U>&, const int8_t*, int8_t*, int32_t*);
TINYRIG_PATCH_QUAD_INSTANCES(0)
TINYRIG_QUAD_STRAIGHT_UNITS(TINYRIG_PATCH_QUAD_INSTANCES)

}  // namespace arm_dsp
}  // namespace tinyrig
