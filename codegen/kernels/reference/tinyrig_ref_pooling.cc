// tinyrig reference kernels: AVERAGE_POOL_2D and MAX_POOL_2D (int8).
//
// Windows are clipped to the image: padded positions are neither summed nor
// counted, so border averages divide by the number of real pixels, as in TFLM.
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_pooling.h"

namespace tinyrig {
namespace reference {

namespace {

inline int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
inline int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }

}  // namespace

void average_pool2d_s8(const Pool2DParams& p, const int8_t* input, int8_t* output) {
  for (int32_t batch = 0; batch < p.batches; ++batch) {
    for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
      const int32_t in_y_origin = out_y * p.window.stride_h - p.window.pad_top;
      const int32_t y_start = max_i32(0, -in_y_origin);
      const int32_t y_end = min_i32(p.window.filter_h, p.window.input_h - in_y_origin);
      for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
        const int32_t in_x_origin = out_x * p.window.stride_w - p.window.pad_left;
        const int32_t x_start = max_i32(0, -in_x_origin);
        const int32_t x_end = min_i32(p.window.filter_w, p.window.input_w - in_x_origin);
        for (int32_t channel = 0; channel < p.window.input_c; ++channel) {
          int32_t acc = 0;
          int32_t count = 0;
          for (int32_t fy = y_start; fy < y_end; ++fy) {
            for (int32_t fx = x_start; fx < x_end; ++fx) {
              const int32_t in_y = in_y_origin + fy;
              const int32_t in_x = in_x_origin + fx;
              acc += input[((batch * p.window.input_h + in_y) * p.window.input_w + in_x) * p.window.input_c + channel];
              ++count;
            }
          }
          // TFLM leaves the output untouched (and reports failure) for an empty
          // window; the code generator rejects shapes where that can happen.
          if (count == 0) continue;
          // Round half away from zero; C++ division truncates towards zero.
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          output[((batch * p.window.output_h + out_y) * p.window.output_w + out_x) * p.window.input_c + channel] =
              static_cast<int8_t>(clamp_i32(acc, p.activation_min, p.activation_max));
        }
      }
    }
  }
}

void max_pool2d_s8(const Pool2DParams& p, const int8_t* input, int8_t* output) {
  for (int32_t batch = 0; batch < p.batches; ++batch) {
    for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
      const int32_t in_y_origin = out_y * p.window.stride_h - p.window.pad_top;
      const int32_t y_start = max_i32(0, -in_y_origin);
      const int32_t y_end = min_i32(p.window.filter_h, p.window.input_h - in_y_origin);
      for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
        const int32_t in_x_origin = out_x * p.window.stride_w - p.window.pad_left;
        const int32_t x_start = max_i32(0, -in_x_origin);
        const int32_t x_end = min_i32(p.window.filter_w, p.window.input_w - in_x_origin);
        for (int32_t channel = 0; channel < p.window.input_c; ++channel) {
          int32_t max_value = -128;
          for (int32_t fy = y_start; fy < y_end; ++fy) {
            for (int32_t fx = x_start; fx < x_end; ++fx) {
              const int32_t in_y = in_y_origin + fy;
              const int32_t in_x = in_x_origin + fx;
              max_value = max_i32(max_value, input[((batch * p.window.input_h + in_y) * p.window.input_w + in_x) *
                                                       p.window.input_c + channel]);
            }
          }
          output[((batch * p.window.output_h + out_y) * p.window.output_w + out_x) * p.window.input_c + channel] =
              static_cast<int8_t>(clamp_i32(max_value, p.activation_min, p.activation_max));
        }
      }
    }
  }
}

}  // namespace reference
}  // namespace tinyrig
