// tinyrig Helium kernel: AVERAGE_POOL_2D (int8).
//
// Four channels per vector: the window's bytes are widened with VLDRB.S32 and
// summed in int32 lanes. TFLM divides with round-half-away-from-zero, i.e.
// sign(sum) * ((|sum| + count / 2) / count); the division is a multiply by a
// reciprocal the code generator checked to be exact for every sum an int8 window
// of that size can reach (|sum| <= 128 * count).
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_kernels.h"

namespace tinyrig {
namespace arm_mve {

void average_pool2d_s8(const MveAveragePool2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  (void)scratch;
  for (int32_t out_y = 0; out_y < p.output_h; ++out_y) {
    const int32_t y_origin = out_y * p.stride_h - p.pad_top;
    const int32_t y_start = y_origin < 0 ? 0 : y_origin;
    const int32_t y_end = y_origin + p.filter_h < p.input_h ? y_origin + p.filter_h : p.input_h;
    for (int32_t out_x = 0; out_x < p.output_w; ++out_x, output += p.channels) {
      const int32_t x_origin = out_x * p.stride_w - p.pad_left;
      const int32_t x_start = x_origin < 0 ? 0 : x_origin;
      const int32_t x_end = x_origin + p.filter_w < p.input_w ? x_origin + p.filter_w : p.input_w;
      const int32_t count = (y_end - y_start) * (x_end - x_start);
      const uint32_t reciprocal = static_cast<uint32_t>(p.reciprocals[count]);
      const int32_t row_stride = p.input_w * p.channels;
      const int8_t* window = input + (y_start * p.input_w + x_start) * p.channels;
#if TINYRIG_MVE_NATIVE
      const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
      for (int32_t c = 0; c < p.channels; c += 4) {
        const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(p.channels - c));
        int32x4_t sum = vdupq_n_s32(0);
        const int8_t* row = window + c;
        for (int32_t y = y_start; y < y_end; ++y, row += row_stride) {
          const int8_t* x = row;
          for (int32_t i = x_start; i < x_end; ++i, x += p.channels) sum = vaddq_s32(sum, vldrbq_z_s32(x, keep));
        }
        int32x4_t value = sum;
        if (count > 1) {
          const int32x4_t sign = vshrq_n_s32(sum, 31);
          const uint32x4_t magnitude = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(sum), count / 2));
          const int32x4_t quotient = vreinterpretq_s32_u32(vmulhq_u32(magnitude, vdupq_n_u32(reciprocal)));
          value = vsubq_s32(veorq_s32(quotient, sign), sign);
        }
        vstrbq_p_s32(output + c, vminq_s32(vmaxq_s32(value, lo), hi), keep);
      }
#else
      for (int32_t c = 0; c < p.channels; ++c) {
        int32_t sum = 0;
        for (int32_t y = y_start; y < y_end; ++y) {
          for (int32_t x = x_start; x < x_end; ++x) sum += window[(y - y_start) * row_stride + (x - x_start) * p.channels + c];
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
