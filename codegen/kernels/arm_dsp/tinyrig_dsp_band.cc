// tinyrig DSP-extension kernels: the band of widened input rows shared by the 2-D CONV_2D paths
// that read windows in place (tinyrig_dsp_conv.cc's band path, tinyrig_dsp_band_quad.cc).
#include "tinyrig_dsp_band.h"

#include "tinyrig_dsp_common.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

// widen_cells in C for any number of groups of 4 channels a cell.
__attribute__((noinline)) void widen_cell_groups(const int8_t* src, uint32_t* dst, int32_t cells, int32_t groups, int32_t skip_bytes) {
  for (int32_t cell = 0; cell < cells; ++cell, dst += skip_bytes / 4) {
    for (int32_t g = 0; g < groups; ++g, src += 4, dst += 2) {
      const uint32_t word = load_word(src);
      dst[0] = sxtb16(word);
      dst[1] = sxtb16_ror8(word);
    }
  }
}

// Widens `cells` runs of input channels (chunks * 16 bytes each, consecutive in src) into
// band cells skip_bytes apart after each (2 SXTB16 words per group of 4 channels): per chunk
// 4 LDR (single loads: the input may be unaligned), 8 SXTB16 in place and one STM of 8.
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
__attribute__((naked, noipa)) void widen_cells(const int8_t*, uint32_t*, int32_t, int32_t, int32_t) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr r12, [sp, #36]\n\t" /* skip_bytes */
      "0:\n\t"
      "mov lr, r3\n\t"
      "1:\n\t"
      "ldr r8, [r0], #4\n\t"
      "ldr r9, [r0], #4\n\t"
      "ldr r10, [r0], #4\n\t"
      "ldr r11, [r0], #4\n\t"
      "sxtb16 r4, r8\n\t"
      "sxtb16 r5, r8, ror #8\n\t"
      "sxtb16 r6, r9\n\t"
      "sxtb16 r7, r9, ror #8\n\t"
      "sxtb16 r8, r10\n\t"
      "sxtb16 r9, r10, ror #8\n\t"
      "sxtb16 r10, r11\n\t"
      "sxtb16 r11, r11, ror #8\n\t"
      "stm r1!, {r4-r11}\n\t"
      "subs lr, lr, #1\n\t"
      "bne 1b\n\t"
      "add r1, r1, r12\n\t"
      "subs r2, r2, #1\n\t"
      "bne 0b\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
void widen_cells(const int8_t* src, uint32_t* dst, int32_t cells, int32_t chunks, int32_t skip_bytes) {
  widen_cell_groups(src, dst, cells, 4 * chunks, skip_bytes);
}
#endif

}  // namespace

// The band of output row out_y: band[x][fy] holds the widened channels of
// input column x - pad_left of input row out_y * stride_h - pad_top + fy (2 SXTB16 words per
// group of 4), the zero point outside the image, for x in 0..band_w - 1. Per filter row the
// columns inside the image are one strip of the input row (widen_cells when the channels are
// whole 16-byte chunks).
void fill_band(const Window2D& w, int32_t input_zero_point, const int8_t* input, int32_t out_y, int32_t band_w,
               uint32_t* band) {
  const int32_t c = w.input_c, groups = c / 4, fh = w.filter_h;
  const int32_t cell_words = 2 * groups, column_words = fh * cell_words;
  const uint32_t zp4 = static_cast<uint8_t>(input_zero_point) * 0x01010101u;
  const uint32_t zp_a = sxtb16(zp4), zp_b = sxtb16_ror8(zp4);
  const int32_t y0 = out_y * w.stride_h - w.pad_top;
  // Band columns [x_lo, x_hi) read input columns; the others are padding.
  int32_t x_lo = w.pad_left, x_hi = w.pad_left + w.input_w;
  x_lo = x_lo > band_w ? band_w : x_lo;
  x_hi = x_hi > band_w ? band_w : x_hi;
  for (int32_t fy = 0; fy < fh; ++fy) {
    const int32_t iy = y0 + fy;
    const bool row_inside = iy >= 0 && iy < w.input_h;
    uint32_t* cell = band + fy * cell_words;
    for (int32_t x = 0; x < band_w; ++x, cell += column_words) {
      if (row_inside && x == x_lo && x_hi > x_lo) {
        const int8_t* src = input + (iy * w.input_w + (x_lo - w.pad_left)) * c;
        const int32_t cells = x_hi - x_lo;
        const int32_t skip_bytes = 4 * (column_words - cell_words);
        if ((groups & 3) == 0) {
          widen_cells(src, cell, cells, groups / 4, skip_bytes);
        } else {
          widen_cell_groups(src, cell, cells, groups, skip_bytes);
        }
        x = x_hi - 1;
        cell += (cells - 1) * column_words;
        continue;
      }
      for (int32_t g = 0; g < groups; ++g) {
        cell[2 * g] = zp_a;
        cell[2 * g + 1] = zp_b;
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
