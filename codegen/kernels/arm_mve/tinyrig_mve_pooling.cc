// tinyrig Helium kernel: AVERAGE_POOL_2D (int8).
//
// Four channels per vector: the window's bytes are widened with VLDRB.S32 and
// summed in int32 lanes. TFLM divides with round-half-away-from-zero, i.e.
// sign(sum) * ((|sum| + count / 2) / count); the division is a multiply by a
// reciprocal the code generator checked to be exact for every sum an int8 window
// of that size can reach (|sum| <= 128 * count).
//
// Windows of at most 256 values (every MLPerf Tiny pool) sum in int16 lanes
// instead: 256 * -128 and 256 * 127 both fit, so VLDRB.S16 + VADD.I16 take 8
// channels per instruction pair (half the loads and adds of int32 lanes). The sums
// are then widened as even and odd lanes (VMOVLB/VMOVLT), divided in int32 and
// narrowed back into channel order (VMOVNB/VMOVNT) for one predicated byte store.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_pooling.h"

namespace tinyrig {
namespace arm_mve {

#if TINYRIG_MVE_NATIVE
// The largest window whose int8 sum fits int16 lanes (256 * -128 == INT16_MIN).
constexpr int32_t kInt16PoolWindow = 256;

// round-half-away-from-zero sum / count by the exact reciprocal, on int32 lanes.
inline int32x4_t divide_rounded(int32x4_t sum, int32_t count, uint32_t reciprocal) {
  if (count <= 1) return sum;
  const int32x4_t sign = vshrq_n_s32(sum, 31);
  const uint32x4_t magnitude = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(sum), count / 2));
  const int32x4_t quotient = vreinterpretq_s32_u32(vmulhq_u32(magnitude, vdupq_n_u32(reciprocal)));
  return vsubq_s32(veorq_s32(quotient, sign), sign);
}

// 8 int16 window sums -> 8 int8 outputs at `output` (the first `keep` lanes).
inline void store_pooled(int16x8_t sum, int32_t count, uint32_t reciprocal, int16x8_t lo, int16x8_t hi,
                         int8_t* output, mve_pred16_t keep) {
  const int32x4_t even = divide_rounded(vmovlbq_s16(sum), count, reciprocal);
  const int32x4_t odd = divide_rounded(vmovltq_s16(sum), count, reciprocal);
  // |quotient| <= 128: narrowing to int16 is exact, the clamp then gives int8.
  const int16x8_t value = vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), even), odd);
  vstrbq_p_s16(output, vminq_s16(vmaxq_s16(value, lo), hi), keep);
}

// One output pixel: `rows` x `cols` input pixels from `window`; 16 channels per
// step (two unpredicated loads and adds per pixel), then 8 at a time, predicated.
void pool_window_int16(const MveAveragePool2DParams& p, const int8_t* window, int32_t row_stride, int32_t rows,
                       int32_t cols, int32_t count, uint32_t reciprocal, int8_t* output) {
  const int16x8_t lo = vdupq_n_s16(static_cast<int16_t>(p.activation_min));
  const int16x8_t hi = vdupq_n_s16(static_cast<int16_t>(p.activation_max));
  const int32_t channels = p.window.input_c;
  // Whole rows of the image are one run of pixels (global pools, VALID full-width windows).
  if (cols * channels == row_stride) {
    cols *= rows;
    rows = 1;
  }
  int32_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    int16x8_t sum0 = vdupq_n_s16(0), sum1 = vdupq_n_s16(0);
    const int8_t* row = window + c;
    for (int32_t y = 0; y < rows; ++y, row += row_stride) {
      const int8_t* x = row;
      for (int32_t i = 0; i < cols; ++i, x += channels) {
        sum0 = vaddq_s16(sum0, vldrbq_s16(x));
        sum1 = vaddq_s16(sum1, vldrbq_s16(x + 8));
      }
    }
    store_pooled(sum0, count, reciprocal, lo, hi, output + c, 0xffff);
    store_pooled(sum1, count, reciprocal, lo, hi, output + c + 8, 0xffff);
  }
  for (; c < channels; c += 8) {
    const mve_pred16_t keep = vctp16q(static_cast<uint32_t>(channels - c));
    int16x8_t sum = vdupq_n_s16(0);
    const int8_t* row = window + c;
    for (int32_t y = 0; y < rows; ++y, row += row_stride) {
      const int8_t* x = row;
      for (int32_t i = 0; i < cols; ++i, x += channels) sum = vaddq_s16(sum, vldrbq_z_s16(x, keep));
    }
    store_pooled(sum, count, reciprocal, lo, hi, output + c, keep);
  }
}
#endif

void average_pool2d_s8(const MveAveragePool2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  (void)scratch;
  for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
    const int32_t y_origin = out_y * p.window.stride_h - p.window.pad_top;
    const int32_t y_start = y_origin < 0 ? 0 : y_origin;
    const int32_t y_end = y_origin + p.window.filter_h < p.window.input_h
        ? y_origin + p.window.filter_h : p.window.input_h;
    for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x, output += p.window.input_c) {
      const int32_t x_origin = out_x * p.window.stride_w - p.window.pad_left;
      const int32_t x_start = x_origin < 0 ? 0 : x_origin;
      const int32_t x_end = x_origin + p.window.filter_w < p.window.input_w
          ? x_origin + p.window.filter_w : p.window.input_w;
      const int32_t count = (y_end - y_start) * (x_end - x_start);
      const uint32_t reciprocal = static_cast<uint32_t>(p.reciprocals[count]);
      const int32_t row_stride = p.window.input_w * p.window.input_c;
      const int8_t* window = input + (y_start * p.window.input_w + x_start) * p.window.input_c;
#if TINYRIG_MVE_NATIVE
      if (p.window.filter_h * p.window.filter_w <= kInt16PoolWindow) {
        pool_window_int16(p, window, row_stride, y_end - y_start, x_end - x_start, count, reciprocal, output);
        continue;
      }
      const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
      for (int32_t c = 0; c < p.window.input_c; c += 4) {
        const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(p.window.input_c - c));
        int32x4_t sum = vdupq_n_s32(0);
        const int8_t* row = window + c;
        for (int32_t y = y_start; y < y_end; ++y, row += row_stride) {
          const int8_t* x = row;
          for (int32_t i = x_start; i < x_end; ++i, x += p.window.input_c) sum = vaddq_s32(sum, vldrbq_z_s32(x, keep));
        }
        const int32x4_t value = divide_rounded(sum, count, reciprocal);
        vstrbq_p_s32(output + c, vminq_s32(vmaxq_s32(value, lo), hi), keep);
      }
#else
      for (int32_t c = 0; c < p.window.input_c; ++c) {
        int32_t sum = 0;
        for (int32_t y = y_start; y < y_end; ++y) {
          for (int32_t x = x_start; x < x_end; ++x) {
            sum += window[(y - y_start) * row_stride + (x - x_start) * p.window.input_c + c];
          }
        }
        int32_t value = sum;
        if (count > 1) {
          const uint32_t magnitude = static_cast<uint32_t>(sum < 0 ? -sum : sum) + static_cast<uint32_t>(count / 2);
          const int32_t quotient = static_cast<int32_t>((static_cast<uint64_t>(magnitude) * reciprocal) >> 32);
          value = sum < 0 ? -quotient : quotient;
        }
        output[c] = static_cast<int8_t>(value < p.activation_min ? p.activation_min
                                        : (value > p.activation_max ? p.activation_max : value));
      }
#endif
    }
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
