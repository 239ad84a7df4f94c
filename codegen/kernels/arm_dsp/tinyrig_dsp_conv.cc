// tinyrig DSP-extension kernel: CONV_2D (int8), as a matrix product in 3x2 blocks.
//
// For each run of 3 output pixels the kernel builds their 3 input columns once,
// widened to int16 pairs and interleaved [step][pixel] for the block's LDM, and
// then sweeps all filters two at a time over their int8 weights. A 1x1 convolution
// without padding reads each column straight from the input pixel (no im2col); any
// other shape gathers the filter window first, taps outside the image reading the
// input zero point (the value the host-folded bias expects, as in the reference kernel).
// Every full filter pair runs in one assembly call that also requantises, clamps and
// stores (conv_run below); a last partial run of pixels runs it too, its missing pixels
// zero columns whose outputs land in scratch; a last odd filter is computed in C. The common runs (3x3 windows on
// 3 channels read in place, 1x1 at stride 1) go straight to the widening and the run
// without the general per-run C. 1x1 on 8 input channels has its own kernel
// (tinyrig_dsp_pointwise8.cc). 2-D filters on whole groups of 4
// channels take the band path instead of im2col (DspConvRowsParams, the band path below): per
// output row the filter_h input rows are widened once into a band laid [x][fy][c], where
// each pixel's window is consecutive words, and a copy of the same run reads the 3 pixels in
// place, their windows a fixed number of bytes apart (immediates).
#include "tinyrig_dsp_band.h"
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_conv.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kPixels = 3;
// Units of 2 steps per pass of the assembly run (conv_run). 16 make the pass's end test
// cheap (1.6% of a unit's cycles) but the run 1.5 KB of code; a core fetching from flash
// through a small instruction cache (TINYRIG_FLASH_ICACHE_BYTES, set by the firmware build
// from the board's [timing]) gets 8, so that the run stays in the cache: with 16, every pass
// refetches it from flash (nucleo-l4r5zi at 5 wait states, 1 KB cache: kws01 66.6 ms with 16,
// 38.9 ms with 8, which cost 1% more cycles at zero wait states).
#if TINYRIG_SMALL_FLASH_ICACHE
#define TINYRIG_CONV_PASS_UNITS 8
#else
#define TINYRIG_CONV_PASS_UNITS 16
#endif
constexpr int32_t kPassUnits = TINYRIG_CONV_PASS_UNITS;
// The band runs' passes (TINYRIG_BAND_PASS_OF): 18 units, 9 under a small flash cache.
constexpr int32_t kBandPassUnits = TINYRIG_CONV_PASS_UNITS == 8 ? 9 : 18;

// The band path's pixel steps in bytes (conv.py BAND_PIXEL_BYTES): one assembly run each.
#define TINYRIG_BAND_PIXEL_BYTES(X) X(40) X(48) X(96) X(144) X(192) X(288) X(384) X(576) X(768) X(1152) X(1536)

inline void store_word(void* p, uint32_t v) { std::memcpy(p, &v, sizeof(v)); }

// GCC turns these short loops into memcpy/memset calls, which cost far more than
// the loops for the few bytes of a window row.
#if defined(__GNUC__) && !defined(__clang__)
#define TINYRIG_INLINE_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TINYRIG_INLINE_LOOPS
#endif

// n bytes from src to dst, a word at a time (both may be unaligned: LDR/STR allow it).
TINYRIG_INLINE_LOOPS inline void copy_bytes(int8_t* dst, const int8_t* src, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) store_word(dst + i, load_word(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

TINYRIG_INLINE_LOOPS inline void fill_bytes(int8_t* dst, uint32_t value4, int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) store_word(dst + i, value4);
  for (; i < n; ++i) dst[i] = static_cast<int8_t>(value4);
}

// The filter window of `pixel` as int8 bytes [fy][fx][channel], taps outside the
// image holding the input zero point. With dilation_w 1 a row of the window is one
// strip: padding on the left, the part inside the image, padding on the right.
TINYRIG_INLINE_LOOPS void gather_window(const DspConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* column) {
  const int32_t out_y = pixel / p.window.output_w;
  const int32_t out_x = pixel - out_y * p.window.output_w;
  const int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  const int32_t x0 = out_x * p.window.stride_w - p.window.pad_left;
  const uint32_t pad4 = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  const int32_t c = p.window.input_c;
  const int32_t strip = p.window.filter_w * c;
  if (p.window.dilation_w == 1) {
    int32_t xs = -x0, xe = p.window.input_w - x0;  // the window's columns inside the image: [xs, xe)
    xs = xs < 0 ? 0 : (xs > p.window.filter_w ? p.window.filter_w : xs);
    xe = xe > p.window.filter_w ? p.window.filter_w : (xe < xs ? xs : xe);
    for (int32_t fy = 0; fy < p.window.filter_h; ++fy, column += strip) {
      const int32_t y = y0 + fy * p.window.dilation_h;
      if (y < 0 || y >= p.window.input_h) {
        fill_bytes(column, pad4, strip);
        continue;
      }
      fill_bytes(column, pad4, xs * c);
      copy_bytes(column + xs * c, input + (y * p.window.input_w + x0 + xs) * c, (xe - xs) * c);
      fill_bytes(column + xe * c, pad4, (p.window.filter_w - xe) * c);
    }
    return;
  }
  for (int32_t fy = 0; fy < p.window.filter_h; ++fy) {
    const int32_t y = y0 + fy * p.window.dilation_h;
    for (int32_t fx = 0; fx < p.window.filter_w; ++fx, column += c) {
      const int32_t x = x0 + fx * p.window.dilation_w;
      if (y >= 0 && y < p.window.input_h && x >= 0 && x < p.window.input_w) {
        copy_bytes(column, input + (y * p.window.input_w + x) * c, c);
      } else {
        fill_bytes(column, pad4, c);
      }
    }
  }
}

// Widens `rows` strips of `strip` bytes (a multiple of 4), `row_bytes` apart, into
// dst (one word every kPixels words), then zero steps up to `steps`.
inline void widen_strips(const int8_t* src, int32_t rows, int32_t strip, int32_t row_bytes, int32_t steps,
                         uint32_t* dst) {
  uint32_t* d = dst;
  if (strip == 4) {  // one word per row (e.g. a 4-wide filter on one channel)
    for (int32_t r = 0; r < rows; ++r, src += row_bytes, d += 2 * kPixels) {
      const uint32_t word = load_word(src);
      d[0] = sxtb16(word);
      d[kPixels] = sxtb16_ror8(word);
    }
    for (int32_t step = 2 * rows; step < steps; ++step) dst[step * kPixels] = 0;
    return;
  }
  for (int32_t r = 0; r < rows; ++r, src += row_bytes) {
    const int8_t* s = src;
    for (int32_t i = 0; i < strip; i += 4, s += 4, d += 2 * kPixels) {
      const uint32_t word = load_word(s);
      d[0] = sxtb16(word);
      d[kPixels] = sxtb16_ror8(word);
    }
  }
  for (int32_t step = rows * strip / 2; step < steps; ++step) dst[step * kPixels] = 0;
}

// Builds pixel's widened column at dst (one word every kPixels words, zero steps up to
// `steps`). A window wholly inside the image (or any window of the zero-point-bordered
// copy, when there is one) is read as filter_h strips of filter_w * input_c bytes
// (dilation_w 1): widened straight from the image when a strip is a whole number of
// 4-byte groups, else copied into `window` first. Other windows go through gather_window.
TINYRIG_INLINE_LOOPS void build_column(const DspConv2DParams& p, const int8_t* input, int32_t pixel, int32_t steps,
                                       uint32_t* dst, int8_t* window) {
  const int32_t out_y = pixel / p.window.output_w;
  const int32_t out_x = pixel - out_y * p.window.output_w;
  int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  int32_t x0 = out_x * p.window.stride_w - p.window.pad_left;
  int32_t image_w = p.window.input_w;
  if (p.padded_h > 0) {  // input is the bordered copy
    y0 += p.window.pad_top;
    x0 += p.window.pad_left;
    image_w = p.padded_w;
  } else {
    const bool inside = y0 >= 0 && y0 + (p.window.filter_h - 1) * p.window.dilation_h < p.window.input_h && x0 >= 0 &&
                        x0 + p.window.filter_w - 1 < p.window.input_w && p.window.dilation_w == 1;
    if (!inside) {
      gather_window(p, input, pixel, window);
      widen(window, p.depth_padded, steps, kPixels, dst);  // the window's tail stays zero
      return;
    }
  }
  const int32_t strip = p.window.filter_w * p.window.input_c;
  const int8_t* src = input + (y0 * image_w + x0) * p.window.input_c;
  const int32_t row_bytes = p.window.dilation_h * image_w * p.window.input_c;
  if ((strip & 3) == 0) {
    widen_strips(src, p.window.filter_h, strip, row_bytes, steps, dst);
    return;
  }
  // Rows but the last are copied in whole words, spilling up to 3 bytes into the
  // next row's place (overwritten next); the last row exactly, so the window's zero
  // tail (depth..depth_padded) stays.
  int8_t* column = window;
  const int32_t words = (strip + 3) / 4;
  for (int32_t fy = 0; fy + 1 < p.window.filter_h; ++fy, src += row_bytes, column += strip) {
    for (int32_t i = 0; i < words; ++i) store_word(column + 4 * i, load_word(src + 4 * i));
  }
  copy_bytes(column, src, strip);
  widen(window, p.depth_padded, steps, kPixels, dst);
}

// Copies the input into `padded` with a border of the input zero point.
TINYRIG_INLINE_LOOPS void pad_image(const DspConv2DParams& p, const int8_t* input, int8_t* padded) {
  const uint32_t pad4 = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  const int32_t c = p.window.input_c;
  const int32_t row = p.padded_w * c;
  fill_bytes(padded, pad4, p.window.pad_top * row);
  int8_t* d = padded + p.window.pad_top * row;
  for (int32_t y = 0; y < p.window.input_h; ++y, d += row) {
    fill_bytes(d, pad4, p.window.pad_left * c);
    copy_bytes(d + p.window.pad_left * c, input + y * p.window.input_w * c, p.window.input_w * c);
    fill_bytes(d + (p.window.pad_left + p.window.input_w) * c, pad4,
        (p.padded_w - p.window.pad_left - p.window.input_w) * c);
  }
  fill_bytes(d, pad4, (p.padded_h - p.window.pad_top - p.window.input_h) * row);
}

// The 3 pixels' columns of a 1x1 convolution at once (depth a multiple of 4): per
// group of 4 channels the 6 words of 2 steps are adjacent, [step][pixel].
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
// r0-r2 the pixels, r3 dst, 5th argument (stack) the groups: 3 LDR, 6 SXTB16, one STM.
__attribute__((naked, noipa)) void widen3_groups(const int8_t*, const int8_t*, const int8_t*, uint32_t*,
                                                 int32_t) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr lr, [sp, #36]\n\t"
      "1:\n\t"
      "ldr r4, [r0], #4\n\t"
      "ldr r5, [r1], #4\n\t"
      "ldr r12, [r2], #4\n\t"
      "sxtb16 r6, r4\n\t"
      "sxtb16 r7, r5\n\t"
      "sxtb16 r8, r12\n\t"
      "sxtb16 r9, r4, ror #8\n\t"
      "sxtb16 r10, r5, ror #8\n\t"
      "sxtb16 r11, r12, ror #8\n\t"
      "stm r3!, {r6-r11}\n\t"
      "subs lr, lr, #1\n\t"
      "bne 1b\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
void widen3_groups(const int8_t* a, const int8_t* b, const int8_t* c, uint32_t* d, int32_t groups) {
  for (int32_t g = 0; g < groups; ++g, a += 4, b += 4, c += 4, d += 6) {
    const uint32_t wa = load_word(a), wb = load_word(b), wc = load_word(c);
    d[0] = sxtb16(wa);
    d[1] = sxtb16(wb);
    d[2] = sxtb16(wc);
    d[3] = sxtb16_ror8(wa);
    d[4] = sxtb16_ror8(wb);
    d[5] = sxtb16_ror8(wc);
  }
}
#endif

// The 3 pixels' columns of windows whose rows are one 4-byte group (kws01's 10x4 stem on one
// channel), read in place `row_bytes` apart (the image or the bordered copy): per row 3 LDR,
// an ADD, 6 SXTB16 and one STM 6, all rows in one call (a call per row cost more than the rows).
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
// r0-r2 the windows, r3 dst, stack: row_bytes, rows.
__attribute__((naked, noipa)) void widen3_rows(const int8_t*, const int8_t*, const int8_t*, uint32_t*, int32_t,
                                               int32_t) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldrd lr, r12, [sp, #36]\n\t"
      "sub r1, r1, r0\n\t" /* b and c as offsets from a: one pointer moves */
      "sub r2, r2, r0\n\t"
      "1:\n\t"
      "ldr r11, [r0, r1]\n\t"
      "ldr r9, [r0, r2]\n\t"
      "ldr r10, [r0]\n\t"
      "add r0, r0, lr\n\t"
      "sxtb16 r4, r10\n\t"
      "sxtb16 r5, r11\n\t"
      "sxtb16 r6, r9\n\t"
      "sxtb16 r7, r10, ror #8\n\t"
      "sxtb16 r8, r11, ror #8\n\t"
      "sxtb16 r9, r9, ror #8\n\t"
      "stm r3!, {r4-r9}\n\t"
      "subs r12, r12, #1\n\t"
      "bne 1b\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
void widen3_rows(const int8_t* a, const int8_t* b, const int8_t* c, uint32_t* d, int32_t row_bytes, int32_t rows) {
  for (int32_t row = 0, at = 0; row < rows; ++row, at += row_bytes) widen3_groups(a + at, b + at, c + at, d + 6 * row, 1);
}
#endif

inline void widen3(const int8_t* a, const int8_t* b, const int8_t* c, int32_t depth, int32_t steps, uint32_t* dst) {
  if (depth >= 4) widen3_groups(a, b, c, dst, depth / 4);
  uint32_t* d = dst + 3 * (depth / 2);
  for (int32_t step = depth / 2; step < steps; ++step, d += 3) d[0] = d[1] = d[2] = 0;
}

// The first byte of the window of output (out_y, out_x) when it lies inside the image (or
// the bordered copy, when there is one; dilation_w 1), else nullptr. Out of line: inlined into
// its callers it cost ic01, vww01 and kws01 about 500 B of flash for no fewer cycles.
__attribute__((noinline)) const int8_t* window_origin(const DspConv2DParams& p, const int8_t* input, int32_t out_y,
                                                      int32_t out_x) {
  const bool bordered = p.padded_h > 0;  // input is then the zero-point-bordered copy
  const int32_t image_h = bordered ? p.padded_h : p.window.input_h, image_w = bordered ? p.padded_w : p.window.input_w;
  const int32_t y0 = out_y * p.window.stride_h - (bordered ? 0 : p.window.pad_top);
  const int32_t x0 = out_x * p.window.stride_w - (bordered ? 0 : p.window.pad_left);
  if (y0 < 0 || y0 + (p.window.filter_h - 1) * p.window.dilation_h >= image_h || x0 < 0 ||
      x0 + p.window.filter_w > image_w) {
    return nullptr;
  }
  return input + (y0 * image_w + x0) * p.window.input_c;
}

// window_origin of a pixel index.
inline const int8_t* window_inside(const DspConv2DParams& p, const int8_t* input, int32_t pixel) {
  const int32_t out_y = pixel / p.window.output_w;
  return window_origin(p, input, out_y, pixel - out_y * p.window.output_w);
}

// Copies the window of output (out_y, out_x) into `window` when it lies inside the
// image or the bordered copy (dilation_w 1): rows but the last in whole words
// (spilling up to 3 bytes into the next row's place), the last exactly, so the zero
// tail stays. False when it touches padding.
TINYRIG_INLINE_LOOPS bool copy_window_inside(const DspConv2DParams& p, const int8_t* input, int32_t out_y,
                                             int32_t out_x, int8_t* window) {
  const int8_t* src = window_origin(p, input, out_y, out_x);
  if (src == nullptr) return false;
  const int32_t image_w = p.padded_h > 0 ? p.padded_w : p.window.input_w;
  const int32_t strip = p.window.filter_w * p.window.input_c;
  const int32_t row_bytes = p.window.dilation_h * image_w * p.window.input_c;
  const int32_t words = (strip + 3) / 4;
  int8_t* column = window;
  for (int32_t fy = 0; fy + 1 < p.window.filter_h; ++fy, src += row_bytes, column += strip) {
    if (words <= 3) {  // the usual small strips (e.g. 3x3 on 3 channels) without a loop
      store_word(column, load_word(src));
      if (words > 1) store_word(column + 4, load_word(src + 4));
      if (words > 2) store_word(column + 8, load_word(src + 8));
    } else {
      for (int32_t i = 0; i < words; ++i) store_word(column + 4 * i, load_word(src + 4 * i));
    }
  }
  copy_bytes(column, src, strip);
  return true;
}

// Up to 3 words from src to dst, without a loop.
inline void copy_words3(int8_t* dst, const int8_t* src, int32_t words) {
  if (words > 0) store_word(dst, load_word(src));
  if (words > 1) store_word(dst + 4, load_word(src + 4));
  if (words > 2) store_word(dst + 8, load_word(src + 8));
}

// The windows of 3 neighbouring outputs of one row, each rows of at most 12 bytes,
// when all lie inside the image (or the bordered copy): rows but the last in whole
// words (spilling into the next row's place), the last exactly. False otherwise.
bool copy3_windows(const DspConv2DParams& p, const int8_t* input, int32_t out_y, int32_t out_x,
                   int8_t* const* windows) {
  const int32_t strip = p.window.filter_w * p.window.input_c;
  if (out_x + 2 >= p.window.output_w || strip > 12) return false;
  const bool bordered = p.padded_h > 0;  // input is then the zero-point-bordered copy
  const int32_t image_h = bordered ? p.padded_h : p.window.input_h, image_w = bordered ? p.padded_w : p.window.input_w;
  const int32_t y0 = out_y * p.window.stride_h - (bordered ? 0 : p.window.pad_top);
  const int32_t x0 = out_x * p.window.stride_w - (bordered ? 0 : p.window.pad_left);
  if (y0 < 0 || y0 + (p.window.filter_h - 1) * p.window.dilation_h >= image_h || x0 < 0 ||
      x0 + 2 * p.window.stride_w + p.window.filter_w > image_w) {
    return false;
  }
  const int32_t row_bytes = p.window.dilation_h * image_w * p.window.input_c;
  const int32_t step = p.window.stride_w * p.window.input_c;
  const int32_t words = (strip + 3) / 4, last_words = strip / 4, last_bytes = strip & 3;
  const int8_t* first = input + (y0 * image_w + x0) * p.window.input_c;
  for (int32_t w = 0; w < kPixels; ++w) {
    const int8_t* src = first + w * step;
    int8_t* column = windows[w];
    for (int32_t fy = 0; fy + 1 < p.window.filter_h; ++fy, src += row_bytes, column += strip) {
      copy_words3(column, src, words);
    }
    copy_words3(column, src, last_words);
    column += 4 * last_words;
    src += 4 * last_words;
    if (last_bytes > 0) column[0] = src[0];
    if (last_bytes > 1) column[1] = src[1];
    if (last_bytes > 2) column[2] = src[2];
  }
  return true;
}

// The column of a 3x3 window on 3 channels read straight from its rows (`src`, rows
// `row_bytes` apart), in conv.py RGB3X3_ORDER, widened to dst (one word every
// kPixels words): the words at bytes 0 and 4 of each row, then (r0[8], r1[8]) and
// (r2[8], -) from the words at byte 8 of the rows. Reads up to 3 bytes past each row.
inline void widen_rgb3x3(const int8_t* src, int32_t row_bytes, uint32_t* dst) {
  const int8_t* r1 = src + row_bytes;
  const int8_t* r2 = r1 + row_bytes;
  const uint32_t w[6] = {load_word(src), load_word(src + 4), load_word(r1), load_word(r1 + 4), load_word(r2),
                         load_word(r2 + 4)};
  for (int32_t i = 0; i < 6; ++i) {
    dst[2 * i * kPixels] = sxtb16(w[i]);
    dst[(2 * i + 1) * kPixels] = sxtb16_ror8(w[i]);
  }
  dst[12 * kPixels] = sxtb16((load_word(src + 8) & 0xFFFFu) | (load_word(r1 + 8) << 16));
  dst[13 * kPixels] = sxtb16(load_word(r2 + 8));
}

// widen_rgb3x3 for 3 windows with the same row spacing at once, [step][pixel]: per
// column word 3 LDR, 6 SXTB16 and one STM; the last two steps (bytes 8 of the rows)
// first, stored 12 steps on.
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
#define TINYRIG_RGB_GROUP(OFF)                                                        \
  "ldr r4, [r0, #" #OFF "]\n\t"                                                       \
  "ldr r5, [r1, #" #OFF "]\n\t"                                                       \
  "ldr r6, [r2, #" #OFF "]\n\t"                                                       \
  "sxtb16 r7, r4\n\t"                                                                 \
  "sxtb16 r8, r5\n\t"                                                                 \
  "sxtb16 r9, r6\n\t"                                                                 \
  "sxtb16 r10, r4, ror #8\n\t"                                                        \
  "sxtb16 r11, r5, ror #8\n\t"                                                        \
  "sxtb16 r12, r6, ror #8\n\t"                                                        \
  "stm r3!, {r7-r12}\n\t"
#define TINYRIG_RGB_NEXT_ROW "add r0, r0, lr\n\tadd r1, r1, lr\n\tadd r2, r2, lr\n\t"
#define TINYRIG_RGB_PREV_ROWS                                                         \
  "sub r0, r0, lr, lsl #1\n\tsub r1, r1, lr, lsl #1\n\tsub r2, r2, lr, lsl #1\n\t"
// r0-r2 the windows' first bytes, r3 dst, 5th argument (stack) the row spacing.
__attribute__((naked, noipa)) void widen3_rgb3x3(const int8_t*, const int8_t*, const int8_t*, uint32_t*,
                                                 int32_t) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr lr, [sp, #36]\n\t"
      "ldr r4, [r0, #8]\n\t"
      "ldr r5, [r1, #8]\n\t"
      "ldr r6, [r2, #8]\n\t"
      TINYRIG_RGB_NEXT_ROW
      "ldr r7, [r0, #8]\n\t"
      "ldr r8, [r1, #8]\n\t"
      "ldr r9, [r2, #8]\n\t"
      "pkhbt r4, r4, r7, lsl #16\n\t"
      "pkhbt r5, r5, r8, lsl #16\n\t"
      "pkhbt r6, r6, r9, lsl #16\n\t"
      TINYRIG_RGB_NEXT_ROW
      "ldr r7, [r0, #8]\n\t"
      "ldr r8, [r1, #8]\n\t"
      "ldr r9, [r2, #8]\n\t"
      "sxtb16 r4, r4\n\t"
      "sxtb16 r5, r5\n\t"
      "sxtb16 r6, r6\n\t"
      "sxtb16 r7, r7\n\t"
      "sxtb16 r8, r8\n\t"
      "sxtb16 r9, r9\n\t"
      "add r10, r3, #" "144" "\n\t"  /* 12 steps x 3 pixels x 4 bytes */
      "stm r10, {r4-r9}\n\t"
      TINYRIG_RGB_PREV_ROWS
      TINYRIG_RGB_GROUP(0) TINYRIG_RGB_GROUP(4)
      TINYRIG_RGB_NEXT_ROW
      TINYRIG_RGB_GROUP(0) TINYRIG_RGB_GROUP(4)
      TINYRIG_RGB_NEXT_ROW
      TINYRIG_RGB_GROUP(0) TINYRIG_RGB_GROUP(4)
      "pop {r4-r11, pc}\n\t");
}
#else
void widen3_rgb3x3(const int8_t* a, const int8_t* b, const int8_t* c, uint32_t* dst, int32_t row_bytes) {
  widen_rgb3x3(a, row_bytes, dst);
  widen_rgb3x3(b, row_bytes, dst + 1);
  widen_rgb3x3(c, row_bytes, dst + 2);
}
#endif

// The 3 columns of a run of pixels for rgb3x3. Three neighbouring windows of one
// output row inside the image (or the bordered copy), readable 3 bytes on, are read
// in place together; otherwise window by window, those touching padding gathered
// into `windows` first. Missing pixels (past `valid`) repeat the first.
TINYRIG_INLINE_LOOPS void columns_rgb3x3(const DspConv2DParams& p, const int8_t* input, int32_t first, int32_t valid,
                                         int8_t* const* windows, uint32_t* columns) {
  const bool bordered = p.padded_h > 0;
  const int32_t image_h = bordered ? p.padded_h : p.window.input_h, image_w = bordered ? p.padded_w : p.window.input_w;
  const int32_t row_bytes = p.window.dilation_h * image_w * 3;
  const int32_t end = image_h * image_w * 3 + (bordered ? 3 : 0);  // bytes readable from input
  int32_t out_y = first / p.window.output_w;
  int32_t out_x = first - out_y * p.window.output_w;
  const int32_t y0 = out_y * p.window.stride_h - (bordered ? 0 : p.window.pad_top);
  const int32_t x0 = out_x * p.window.stride_w - (bordered ? 0 : p.window.pad_left);
  const bool rows_inside = y0 >= 0 && y0 + 2 * p.window.dilation_h < image_h;
  if (valid == kPixels && rows_inside && out_x + 2 < p.window.output_w && x0 >= 0 &&
      x0 + 2 * p.window.stride_w + 3 <= image_w) {
    const int32_t offset = (y0 * image_w + x0) * 3, step = p.window.stride_w * 3;
    if (offset + 2 * step + 2 * row_bytes + 12 <= end) {
      widen3_rgb3x3(input + offset, input + offset + step, input + offset + 2 * step, columns, row_bytes);
      return;
    }
  }
  for (int32_t slot = 0; slot < kPixels; ++slot) {
    if (slot >= valid) {
      widen_rgb3x3(windows[0], 9, columns + slot);  // dropped outputs: any column will do
      continue;
    }
    const int32_t y = out_y * p.window.stride_h - (bordered ? 0 : p.window.pad_top);
    const int32_t x = out_x * p.window.stride_w - (bordered ? 0 : p.window.pad_left);
    const int32_t offset = (y * image_w + x) * 3;
    if (y >= 0 && y + 2 * p.window.dilation_h < image_h && x >= 0 && x + 3 <= image_w &&
        offset + 2 * row_bytes + 12 <= end) {
      widen_rgb3x3(input + offset, row_bytes, columns + slot);
    } else {
      gather_window(p, input, out_y * p.window.output_w + out_x, windows[slot]);
      widen_rgb3x3(windows[slot], 9, columns + slot);
    }
    if (++out_x == p.window.output_w) out_x = 0, ++out_y;
  }
}

const int8_t* pointwise_source(const DspConv2DParams& p, const int8_t* input, int32_t pixel) {
  const int32_t out_y = pixel / p.window.output_w;
  const int32_t out_x = pixel - out_y * p.window.output_w;
  return input + (out_y * p.window.stride_h * p.window.input_w + out_x * p.window.stride_w) * p.window.input_c;
}

// Filter pair accumulators for a run of 3 pixels in C (the host, and on the target a
// last odd filter): `pair` points at the pair's stream (conv.py: the int8 step words, then
// the epilogue words). acc[2 * pixel] is filter a's half-scaled sum without its bias;
// acc[2 * pixel + 1] is the raw-word accumulator, from which pair_second_filter recovers
// filter b's.
// Pixel k's step s is x[s * step_words + k * pixel_words]: the interleaved columns by default,
// a band's windows in place with (1, pixel bytes / 4).
void pair_accumulate(const uint32_t* x, const int32_t* pair, int32_t steps, int32_t* acc,
                     int32_t step_words = kPixels, int32_t pixel_words = 1) {
  for (int32_t i = 0; i < 2 * kPixels; ++i) acc[i] = 0;
  const int32_t* w = pair;
  for (int32_t step = 0; step < steps; ++step, x += step_words) {
    const uint32_t word = static_cast<uint32_t>(w[step]);
    const uint32_t wa = sxtb16(word);
    for (int32_t pixel = 0; pixel < kPixels; ++pixel) {
      acc[2 * pixel] = smlad(x[pixel * pixel_words], wa, acc[2 * pixel]);
      acc[2 * pixel + 1] = smlad(x[pixel * pixel_words], word, acc[2 * pixel + 1]);
    }
  }
}

// Filter b's doubled accumulator from the raw-word one: raw - a = 256 * (b's sum), exact
// in int32 (conv.py checks the bound), plus b's doubled bias.
inline int32_t pair_second_filter(int32_t raw, int32_t a, int32_t doubled_bias_b) {
  const int32_t diff = static_cast<int32_t>(static_cast<uint32_t>(raw) - static_cast<uint32_t>(a));
  return static_cast<int32_t>(static_cast<uint32_t>(doubled_bias_b) + static_cast<uint32_t>(diff >> 7));
}

// Filter b's requantisation from its doubled accumulator (requantize_doubled without the doubling).
inline int32_t requantize_scaled(int32_t acc, int32_t multiplier, int32_t rounding, int32_t shift) {
  int32_t y = smmlar(acc, multiplier, rounding);
  y += acc >> 31;
  return ssat8(y >> shift);
}

// The 3-instruction requantisation of a doubled accumulator (fused_epilogue.three_instruction_exact):
// SMMULR by M, SMMLAR by F = 2^(32 - e) + 1 adding the output zero point, SSAT.
inline int32_t requantize_rq3(int32_t acc, int32_t multiplier, int32_t factor, int32_t zero_point) {
  return ssat8(smmlar(smmlar(acc, multiplier, 0), factor, zero_point));
}

// The pair's two outputs for pixel `pixel` from pair_accumulate's acc; epi = the pair's
// epilogue words: 2 * bias_a, M_a, r_a, M_b, r_b, e_a | e_b << 8, 2 * bias_b, or with rq3
// (conv.py _pair_epilogue) 2 * bias_a, M_a, F_a, M_b, F_b, output zero point, 2 * bias_b.
inline void pair_outputs(const int32_t* acc, int32_t pixel, const int32_t* epi, int32_t* ya, int32_t* yb,
                         bool rq3) {
  const int32_t a = static_cast<int32_t>(static_cast<uint32_t>(epi[0]) + 2u * static_cast<uint32_t>(acc[2 * pixel]));
  const int32_t b = pair_second_filter(acc[2 * pixel + 1], acc[2 * pixel], epi[6]);
  if (rq3) {
    *ya = requantize_rq3(a, epi[1], epi[2], epi[5]);
    *yb = requantize_rq3(b, epi[3], epi[4], epi[5]);
  } else {
    *ya = requantize_scaled(a, epi[1], epi[2], epi[5] & 0xFF);
    *yb = requantize_scaled(b, epi[3], epi[4], (epi[5] >> 8) & 0xFF);
  }
}

using RunFn = void (*)(const struct ConvRun*);

// The assembly run over every full filter pair for 3 full pixels. The pair's part of
// the stream (conv.py: one int8 word per step, then the epilogue words)
// is read by one pointer that runs on from pair to pair. A step's word holds both
// filters' 2 weights as (a0, b0', a1, b1') with b' = b - [a < 0], so that its halfwords
// read as int16 are 256 * b + a: one SMLAD with SXTB16(word) accumulates filter a, one
// with the raw word accumulates a + 256 * b, and the epilogue takes b's sum from the
// difference. A unit of 2 steps loads both steps' words and the first step's 3 input
// words as one run of 5 LDRs (6 cycles: a run of single loads pipelines), the second
// step's inputs with one LDM: 24 cycles for 24 MACs (1 SXTB16 a step; pre-widened int16
// weights took 26). kPassUnits (16, or 8 under a small flash cache) units make a pass (the
// pass's end test, a load, compare and taken branch, is 6 cycles: 1.6% at 16 units, 3.1% at 8); the first pass of a pair enters at the unit
// that leaves a whole number of passes after the pair's first unit, which runs apart and
// starts the accumulators with SMUAD (LDR PC of an address set up once per call), and
// the passes end at the columns' end. The epilogue recovers b, doubles a, adds the doubled
// biases (no seeding moves before the MACs), requantises
// with a register shift (no per-shift code copies), packs each pixel's 2 bytes with BFI,
// clamps with SSUB8/SEL and stores 3 halfwords. The block is copied to the stack frame;
// field order is the frame layout (x to entry first: one LDM at each pair's end reloads them).
struct ConvRun {
  const uint32_t* x;        // 0: the 3 widened columns, [step][pixel]
  int8_t* out;              // 4: pixel 0 of the current pair
  int32_t out_c;            // 8
  const int32_t* end;       // 12: the stream past the last full pair
  int32_t entry;            // 16: the unit (0..kPassUnits-1) the first pass starts at, after the
                            // first unit: (kPassUnits - (units - 1) % kPassUnits) % kPassUnits,
                            // or kPassUnits (the pass's end test) when units is 1;
                            // the run turns it into a code address in its frame
  const uint32_t* x_end;    // 20: past the columns' last step
  uint32_t lo4, hi4;        // 24, 28: activation min / max in every byte (clamping run only)
  const int32_t* stream;    // 32: pair 0
};

// The unit the first pass enters at, after a pair's first unit, for passes of pass_units: the
// one that leaves whole passes, or pass_units (the pass's end test) when there is no rest.
constexpr int32_t first_pass_entry(int32_t units, int32_t pass_units) {
  return units == 1 ? pass_units : (pass_units - (units - 1) % pass_units) % pass_units;
}

// A run's fields that stay the same for every run of 3 pixels of a layer of `steps` SMLAD steps
// (the columns, their end and the entry are set by the caller).
inline ConvRun layer_run(const DspConv2DParams& p, int32_t steps) {
  ConvRun run;
  run.end = p.stream + (steps + 7) * (p.window.output_c / 2);  // per pair: the step words + 7
  run.out_c = p.window.output_c;
  run.stream = p.stream;
  run.lo4 = static_cast<uint8_t>(p.activation_min) * 0x01010101u;
  run.hi4 = static_cast<uint8_t>(p.activation_max) * 0x01010101u;
  return run;
}

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)

// One unit: r0 the columns, r1 the stream; accumulators r8-r12, lr: [pixel][a, raw].
#define TINYRIG_RUN_STEP(W)                                               \
  "sxtb16 r7, " #W "\n\t"                                                 \
  "smlad r8, r4, r7, r8\n\t"                                              \
  "smlad r9, r4, " #W ", r9\n\t"                                          \
  "smlad r10, r5, r7, r10\n\t"                                            \
  "smlad r11, r5, " #W ", r11\n\t"                                        \
  "smlad r12, r6, r7, r12\n\t"                                            \
  "smlad lr, r6, " #W ", lr\n\t"
// A unit's input loads: LOADS_A the first step's 3 pixel words (after the 2 weight loads,
// one run of 5 single loads), LOADS_B the second step's. The columns of conv_run are
// interleaved [step][pixel]; the band of the band path holds each pixel's window in place, the
// pixels PB bytes apart (immediates), a step 4 bytes on.
#define TINYRIG_COLUMN_LOADS_A "ldr r4, [r0], #4\n\t" "ldr r5, [r0], #4\n\t" "ldr r6, [r0], #4\n\t"
#define TINYRIG_COLUMN_LOADS_B "ldm r0!, {r4, r5, r6}\n\t"
#define TINYRIG_BAND_LOADS(PB) "ldr r5, [r0, #" #PB "]\n\t" "ldr r6, [r0, #2 * " #PB "]\n\t" "ldr r4, [r0], #4\n\t"
#define TINYRIG_RUN_UNIT_OF(LOADS_A, LOADS_B)                             \
  "ldr r2, [r1], #4\n\t"                                                  \
  "ldr r3, [r1], #4\n\t"                                                  \
  LOADS_A                                                                 \
  TINYRIG_RUN_STEP(r2)                                                    \
  LOADS_B                                                                 \
  TINYRIG_RUN_STEP(r3)
// A pair's first unit: its first step starts the 6 accumulators (SMUAD, no seeding moves;
// the biases join in the epilogue).
#define TINYRIG_RUN_FIRST_UNIT_OF(LOADS_A, LOADS_B)                       \
  "ldr r2, [r1], #4\n\t"                                                  \
  "ldr r3, [r1], #4\n\t"                                                  \
  LOADS_A                                                                 \
  "sxtb16 r7, r2\n\t"                                                     \
  "smuad r8, r4, r7\n\t"                                                  \
  "smuad r9, r4, r2\n\t"                                                  \
  "smuad r10, r5, r7\n\t"                                                 \
  "smuad r11, r5, r2\n\t"                                                 \
  "smuad r12, r6, r7\n\t"                                                 \
  "smuad lr, r6, r2\n\t"                                                  \
  LOADS_B                                                                 \
  TINYRIG_RUN_STEP(r3)

// Filter b's doubled accumulator into RAW (from RAW and A, r7 = 2 * bias_b).
#define TINYRIG_RUN_B(RAW, A)                                             \
  "sub " #RAW ", " #RAW ", " #A "\n\t"                                    \
  "add " #RAW ", r7, " #RAW ", asr #7\n\t"
// Filter a's acc doubled plus its doubled bias (r0) requantised with (M, r, e) in
// registers, into ACC's low byte (saturated); r7 scratch.
#define TINYRIG_RUN_RQ2(ACC, M, R, E)                                     \
  "add " #ACC ", r0, " #ACC ", lsl #1\n\t"                                 \
  TINYRIG_RUN_RQ(ACC, M, R, E)
// The same for an accumulator already doubled (and biased).
#define TINYRIG_RUN_RQ(ACC, M, R, E)                                      \
  "smmlar r7, " #ACC ", " #M ", " #R "\n\t"                               \
  "add r7, r7, " #ACC ", asr #31\n\t"                                     \
  "asr r7, r7, " #E "\n\t"                                                \
  "ssat " #ACC ", #8, r7\n\t"

// A pair's requantisation in the epilogue (REQUANT of TINYRIG_RUN_FN_OF), after the LDM of
// its epilogue words into r0, r2-r7: with the right shift in a register (r2 M_a, r3 r_a,
// r4 M_b, r5 r_b, r6 e_a | e_b << 8) ...
#define TINYRIG_RUN_REQUANT_SHIFT                                         \
  TINYRIG_RUN_B(r9, r8) TINYRIG_RUN_B(r11, r10) TINYRIG_RUN_B(lr, r12)    \
  TINYRIG_RUN_RQ2(r8, r2, r3, r6) TINYRIG_RUN_RQ2(r10, r2, r3, r6) TINYRIG_RUN_RQ2(r12, r2, r3, r6) \
  "lsr r6, r6, #8\n\t"                                                    \
  TINYRIG_RUN_RQ(r9, r4, r5, r6) TINYRIG_RUN_RQ(r11, r4, r5, r6) TINYRIG_RUN_RQ(lr, r4, r5, r6)
// ... or in 3 instructions where conv.py found them exact for every filter (r2 M_a, r3 F_a,
// r4 M_b, r5 F_b, r6 the output zero point; F = 2^(32 - e) + 1): SMMULR, SMMLAR adding the
// zero point, SSAT (depthwise's TINYRIG_DWL_RQ; fused_epilogue.three_instruction_exact).
#define TINYRIG_RUN_RQ3(ACC, M, F)                                        \
  "smmulr " #ACC ", " #ACC ", " #M "\n\t"                                 \
  "smmlar " #ACC ", " #ACC ", " #F ", r6\n\t"                             \
  "ssat " #ACC ", #8, " #ACC "\n\t"
#define TINYRIG_RUN_REQUANT_RQ3                                           \
  TINYRIG_RUN_B(r9, r8) TINYRIG_RUN_B(r11, r10) TINYRIG_RUN_B(lr, r12)    \
  "add r8, r0, r8, lsl #1\n\t"                                            \
  "add r10, r0, r10, lsl #1\n\t"                                          \
  "add r12, r0, r12, lsl #1\n\t"                                          \
  TINYRIG_RUN_RQ3(r8, r2, r3) TINYRIG_RUN_RQ3(r10, r2, r3) TINYRIG_RUN_RQ3(r12, r2, r3) \
  TINYRIG_RUN_RQ3(r9, r4, r5) TINYRIG_RUN_RQ3(r11, r4, r5) TINYRIG_RUN_RQ3(lr, r4, r5)

#define TINYRIG_RUN_CLAMP(V)                                              \
  "ssub8 r0, " #V ", r2\n\t"                                              \
  "sel " #V ", " #V ", r2\n\t"                                            \
  "ssub8 r0, r3, " #V "\n\t"                                              \
  "sel " #V ", " #V ", r3\n\t"

#define TINYRIG_RUN_CLAMP3                                                \
  "ldrd r2, r3, [sp, #24]\n\t"                                            \
  TINYRIG_RUN_CLAMP(r8) TINYRIG_RUN_CLAMP(r10) TINYRIG_RUN_CLAMP(r12)

// The entry table (one address per unit, then the pass's end test) and the units of one pass.
#define TINYRIG_RUN_UNITS8_OF(U)                                          \
  "10:\n\t" U "11:\n\t" U "12:\n\t" U "13:\n\t" U "14:\n\t" U "15:\n\t" U "16:\n\t" U "17:\n\t" U
#if TINYRIG_CONV_PASS_UNITS == 8
#define TINYRIG_RUN_PASS_OF(U)                                            \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1, 7f + 1\n\t" \
  TINYRIG_RUN_UNITS8_OF(U)
#else
#define TINYRIG_RUN_PASS_OF(U)                                            \
  ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1\n\t" \
  ".word 18f + 1, 19f + 1, 20f + 1, 21f + 1, 22f + 1, 23f + 1, 24f + 1, 25f + 1, 7f + 1\n\t" \
  TINYRIG_RUN_UNITS8_OF(U)                                                \
  "18:\n\t" U "19:\n\t" U "20:\n\t" U "21:\n\t" U "22:\n\t" U "23:\n\t" U "24:\n\t" U "25:\n\t" U
#endif

// The band runs' passes: 9 units, or 18 without a small flash cache (a 3x3 window on
// 4k channels is 9k units: one unit apart and whole passes, no more end tests than needed).
#define TINYRIG_RUN_UNITS9_OF(U) TINYRIG_RUN_UNITS8_OF(U) "18:\n\t" U
#define TINYRIG_RUN_TABLE9 ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1, 18f + 1\n\t"
#if TINYRIG_CONV_PASS_UNITS == 8
#define TINYRIG_BAND_PASS_UNITS 9
#define TINYRIG_BAND_PASS_OF(U) TINYRIG_RUN_TABLE9 ".word 7f + 1\n\t" TINYRIG_RUN_UNITS9_OF(U)
#else
#define TINYRIG_BAND_PASS_UNITS 18
#define TINYRIG_BAND_PASS_OF(U)                                           \
  TINYRIG_RUN_TABLE9                                                      \
  ".word 19f + 1, 20f + 1, 21f + 1, 22f + 1, 23f + 1, 24f + 1, 25f + 1, 26f + 1, 27f + 1, 7f + 1\n\t" \
  TINYRIG_RUN_UNITS9_OF(U)                                                \
  "19:\n\t" U "20:\n\t" U "21:\n\t" U "22:\n\t" U "23:\n\t" U "24:\n\t" U "25:\n\t" U "26:\n\t" U "27:\n\t" U
#endif

// The pair's 6 outputs (bytes in r8/r9, r10/r11, r12/lr: [pixel][a, b]) to memory, after the
// frame's x, out, out_c and end are reloaded (r0, r2-r4) and the flags set by the stream's end
// test (the stores keep them). Adjacent filters (the stream holds every pair): each pixel's 2
// bytes as one halfword, the clamp on packed words, out moving on by 2 a pair.
#define TINYRIG_RUN_STORE_ADJACENT(CLAMP)                                 \
  "bfi r8, r9, #8, #8\n\t"                                                \
  "bfi r10, r11, #8, #8\n\t"                                              \
  "bfi r12, lr, #8, #8\n\t"                                               \
  CLAMP                                                                   \
  "ldm sp, {r0, r2, r3, r4}\n\t" /* x, out, out_c, end */               \
  "cmp r1, r4\n\t" /* flags kept to the branch: the stores set none */    \
  "strh r10, [r2, r3]\n\t"                                                \
  "strh r12, [r2, r3, lsl #1]\n\t"                                        \
  "strh r8, [r2], #2\n\t"                                                 \
  "str r2, [sp, #4]\n\t"
// Filters paired from the live ones only (conv.py _sparse_plan: filters with all-zero weights
// have no pair): the pair's last stream word is off_a | off_b << 16, the filters' bytes within
// a pixel; out stays at the run's pixel 0. b is stored first, so that a dummy b (an odd live
// count) sharing a's offset is overwritten by a.
#define TINYRIG_RUN_STORE_OFFSETS                                         \
  "ldr r5, [r1], #4\n\t" /* off_a | off_b << 16 */                       \
  "ldm sp, {r0, r2, r3, r4}\n\t" /* x, out, out_c, end */               \
  "cmp r1, r4\n\t"                                                        \
  "uxtah r6, r2, r5\n\t"                                                  \
  "add r5, r2, r5, lsr #16\n\t"                                           \
  "strb r9, [r5]\n\t"                                                     \
  "strb r11, [r5, r3]\n\t"                                                \
  "strb lr, [r5, r3, lsl #1]\n\t"                                         \
  "strb r8, [r6]\n\t"                                                     \
  "strb r10, [r6, r3]\n\t"                                                \
  "strb r12, [r6, r3, lsl #1]\n\t"

// The pass's end test: another pass while the columns go on (LDR, CMP, BNE: 4 cycles when it
// falls through). A run whose layer needs one pass at most (DspConvColumnsParams' kPasses) has
// none: the last unit of the pass runs into the epilogue.
#define TINYRIG_RUN_PASS_END                                              \
  "ldr r2, [sp, #20]\n\t"                                                 \
  "cmp r0, r2\n\t"                                                        \
  "bne 10b\n\t"

// PASS: the entry table and the units of one pass (TINYRIG_RUN_PASS_OF, TINYRIG_BAND_PASS_OF);
// STORE: TINYRIG_RUN_STORE_ADJACENT or TINYRIG_RUN_STORE_OFFSETS; REQUANT:
// TINYRIG_RUN_REQUANT_SHIFT or TINYRIG_RUN_REQUANT_RQ3; PASS_END: TINYRIG_RUN_PASS_END or "".
#define TINYRIG_RUN_FN_OF(STORE, PASS, FIRST_UNIT, REQUANT, PASS_END)      \
  "push {r4-r11, lr}\n\t"                                                 \
  "sub sp, sp, #32\n\t"                                                   \
  "ldm r0, {r1-r9}\n\t"                                                   \
  "adr r10, 6f\n\t"                                                       \
  "ldr r5, [r10, r5, lsl #2]\n\t" /* the entry unit's address */          \
  "stm sp, {r1-r8}\n\t"                                                   \
  "mov r0, r1\n\t"                                                        \
  "mov r1, r9\n\t" /* r1: the stream, from here on */                     \
  "b 2f\n\t"                                                              \
  ".p2align 2\n\t"                                                        \
  "6:\n\t"                                                                \
  PASS                                                                    \
  "7:\n\t"                                                                \
  PASS_END                                                                \
  "ldm r1!, {r0, r2-r7}\n\t" /* the pair's 7 epilogue words (pair_outputs) */ \
  REQUANT                                                                 \
  STORE                                                                   \
  "beq 9f\n\t"                                                            \
  "2:\n\t" /* the next filter pair: its first unit, then the passes */    \
  FIRST_UNIT                                                              \
  "ldr pc, [sp, #16]\n\t" /* the entry unit */                           \
  "9:\n\t"                                                                \
  "add sp, sp, #32\n\t"                                                   \
  "pop {r4-r11, pc}\n\t"

#define TINYRIG_COLUMN_UNIT TINYRIG_RUN_UNIT_OF(TINYRIG_COLUMN_LOADS_A, TINYRIG_COLUMN_LOADS_B)
#define TINYRIG_COLUMN_FIRST TINYRIG_RUN_FIRST_UNIT_OF(TINYRIG_COLUMN_LOADS_A, TINYRIG_COLUMN_LOADS_B)

// The column runs in one requantisation form: adjacent pairs, clamping or not, with the pass's
// end test (PASS_END) or without it (the _1p runs, for layers of one pass), and the sparse pairs.
// noipa: the caller must not learn from the (opaque) bodies which registers survive. Each is a
// function of its own, so the linker keeps only those a model's layers use.
#define TINYRIG_COLUMN_RUN_FN(NAME, STORE, REQUANT, PASS_END)                                      \
  __attribute__((naked, noipa)) void NAME(const ConvRun*) {                                        \
    __asm__ volatile(TINYRIG_RUN_FN_OF(STORE, TINYRIG_RUN_PASS_OF(TINYRIG_COLUMN_UNIT), TINYRIG_COLUMN_FIRST, \
                                       REQUANT, PASS_END));                                        \
  }
#define TINYRIG_COLUMN_RUNS(SUFFIX, REQUANT)                                                        \
  TINYRIG_COLUMN_RUN_FN(conv_run##SUFFIX, TINYRIG_RUN_STORE_ADJACENT(""), REQUANT, TINYRIG_RUN_PASS_END) \
  TINYRIG_COLUMN_RUN_FN(conv_run_clamp##SUFFIX, TINYRIG_RUN_STORE_ADJACENT(TINYRIG_RUN_CLAMP3), REQUANT,   \
                        TINYRIG_RUN_PASS_END)                                                      \
  TINYRIG_COLUMN_RUN_FN(conv_run_1p##SUFFIX, TINYRIG_RUN_STORE_ADJACENT(""), REQUANT, "")          \
  TINYRIG_COLUMN_RUN_FN(conv_run_clamp_1p##SUFFIX, TINYRIG_RUN_STORE_ADJACENT(TINYRIG_RUN_CLAMP3), REQUANT, "") \
  TINYRIG_COLUMN_RUN_FN(conv_run_offsets##SUFFIX, TINYRIG_RUN_STORE_OFFSETS, REQUANT, TINYRIG_RUN_PASS_END)
TINYRIG_COLUMN_RUNS(, TINYRIG_RUN_REQUANT_SHIFT)
TINYRIG_COLUMN_RUNS(_rq3, TINYRIG_RUN_REQUANT_RQ3)

#define TINYRIG_BAND_UNIT(PB) TINYRIG_RUN_UNIT_OF(TINYRIG_BAND_LOADS(PB), TINYRIG_BAND_LOADS(PB))

// The band runs (the band path): the same run reading the 3 pixels' windows in place, PB bytes
// apart; one pair of functions per PB (conv.py BAND_PIXEL_BYTES), kept only where a model
// uses them (each is a function of its own, so the linker drops the others).
#define TINYRIG_BAND_RUN_FN(NAME, PB, CLAMP, REQUANT)                                               \
  __attribute__((naked, noipa)) void NAME(const ConvRun*) {                                        \
    __asm__ volatile(TINYRIG_RUN_FN_OF(TINYRIG_RUN_STORE_ADJACENT(CLAMP), TINYRIG_BAND_PASS_OF(TINYRIG_BAND_UNIT(PB)), \
                                       TINYRIG_RUN_FIRST_UNIT_OF(TINYRIG_BAND_LOADS(PB), TINYRIG_BAND_LOADS(PB)), \
                                       REQUANT, TINYRIG_RUN_PASS_END));                            \
  }
#define TINYRIG_BAND_RUNS(PB)                                                                      \
  TINYRIG_BAND_RUN_FN(band_run_##PB, PB, "", TINYRIG_RUN_REQUANT_SHIFT)                            \
  TINYRIG_BAND_RUN_FN(band_run_clamp_##PB, PB, TINYRIG_RUN_CLAMP3, TINYRIG_RUN_REQUANT_SHIFT)      \
  TINYRIG_BAND_RUN_FN(band_run_rq3_##PB, PB, "", TINYRIG_RUN_REQUANT_RQ3)                          \
  TINYRIG_BAND_RUN_FN(band_run_clamp_rq3_##PB, PB, TINYRIG_RUN_CLAMP3, TINYRIG_RUN_REQUANT_RQ3)    \
  template <>                                                                                      \
  struct BandRun<PB> {                                                                             \
    template <int kClamp, int kRq3>                                                                \
    static constexpr RunFn run() {                                                                 \
      if constexpr (kRq3 != 0) {                                                                   \
        return kClamp != 0 ? band_run_clamp_rq3_##PB : band_run_rq3_##PB;                          \
      } else {                                                                                     \
        return kClamp != 0 ? band_run_clamp_##PB : band_run_##PB;                                  \
      }                                                                                            \
    }                                                                                              \
  };
template <int kPixelBytes>
struct BandRun;
TINYRIG_BAND_PIXEL_BYTES(TINYRIG_BAND_RUNS)

#else  // host model of the same loop

// pixel_words 0: the interleaved columns; else a band's windows, that many words apart.
// offsets: each pair's stream ends with off_a | off_b << 16 (conv_run_offsets); rq3: the
// epilogue words' 3-instruction form.
void conv_run_model(const ConvRun* run, bool clamp, int32_t pixel_words, bool offsets, bool rq3) {
  const int32_t steps = static_cast<int32_t>(run->x_end - run->x) / (pixel_words ? 1 : kPixels);
  const int32_t pair_words = 7 + steps + (offsets ? 1 : 0);
  int32_t pair = 0;
  for (const int32_t* s = run->stream; s < run->end; s += pair_words, ++pair) {
    int32_t acc[6];
    if (pixel_words) {
      pair_accumulate(run->x, s, steps, acc, 1, pixel_words);
    } else {
      pair_accumulate(run->x, s, steps, acc);
    }
    for (int32_t pixel = 0; pixel < 3; ++pixel) {
      int32_t y[2];
      pair_outputs(acc, pixel, s + steps, &y[0], &y[1], rq3);
      for (int32_t f = 0; f < 2; ++f) {
        if (clamp) {
          const int32_t lo = static_cast<int8_t>(run->lo4), hi = static_cast<int8_t>(run->hi4);
          y[f] = y[f] < lo ? lo : (y[f] > hi ? hi : y[f]);
        }
        if (!offsets) run->out[pixel * run->out_c + 2 * pair + f] = static_cast<int8_t>(y[f]);
      }
      if (offsets) {  // b first: a dummy b shares a's offset
        const uint32_t off = static_cast<uint32_t>(s[steps + 7]);
        run->out[pixel * run->out_c + (off >> 16)] = static_cast<int8_t>(y[1]);
        run->out[pixel * run->out_c + (off & 0xFFFF)] = static_cast<int8_t>(y[0]);
      }
    }
  }
}

void conv_run(const ConvRun* run) { conv_run_model(run, false, 0, false, false); }
void conv_run_clamp(const ConvRun* run) { conv_run_model(run, true, 0, false, false); }
void conv_run_offsets(const ConvRun* run) { conv_run_model(run, false, 0, true, false); }
void conv_run_rq3(const ConvRun* run) { conv_run_model(run, false, 0, false, true); }
void conv_run_clamp_rq3(const ConvRun* run) { conv_run_model(run, true, 0, false, true); }
void conv_run_offsets_rq3(const ConvRun* run) { conv_run_model(run, false, 0, true, true); }
// One pass or many, the same loop.
void conv_run_1p(const ConvRun* run) { conv_run(run); }
void conv_run_clamp_1p(const ConvRun* run) { conv_run_clamp(run); }
void conv_run_1p_rq3(const ConvRun* run) { conv_run_rq3(run); }
void conv_run_clamp_1p_rq3(const ConvRun* run) { conv_run_clamp_rq3(run); }

template <int kPixelBytes>
struct BandRun {
  template <int kClamp, int kRq3>
  static constexpr RunFn run() {
    return [](const ConvRun* r) { conv_run_model(r, kClamp != 0, kPixelBytes / 4, false, kRq3 != 0); };
  }
};

#endif

// The column run of a layer's clamp and requantisation form (only the ones used are linked),
// without the pass's end test where the layer needs one pass at most: kPasses 0 when the units
// after a pair's first fit 8 (one pass in either build), 1 when they fit 16 (one pass unless a
// small flash cache halves the passes), 2 otherwise (conv.py _passes).
template <int kClamp, int kRq3, int kPasses = 2>
constexpr RunFn column_run() {
  constexpr bool kOnePass = kPasses == 0 || (kPasses == 1 && kPassUnits >= 16);
  if constexpr (kRq3 != 0 && kOnePass) {
    return kClamp != 0 ? conv_run_clamp_1p_rq3 : conv_run_1p_rq3;
  } else if constexpr (kRq3 != 0) {
    return kClamp != 0 ? conv_run_clamp_rq3 : conv_run_rq3;
  } else if constexpr (kOnePass) {
    return kClamp != 0 ? conv_run_clamp_1p : conv_run_1p;
  } else {
    return kClamp != 0 ? conv_run_clamp : conv_run;
  }
}

// Any convolution over columns of 3 pixels (DspConvColumnsParams), run_fn its column run.
void conv_columns(const DspConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch, RunFn run_fn,
                  bool rq3) {
  const int32_t steps = p.depth_padded / 2;
  uint32_t* columns = reinterpret_cast<uint32_t*>(scratch);  // [steps][kPixels]
  int8_t* window = reinterpret_cast<int8_t*>(columns + steps * kPixels);
  // Windows whose rows are not whole words: 3 inside windows are copied side by side
  // and widened together (widen3_groups), the others one at a time.
  const bool gather3 = !p.pointwise && p.window.dilation_w == 1 && ((p.window.filter_w * p.window.input_c) & 3) != 0;
  // (rgb3x3 has gather3 too: its gathered windows are read 3 bytes past depth 27, inside
  // the 32-byte window.)
  // Window rows of whole 4-byte groups: 3 inside windows are widened together straight
  // from the image (rows of one group by widen3_rows in one call), 3 touching padding are
  // gathered side by side and widened together.
  const bool whole_strips = !p.pointwise && !p.rgb3x3 && p.window.dilation_w == 1 &&
                            ((p.window.filter_w * p.window.input_c) & 3) == 0 &&
                            p.window.filter_w * p.window.input_c >= 4;
  const bool three_windows = gather3 || whole_strips;  // conv.py: scratch for 3 gathered windows
  int8_t* const windows[kPixels] = {window, window + p.depth_padded, window + 2 * p.depth_padded};
  if (!p.pointwise) {  // zero tails of the gathered windows (widened as zero steps)
    for (int32_t w = 0; w < (three_windows ? kPixels : 1); ++w) {
      for (int32_t i = p.depth; i < p.depth_padded; ++i) windows[w][i] = 0;
    }
  }
  // After the columns: the gathered windows, the bordered copy, then (conv.py's scratch
  // order) the 3 pixels' outputs of a last partial run, which the run writes in full.
  int8_t* const padded = window + (p.pointwise ? 0 : (three_windows ? kPixels : 1) * p.depth_padded);
  int8_t* const partial_out = padded + ((p.padded_h * p.padded_w * p.window.input_c + 3) & ~3) + (p.rgb3x3 ? 4 : 0);
  if (p.padded_h > 0) {  // windows read the bordered copy, after the window buffers
    pad_image(p, input, padded);
    input = padded;
  }
  const int32_t pixels = p.window.output_h * p.window.output_w;
  ConvRun run = layer_run(p, steps);  // conv_run copies it: only `out` changes from run to run
  const int32_t pair_words = steps + 7;  // int8 step words, 7 epilogue words
  run.x = columns;
  run.entry = first_pass_entry(steps / 2, kPassUnits);
  run.x_end = columns + steps * kPixels;
  // 1x1 at stride 1: pixel i's column is the input pixel i.
  const bool dense = p.pointwise && p.window.stride_h == 1 && p.window.stride_w == 1;
  const int32_t c = p.window.input_c;
  const int32_t row_bytes = p.window.dilation_h * (p.padded_h > 0 ? p.padded_w : p.window.input_w) * c;
  // One run of 3 output pixels (fewer at the end) starting at `first`, any shape.
  auto one_run = [&](int32_t first) {
    const int32_t valid = pixels - first < kPixels ? pixels - first : kPixels;
    bool three = p.pointwise && valid == kPixels && (p.depth & 3) == 0;
    if (p.rgb3x3) {
      columns_rgb3x3(p, input, first, valid, windows, columns);
      three = true;
    } else if (three) {
      if (dense) {
        const int8_t* src = input + first * c;
        widen3(src, src + c, src + 2 * c, p.depth, steps, columns);
      } else {
        widen3(pointwise_source(p, input, first), pointwise_source(p, input, first + 1),
               pointwise_source(p, input, first + 2), p.depth, steps, columns);
      }
    } else if (three_windows && valid == kPixels) {
      const int32_t out_y = first / p.window.output_w;
      const int32_t out_x = first - out_y * p.window.output_w;
      bool widened = false;
      if (whole_strips) {  // 3 inside windows, row by row, straight from the image (or the bordered copy)
        const int8_t* a = window_inside(p, input, first);
        const int8_t* b = window_inside(p, input, first + 1);
        const int8_t* d = window_inside(p, input, first + 2);
        widened = three = a != nullptr && b != nullptr && d != nullptr;
        const int32_t groups = p.window.filter_w * c / 4;
        if (widened && groups == 1) {
          widen3_rows(a, b, d, columns, row_bytes, p.window.filter_h);
        } else if (widened) {
          for (int32_t row = 0, at = 0; row < p.window.filter_h; ++row, at += row_bytes) {
            widen3_groups(a + at, b + at, d + at, columns + row * groups * 2 * kPixels, groups);
          }
        }
      } else {
        three = copy3_windows(p, input, out_y, out_x, windows);
      }
      if (!three) {  // longer rows, across an output row or at the edges: one window at a time
        int32_t y = out_y, x = out_x;
        for (int32_t slot = 0; slot < kPixels; ++slot) {
          // Windows touching padding are gathered (depth bytes: the zero tail stays).
          if (!copy_window_inside(p, input, y, x, windows[slot])) {
            gather_window(p, input, y * p.window.output_w + x, windows[slot]);
          }
          if (++x == p.window.output_w) x = 0, ++y;
        }
        three = true;
      }
      if (!widened) widen3_groups(windows[0], windows[1], windows[2], columns, p.depth_padded / 4);
    }
    for (int32_t slot = three ? kPixels : 0; slot < kPixels; ++slot) {
      if (slot >= valid) {
        widen(nullptr, 0, steps, kPixels, columns + slot);
      } else if (p.pointwise) {
        widen(pointwise_source(p, input, first + slot), p.depth, steps, kPixels, columns + slot);
      } else {
        build_column(p, input, first + slot, steps, columns + slot, window);
      }
    }
    int8_t* out = output + first * p.window.output_c;
    int32_t filter = 0;
    if (p.window.output_c >= 2) {  // every full filter pair in assembly
      // A partial run's missing pixels are columns of zeros whose outputs land in scratch.
      run.out = valid == kPixels ? out : partial_out;
      run_fn(&run);
      filter = 2 * (p.window.output_c / 2);
      if (valid < kPixels) {
        for (int32_t slot = 0; slot < valid; ++slot) {
          copy_bytes(out + slot * p.window.output_c, partial_out + slot * p.window.output_c, filter);
        }
      }
    }
    const int32_t* pair = p.stream + (filter / 2) * pair_words;
    for (; filter < p.channels_padded; filter += 2, pair += pair_words) {
      int32_t acc[2 * kPixels];
      pair_accumulate(columns, pair, steps, acc);
      const bool second = filter + 1 < p.window.output_c;
      for (int32_t slot = 0; slot < valid; ++slot) {
        int32_t ya, yb;
        pair_outputs(acc, slot, pair + steps, &ya, &yb, rq3);
        int8_t* o = out + slot * p.window.output_c + filter;
        o[0] = clamp_output(ya, p.clamp, p.activation_min, p.activation_max);
        if (second) o[1] = clamp_output(yb, p.clamp, p.activation_min, p.activation_max);
      }
    }
  };
  int32_t first = 0;
  if (p.rgb3x3 && p.window.output_c % 2 == 0) {
    // Row by row: runs of 3 within an output row whose windows are read in place (as
    // in columns_rgb3x3) go straight to widen3_rgb3x3 and the run; the others, one_run.
    const bool bordered = p.padded_h > 0;
    const int32_t image_h = bordered ? p.padded_h : p.window.input_h;
    const int32_t image_w = bordered ? p.padded_w : p.window.input_w;
    const int32_t row_bytes = p.window.dilation_h * image_w * 3;
    const int32_t end = image_h * image_w * 3 + (bordered ? 3 : 0);  // bytes readable from input
    const int32_t step = p.window.stride_w * 3;
    const int32_t top = bordered ? 0 : p.window.pad_top, left = bordered ? 0 : p.window.pad_left;
    for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
      const int32_t row_end = (out_y + 1) * p.window.output_w;
      const int32_t y0 = out_y * p.window.stride_h - top;
      const bool rows_inside = y0 >= 0 && y0 + 2 * p.window.dilation_h < image_h;
      for (; first < row_end; first += kPixels) {
        const int32_t x0 = (first - out_y * p.window.output_w) * p.window.stride_w - left;
        const int32_t offset = (y0 * image_w + x0) * 3;
        if (rows_inside && first + kPixels <= row_end && x0 >= 0 && x0 + 2 * p.window.stride_w + 3 <= image_w &&
            offset + 2 * step + 2 * row_bytes + 12 <= end) {
          const int8_t* a = input + offset;
          widen3_rgb3x3(a, a + step, a + 2 * step, columns, row_bytes);
          run.out = output + first * p.window.output_c;
          run_fn(&run);
        } else {
          one_run(first);
        }
      }
    }
  } else if (dense && (p.depth & 3) == 0 && p.window.output_c % 2 == 0) {
    // 1x1 at stride 1 with whole groups of 4 channels (depth_padded == depth): every
    // full run is widen3_groups and the run.
    const int32_t full = pixels - pixels % kPixels;
    for (; first < full; first += kPixels) {
      const int8_t* src = input + first * c;
      widen3_groups(src, src + c, src + 2 * c, columns, p.depth / 4);
      run.out = output + first * p.window.output_c;
      run_fn(&run);
    }
  }
  if (whole_strips && first == 0 && p.window.filter_w * c == 4 && p.window.output_c % 2 == 0 && pixels >= kPixels &&
      window_inside(p, input, 0) != nullptr && window_inside(p, input, pixels - 1) != nullptr) {
    // Rows of one 4-byte group, every window inside (the bordered copy, or no padding; kws01's
    // 10x4 stem on one channel): each full run is widen3_rows and the run, the windows' origins
    // walked along the output rows (one_run's per-run checks cost more than the widening).
    const int32_t image_w = p.padded_h > 0 ? p.padded_w : p.window.input_w;
    const int32_t x_step = p.window.stride_w * c, y_step = p.window.stride_h * image_w * c;
    const int8_t* row = window_inside(p, input, 0);
    int32_t out_x = 0;
    auto next_origin = [&]() {
      const int8_t* origin = row + out_x * x_step;
      if (++out_x == p.window.output_w) out_x = 0, row += y_step;
      return origin;
    };
    for (const int32_t full = pixels - pixels % kPixels; first < full; first += kPixels) {
      const int8_t* a = next_origin();
      const int8_t* b = next_origin();
      const int8_t* d = next_origin();
      widen3_rows(a, b, d, columns, row_bytes, p.window.filter_h);
      run.out = output + first * p.window.output_c;
      run_fn(&run);
    }
  }
  for (; first < pixels; first += kPixels) one_run(first);
}

}  // namespace

template <int kClamp, int kRq3, int kPasses>
void conv2d_s8(const DspConvColumnsParams<kClamp, kRq3, kPasses>& c, const int8_t* input, int8_t* output,
               int32_t* scratch) {
  conv_columns(c.conv, input, output, scratch, column_run<kClamp, kRq3, kPasses>(), kRq3 != 0);
}
#define TINYRIG_COLUMNS_INSTANCE(CLAMP, RQ3, PASSES)                                                \
  template void conv2d_s8<CLAMP, RQ3, PASSES>(const DspConvColumnsParams<CLAMP, RQ3, PASSES>&, const int8_t*, \
                                              int8_t*, int32_t*);
#define TINYRIG_COLUMNS_INSTANCES(PASSES)                                                           \
  TINYRIG_COLUMNS_INSTANCE(0, 0, PASSES) TINYRIG_COLUMNS_INSTANCE(1, 0, PASSES)                    \
  TINYRIG_COLUMNS_INSTANCE(0, 1, PASSES) TINYRIG_COLUMNS_INSTANCE(1, 1, PASSES)
TINYRIG_COLUMNS_INSTANCES(0)
TINYRIG_COLUMNS_INSTANCES(1)
TINYRIG_COLUMNS_INSTANCES(2)

// The live filters' pairs over runs of 3 pixels (conv_run_offsets writes each filter's bytes at
// its own offset), then every pixel's constant outputs from the fill table.
template <int kRq3>
void conv2d_s8(const DspConvSparseParams<kRq3>& s, const int8_t* input, int8_t* output, int32_t* scratch) {
  auto* const run_offsets = kRq3 != 0 ? conv_run_offsets_rq3 : conv_run_offsets;
  const DspConv2DParams& p = s.conv;
  const int32_t steps = p.depth / 2;  // whole groups of 4 (conv.py)
  const int32_t in_c = p.window.input_c, out_c = p.window.output_c;
  const int32_t pixels = p.window.output_h * p.window.output_w;
  uint32_t* const columns = reinterpret_cast<uint32_t*>(scratch);  // [steps][kPixels]
  int8_t* const partial_out = reinterpret_cast<int8_t*>(columns + steps * kPixels);
  if (s.live_pairs > 0) {
    ConvRun run = layer_run(p, steps);
    run.end = p.stream + (steps + 8) * s.live_pairs;  // per pair: the step words, 7 epilogue words, offsets
    run.x = columns;
    run.x_end = columns + steps * kPixels;
    run.entry = first_pass_entry(steps / 2, kPassUnits);
    const int32_t full = pixels - pixels % kPixels;
    int32_t first = 0;
    for (; first < full; first += kPixels) {
      const int8_t* src = input + first * in_c;
      widen3_groups(src, src + in_c, src + 2 * in_c, columns, p.depth / 4);
      run.out = output + first * out_c;
      run_offsets(&run);
    }
    if (first < pixels) {  // the last 1-2 pixels: zero columns beside them, outputs through scratch
      const int32_t valid = pixels - first;
      for (int32_t slot = 0; slot < kPixels; ++slot) {
        widen(slot < valid ? input + (first + slot) * in_c : nullptr, slot < valid ? p.depth : 0, steps, kPixels,
              columns + slot);
      }
      run.out = partial_out;
      run_offsets(&run);
      for (int32_t slot = 0; slot < valid; ++slot) {
        copy_bytes(output + (first + slot) * out_c, partial_out + slot * out_c, out_c);
      }
    }
  }
  // The constants go in after the runs: the partial run's copy wrote whatever its scratch held there.
  const int32_t* const fill_end = s.fill + 3 * s.fill_words;
  int8_t* o = output;
  for (int32_t pixel = 0; pixel < pixels; ++pixel, o += out_c) {
    for (const int32_t* f = s.fill; f != fill_end; f += 3) {
      int8_t* word = o + f[0];
      store_word(word, (load_word(word) & static_cast<uint32_t>(f[1])) | static_cast<uint32_t>(f[2]));
    }
  }
}
template void conv2d_s8<0>(const DspConvSparseParams<0>&, const int8_t*, int8_t*, int32_t*);
template void conv2d_s8<1>(const DspConvSparseParams<1>&, const int8_t*, int8_t*, int32_t*);

}  // namespace arm_dsp
}  // namespace tinyrig

namespace tinyrig {
namespace arm_dsp {
namespace {

// The int16 pair (lo, hi) of two int8 values.
inline uint32_t pair_word(int32_t lo, int32_t hi) {
  return (static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16);
}

// A band of cells that are not whole groups of 4 channels (conv.py _band_pixel_bytes: filter_h *
// input_c even): band column x is the filter_h * input_c values of input column x - pad_left down
// the rows, [fy][c], as int16 pairs in order ((v0, v1), (v2, v3), ...: conv.py _band_depth_order
// permutes the weights to match), the zero point outside the image. The columns left and right of
// the image are the zero point in every output row: written once, by fill_band_pair_edges.
void fill_band_pair_edges(const DspConv2DParams& p, int32_t band_w, uint32_t* band) {
  const int32_t column_words = p.window.filter_h * p.window.input_c / 2;
  const uint32_t zp2 = pair_word(p.input_zero_point, p.input_zero_point);
  for (int32_t x = 0; x < band_w; ++x) {
    if (x >= p.window.pad_left && x < p.window.pad_left + p.window.input_w) continue;
    for (int32_t k = 0; k < column_words; ++k) band[x * column_words + k] = zp2;
  }
}

// One channel (kws01's stem): band word j of a column is the pair of input rows (2j, 2j + 1)
// under the filter. The pairs whose rows are both inside the image go by groups of 4 columns:
// 2 LDR, 4 SXTB16 ((a0, a2), (a1, a3) and b's), 4 PKHBT/PKHTB into (a_i, b_i) and 4 STR a
// column apart, down the pairs (about 4.5 cycles a band word; the columns past the last group
// of 4, one LDRSB pair at a time). Pairs reaching outside the image (the top and bottom output
// rows) are built value by value, the zero point outside.
TINYRIG_INLINE_LOOPS void fill_band_one_channel(const DspConv2DParams& p, const int8_t* input, int32_t out_y,
                                                int32_t columns, uint32_t* band) {
  const int32_t w = p.window.input_w, h = p.window.input_h, column_words = p.window.filter_h / 2;
  const int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  uint32_t* const first = band + p.window.pad_left * column_words;  // the column of input column 0
  // [j_lo, j_hi): the pairs with both rows inside (y0 + 2j >= 0, y0 + 2j + 1 < h).
  int32_t j_lo = y0 >= 0 ? 0 : (1 - y0) / 2;
  int32_t j_hi = h - 1 - y0 <= 0 ? 0 : (h - y0) / 2;
  j_lo = j_lo < column_words ? j_lo : column_words;
  j_hi = j_hi < column_words ? j_hi : column_words;
  j_hi = j_hi > j_lo ? j_hi : j_lo;
  for (int32_t j = 0; j < column_words; ++j) {
    if (j == j_lo) j = j_hi;  // the inside pairs: below
    if (j == column_words) break;
    const int32_t ya = y0 + 2 * j, yb = ya + 1;
    const bool a_in = ya >= 0 && ya < h, b_in = yb >= 0 && yb < h;
    uint32_t* cell = first + j;
    for (int32_t x = 0; x < columns; ++x, cell += column_words) {
      *cell = pair_word(a_in ? input[ya * w + x] : p.input_zero_point, b_in ? input[yb * w + x] : p.input_zero_point);
    }
  }
  const int32_t pairs = j_hi - j_lo;
  if (pairs == 0) return;
  const int8_t* row = input + (y0 + 2 * j_lo) * w;
  uint32_t* top = first + j_lo;
  int32_t x = 0;
  for (; x + 4 <= columns; x += 4, row += 4, top += 4 * column_words) {
    const int8_t* r = row;
    uint32_t* cell = top;
    for (int32_t j = 0; j < pairs; ++j, r += 2 * w, ++cell) {
      const uint32_t a = load_word(r), b = load_word(r + w);
      const uint32_t a02 = sxtb16(a), a13 = sxtb16_ror8(a), b02 = sxtb16(b), b13 = sxtb16_ror8(b);
      cell[0] = pack_low_halves(a02, b02);
      cell[column_words] = pack_low_halves(a13, b13);
      cell[2 * column_words] = pack_high_halves(a02, b02);
      cell[3 * column_words] = pack_high_halves(a13, b13);
    }
  }
  for (; x < columns; ++x, ++row, top += column_words) {
    const int8_t* r = row;
    for (int32_t j = 0; j < pairs; ++j, r += 2 * w) top[j] = pair_word(r[0], r[w]);
  }
}

// Two channels: a band word is one cell (c0, c1). Per input row under the filter and 2 columns:
// one LDR, 2 SXTB16 ((p0c0, p1c0), (p0c1, p1c1)), PKHBT/PKHTB into the 2 cells and 2 STR a
// column apart; rows outside the image are the zero point.
TINYRIG_INLINE_LOOPS void fill_band_two_channels(const DspConv2DParams& p, const int8_t* input, int32_t out_y,
                                                 int32_t columns, uint32_t* band) {
  const int32_t column_words = p.window.filter_h;
  const int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  const uint32_t zp2 = pair_word(p.input_zero_point, p.input_zero_point);
  uint32_t* const first = band + p.window.pad_left * column_words;  // the column of input column 0
  for (int32_t fy = 0; fy < column_words; ++fy) {
    const int32_t iy = y0 + fy;
    uint32_t* cell = first + fy;
    if (iy < 0 || iy >= p.window.input_h) {
      for (int32_t x = 0; x < columns; ++x, cell += column_words) *cell = zp2;
      continue;
    }
    const int8_t* src = input + iy * p.window.input_w * 2;
    int32_t x = 0;
    for (; x + 2 <= columns; x += 2, src += 4, cell += 2 * column_words) {
      const uint32_t v = load_word(src);
      const uint32_t c0 = sxtb16(v), c1 = sxtb16_ror8(v);
      cell[0] = pack_low_halves(c0, c1);
      cell[column_words] = pack_high_halves(c0, c1);
    }
    if (x < columns) *cell = pair_word(src[0], src[1]);
  }
}

// The band columns fill_band_one_channel / _two_channels widen: those of the image's columns
// that a window reaches (a VALID layer may leave the image's last columns out of the band).
inline int32_t band_image_columns(const DspConv2DParams& p, int32_t band_w) {
  const int32_t columns = band_w - p.window.pad_left;
  return columns < p.window.input_w ? columns : p.window.input_w;
}

}  // namespace

// Per output row: the band, then every full run of 3 pixels read in place by the band run;
// the 1-2 pixels at a row's end have their windows copied out of the band into interleaved
// columns, gathered across rows, and go through conv_run 3 at a time (no wasted MACs).
// One driver for every pixel step, clamp, form and widening (the template wrappers below pass
// their runs): instantiating it per combination multiplied the kernel's compile time by 6.
static void conv_band(const DspConv2DParams& p, int32_t band_w, const int8_t* input, int8_t* output,
                      int32_t* scratch, int32_t pixel_words, RunFn band_run, RunFn leftover_run,
                      int32_t pair_channels) {
  const int32_t steps = p.depth / 2;  // the depth is whole groups of 4 (conv.py)
  const int32_t out_w = p.window.output_w, out_c = p.window.output_c;
  uint32_t* const band = reinterpret_cast<uint32_t*>(scratch);
  uint32_t* const columns = band + band_w * p.window.filter_h * p.window.input_c / 2;
  int8_t* const partial_out = reinterpret_cast<int8_t*>(columns + steps * kPixels);
  if (pair_channels != 0) fill_band_pair_edges(p, band_w, band);
  ConvRun run = layer_run(p, steps);
  // The band runs and conv_run (the leftovers) pass by different unit counts.
  const int32_t band_entry = first_pass_entry(steps / 2, kBandPassUnits);
  const int32_t column_entry = first_pass_entry(steps / 2, kPassUnits);
  int32_t pending[kPixels];
  int32_t waiting = 0;
  auto flush = [&]() {  // the leftover pixels' columns (missing slots zero) through conv_run
    for (int32_t slot = waiting; slot < kPixels; ++slot) {
      for (int32_t step = 0; step < steps; ++step) columns[step * kPixels + slot] = 0;
    }
    run.x = columns;
    run.x_end = columns + steps * kPixels;
    run.entry = column_entry;
    run.out = partial_out;
    leftover_run(&run);
    for (int32_t slot = 0; slot < waiting; ++slot) {
      copy_bytes(output + pending[slot] * out_c, partial_out + slot * out_c, out_c);
    }
    waiting = 0;
  };
  const int32_t full = out_w - out_w % kPixels;
  for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
    if (pair_channels == 1) {
      fill_band_one_channel(p, input, out_y, band_image_columns(p, band_w), band);
    } else if (pair_channels == 2) {
      fill_band_two_channels(p, input, out_y, band_image_columns(p, band_w), band);
    } else {
      fill_band(p.window, p.input_zero_point, input, out_y, band_w, band);
    }
    int8_t* out = output + out_y * out_w * out_c;
    for (int32_t x = 0; x < full; x += kPixels, out += kPixels * out_c) {
      run.x = band + x * pixel_words;
      run.x_end = run.x + steps;
      run.entry = band_entry;
      run.out = out;
      band_run(&run);
    }
    for (int32_t x = full; x < out_w; ++x) {
      const uint32_t* src = band + x * pixel_words;
      for (int32_t step = 0; step < steps; ++step) columns[step * kPixels + waiting] = src[step];
      pending[waiting++] = out_y * out_w + x;
      if (waiting == kPixels) flush();
    }
  }
  if (waiting > 0) flush();
}

template <int kPixelBytes, int kClamp, int kRq3, int kPairChannels>
void conv2d_s8(const DspConvRowsParams<kPixelBytes, kClamp, kRq3, kPairChannels>& r, const int8_t* input,
               int8_t* output, int32_t* scratch) {
  conv_band(r.conv, r.band_w, input, output, scratch, kPixelBytes / 4,
            BandRun<kPixelBytes>::template run<kClamp, kRq3>(), column_run<kClamp, kRq3>(), kPairChannels);
}

// Every clamp, requantisation form and band widening (pair channels 0, 1, 2) of a pixel step;
// the linker keeps the ones a model's layers use.
#define TINYRIG_BAND_INSTANCE(PB, CLAMP, RQ3, PAIRS)                                                  \
  template void conv2d_s8<PB, CLAMP, RQ3, PAIRS>(const DspConvRowsParams<PB, CLAMP, RQ3, PAIRS>&, const int8_t*, \
                                                 int8_t*, int32_t*);
#define TINYRIG_BAND_INSTANCES_OF(PB, PAIRS)                                                       \
  TINYRIG_BAND_INSTANCE(PB, 0, 0, PAIRS) TINYRIG_BAND_INSTANCE(PB, 1, 0, PAIRS)                    \
  TINYRIG_BAND_INSTANCE(PB, 0, 1, PAIRS) TINYRIG_BAND_INSTANCE(PB, 1, 1, PAIRS)
#define TINYRIG_BAND_INSTANCES(PB) \
  TINYRIG_BAND_INSTANCES_OF(PB, 0) TINYRIG_BAND_INSTANCES_OF(PB, 1) TINYRIG_BAND_INSTANCES_OF(PB, 2)
TINYRIG_BAND_PIXEL_BYTES(TINYRIG_BAND_INSTANCES)


}  // namespace arm_dsp
}  // namespace tinyrig
