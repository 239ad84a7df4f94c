// tinyrig DSP-extension kernel: AVERAGE_POOL_2D (int8).
//
// Windows are summed 4 channels per 32-bit load with SXTAB16 (two int16 lanes per
// instruction: channels (0, 2) and, with the load rotated by 8, (1, 3)), 16 channels
// at a time with 8 accumulators. A window has at most 256 values (checked by the
// code generator), so a lane's sum stays within int16 (-128 * 256 = -32768). The
// average is TFLM's rounding division (half away from zero, SDIV), then the clamp.
// Windows are clipped to the image and border averages divide by the real count,
// as in the reference kernel.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_pooling.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

// SXTAB16: acc's halfwords plus bytes 0 and 2 of x, sign-extended (each lane wraps).
inline uint32_t sxtab16(uint32_t acc, uint32_t x) {
#if TINYRIG_DSP_NATIVE
  return __sxtab16(acc, x);
#else
  const uint32_t lo = (acc + static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(x)))) & 0xFFFFu;
  const uint32_t hi = ((acc >> 16) + static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(x >> 16)))) & 0xFFFFu;
  return lo | (hi << 16);
#endif
}

// SXTAB16 of x rotated right by 8: bytes 1 and 3.
inline uint32_t sxtab16_ror8(uint32_t acc, uint32_t x) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
  return r;
#else
  return sxtab16(acc, (x >> 8) | (x << 24));
#endif
}

inline int8_t average(int32_t sum, int32_t count, const Pool2DParams& p) {
  // Round half away from zero; C++ division truncates towards zero.
  int32_t v = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
  v = v < p.activation_min ? p.activation_min : (v > p.activation_max ? p.activation_max : v);
  return static_cast<int8_t>(v);
}

// Stores the 4 channels of the lane pair (a: channels 0, 2; b: channels 1, 3).
inline void store_lanes(uint32_t a, uint32_t b, int32_t count, const Pool2DParams& p, int8_t* out) {
  out[0] = average(low_half(a), count, p);
  out[1] = average(low_half(b), count, p);
  out[2] = average(high_half(a), count, p);
  out[3] = average(high_half(b), count, p);
}

}  // namespace

void average_pool2d_s8(const Pool2DParams& p, const int8_t* input, int8_t* output, int32_t* /*scratch*/) {
  const int32_t channels = p.window.input_c;
  const int32_t groups = channels / 4;
  const int32_t row_bytes = p.window.input_w * channels;
  for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
    const int32_t in_y = out_y * p.window.stride_h - p.window.pad_top;
    const int32_t y_start = in_y < 0 ? 0 : in_y;
    const int32_t y_end = in_y + p.window.filter_h < p.window.input_h ? in_y + p.window.filter_h : p.window.input_h;
    for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
      const int32_t in_x = out_x * p.window.stride_w - p.window.pad_left;
      const int32_t x_start = in_x < 0 ? 0 : in_x;
      const int32_t x_end = in_x + p.window.filter_w < p.window.input_w ? in_x + p.window.filter_w : p.window.input_w;
      const int32_t rows = y_end - y_start, cols = x_end - x_start;
      const int32_t count = rows * cols;
      int8_t* out = output + (out_y * p.window.output_w + out_x) * channels;
      if (count <= 0) continue;  // the code generator rejects such windows (TFLM leaves them)
      const int8_t* window = input + y_start * row_bytes + x_start * channels;
      int32_t g = 0;
      for (; g + 4 <= groups; g += 4) {  // 16 channels
        uint32_t a0 = 0, b0 = 0, a1 = 0, b1 = 0, a2 = 0, b2 = 0, a3 = 0, b3 = 0;
        const int8_t* row = window + 4 * g;
        for (int32_t y = 0; y < rows; ++y, row += row_bytes) {
          const int8_t* px = row;
          for (int32_t x = 0; x < cols; ++x, px += channels) {
            const uint32_t w0 = load_word(px), w1 = load_word(px + 4), w2 = load_word(px + 8),
                           w3 = load_word(px + 12);
            a0 = sxtab16(a0, w0);
            b0 = sxtab16_ror8(b0, w0);
            a1 = sxtab16(a1, w1);
            b1 = sxtab16_ror8(b1, w1);
            a2 = sxtab16(a2, w2);
            b2 = sxtab16_ror8(b2, w2);
            a3 = sxtab16(a3, w3);
            b3 = sxtab16_ror8(b3, w3);
          }
        }
        int8_t* o = out + 4 * g;
        store_lanes(a0, b0, count, p, o);
        store_lanes(a1, b1, count, p, o + 4);
        store_lanes(a2, b2, count, p, o + 8);
        store_lanes(a3, b3, count, p, o + 12);
      }
      for (; g < groups; ++g) {  // 4 channels
        uint32_t a = 0, b = 0;
        const int8_t* row = window + 4 * g;
        for (int32_t y = 0; y < rows; ++y, row += row_bytes) {
          const int8_t* px = row;
          for (int32_t x = 0; x < cols; ++x, px += channels) {
            const uint32_t w = load_word(px);
            a = sxtab16(a, w);
            b = sxtab16_ror8(b, w);
          }
        }
        store_lanes(a, b, count, p, out + 4 * g);
      }
      for (int32_t c = 4 * groups; c < channels; ++c) {  // the last 1-3 channels
        int32_t sum = 0;
        const int8_t* row = window + c;
        for (int32_t y = 0; y < rows; ++y, row += row_bytes) {
          for (int32_t x = 0; x < cols; ++x) sum += row[x * channels];
        }
        out[c] = average(sum, count, p);
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
