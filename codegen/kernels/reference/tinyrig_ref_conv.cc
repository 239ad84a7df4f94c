// tinyrig reference kernels: CONV_2D and DEPTHWISE_CONV_2D (int8).
//
// TFLM accumulates sum(w * (x - input_zp)) over the taps inside the image and
// skips padded taps. Here the constant part, -input_zp * sum(w), is folded into
// the bias on the host, so a padded tap must contribute w * input_zp to cancel
// its share of that folded sum: padding reads the zero point, i.e. the
// quantized value of 0.0. The total is identical to TFLM's integer for integer.
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_conv.h"

namespace tinyrig {
namespace reference {

void conv2d_s8(const Conv2DParams& p, const int8_t* input, int8_t* output) {
  const int32_t filters_per_group = p.window.output_c / (p.window.input_c / p.filter_input_c);
  for (int32_t batch = 0; batch < p.batches; ++batch) {
    for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
      const int32_t in_y_origin = out_y * p.window.stride_h - p.window.pad_top;
      for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
        const int32_t in_x_origin = out_x * p.window.stride_w - p.window.pad_left;
        for (int32_t out_c = 0; out_c < p.window.output_c; ++out_c) {
          const int32_t group = out_c / filters_per_group;
          const int8_t* filter = p.weights + out_c * p.window.filter_h * p.window.filter_w * p.filter_input_c;
          int32_t acc = p.folded_bias[out_c];
          for (int32_t filter_y = 0; filter_y < p.window.filter_h; ++filter_y) {
            const int32_t in_y = in_y_origin + p.window.dilation_h * filter_y;
            const bool row_inside = in_y >= 0 && in_y < p.window.input_h;
            for (int32_t filter_x = 0; filter_x < p.window.filter_w; ++filter_x) {
              const int32_t in_x = in_x_origin + p.window.dilation_w * filter_x;
              const int8_t* tap_weights = filter + (filter_y * p.window.filter_w + filter_x) * p.filter_input_c;
              if (row_inside && in_x >= 0 && in_x < p.window.input_w) {
                const int8_t* tap_input =
                    input + ((batch * p.window.input_h + in_y) * p.window.input_w + in_x) * p.window.input_c +
                    group * p.filter_input_c;
                for (int32_t c = 0; c < p.filter_input_c; ++c) {
                  acc += static_cast<int32_t>(tap_weights[c]) * static_cast<int32_t>(tap_input[c]);
                }
              } else {
                for (int32_t c = 0; c < p.filter_input_c; ++c) {
                  acc += static_cast<int32_t>(tap_weights[c]) * p.input_zero_point;
                }
              }
            }
          }
          const int32_t channel = p.per_channel ? out_c : 0;
          output[((batch * p.window.output_h + out_y) * p.window.output_w + out_x) * p.window.output_c + out_c] =
              requantize_accumulator_to_int8(acc, p.multipliers[channel], p.shifts[channel],
                                     p.output_zero_point, p.activation_min, p.activation_max);
        }
      }
    }
  }
}

void depthwise_conv2d_s8(const DepthwiseConv2DParams& p, const int8_t* input, int8_t* output) {
  for (int32_t batch = 0; batch < p.batches; ++batch) {
    for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
      const int32_t in_y_origin = out_y * p.window.stride_h - p.window.pad_top;
      for (int32_t out_x = 0; out_x < p.window.output_w; ++out_x) {
        const int32_t in_x_origin = out_x * p.window.stride_w - p.window.pad_left;
        for (int32_t in_c = 0; in_c < p.window.input_c; ++in_c) {
          for (int32_t m = 0; m < p.depth_multiplier; ++m) {
            const int32_t out_c = in_c * p.depth_multiplier + m;
            int32_t acc = p.folded_bias[out_c];
            for (int32_t filter_y = 0; filter_y < p.window.filter_h; ++filter_y) {
              const int32_t in_y = in_y_origin + p.window.dilation_h * filter_y;
              const bool row_inside = in_y >= 0 && in_y < p.window.input_h;
              for (int32_t filter_x = 0; filter_x < p.window.filter_w; ++filter_x) {
                const int32_t in_x = in_x_origin + p.window.dilation_w * filter_x;
                const int32_t weight =
                    p.weights[(filter_y * p.window.filter_w + filter_x) * p.window.output_c + out_c];
                const int32_t value =
                    (row_inside && in_x >= 0 && in_x < p.window.input_w)
                        ? static_cast<int32_t>(
                              input[((batch * p.window.input_h + in_y) * p.window.input_w + in_x) * p.window.input_c +
                                    in_c])
                        : p.input_zero_point;
                acc += weight * value;
              }
            }
            const int32_t channel = p.per_channel ? out_c : 0;
            output[((batch * p.window.output_h + out_y) * p.window.output_w + out_x) * p.window.output_c + out_c] =
                requantize_accumulator_to_int8(acc, p.multipliers[channel], p.shifts[channel],
                                       p.output_zero_point, p.activation_min, p.activation_max);
          }
        }
      }
    }
  }
}

}  // namespace reference
}  // namespace tinyrig
