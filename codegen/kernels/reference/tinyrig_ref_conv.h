// tinyrig reference kernels: CONV_2D and DEPTHWISE_CONV_2D, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_conv.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_CONV_H_
#define TINYRIG_REF_CONV_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

// CONV_2D, int8 activations, int8 weights [out_c][filter_h][filter_w][in_c / groups].
struct Conv2DParams {
  int32_t batches;
  Window2D window;
  int32_t filter_input_c;     // < window.input_c means grouped
  int32_t input_zero_point;   // value that taps outside the image read (quantized 0.0)
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
  int32_t per_channel;
  const int8_t* weights;
  // bias[c] + input_offset * sum(weights of channel c): the zero-point term folded
  // on the host, so the inner loop is a plain sum of weight * input.
  const int32_t* folded_bias;
  const int32_t* multipliers;
  const int32_t* shifts;
};

// DEPTHWISE_CONV_2D, weights [1][filter_h][filter_w][output_c],
// output channel = input channel * depth_multiplier + m.
struct DepthwiseConv2DParams {
  int32_t batches;
  Window2D window;
  int32_t depth_multiplier;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
  int32_t per_channel;
  const int8_t* weights;
  const int32_t* folded_bias;
  const int32_t* multipliers;
  const int32_t* shifts;
};

namespace reference {

void conv2d_s8(const Conv2DParams& params, const int8_t* input, int8_t* output);
void depthwise_conv2d_s8(const DepthwiseConv2DParams& params, const int8_t* input, int8_t* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_CONV_H_
