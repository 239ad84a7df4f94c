// tinyrig inference runtime: per-layer parameter blocks.
//
// The code generator emits one const instance of these structs per layer at
// namespace scope (so it lands in flash), with every shape and quantization
// constant already computed on the host. Kernel variants (portable reference,
// Cortex-M DSP, Helium, ...) all take the same parameter block, so a board can
// swap the implementation of a layer without touching the generated model.
//
// Conventions shared by all kernels:
//  * Activations are NHWC, int8 unless stated.
//  * `multiplier`/`shift` pairs are TFLite's quantized multipliers: the real
//    scale is multiplier * 2^(shift - 31); shift > 0 means a left shift.
//  * Arrays flagged `per_channel == 0` hold a single entry used for every channel.
#ifndef TINYRIG_KERNEL_PARAMS_H_
#define TINYRIG_KERNEL_PARAMS_H_

#include <cstdint>

namespace tinyrig {

// CONV_2D, int8 activations, int8 weights [out_c][filter_h][filter_w][in_c / groups].
struct Conv2DParams {
  int32_t batches;
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;
  int32_t filter_h, filter_w, filter_input_c;  // filter_input_c < input_c means grouped
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;  // TFLite puts any odd padding pixel at the bottom/right
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
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;
  int32_t filter_h, filter_w;
  int32_t depth_multiplier;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
  int32_t per_channel;
  const int8_t* weights;
  const int32_t* folded_bias;
  const int32_t* multipliers;
  const int32_t* shifts;
};

// FULLY_CONNECTED: output[b][o] = sum_d weights[o][d] * input[b * accum_depth + d].
struct FullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;
  int32_t output_depth;
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
  int32_t per_channel;
  const int8_t* weights;
  const int32_t* folded_bias;
  const int32_t* multipliers;
  const int32_t* shifts;
};

// ADD with both inputs rescaled to a common scale (TFLite's int8 ADD), with
// 4-D broadcasting: a zero stride repeats the input along that dimension.
struct AddParams {
  int32_t output_dims[4];
  int32_t input1_strides[4];
  int32_t input2_strides[4];
  int32_t input1_offset, input2_offset;  // minus the zero points
  int32_t left_shift;                    // headroom shift applied before rescaling (20 for int8)
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
};

// AVERAGE_POOL_2D and MAX_POOL_2D (input and output share scale and zero point).
struct Pool2DParams {
  int32_t batches;
  int32_t input_h, input_w, channels;
  int32_t output_h, output_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t activation_min, activation_max;
};

// SOFTMAX int8 -> int8 over the last dimension, TFLite's fixed-point exp path.
struct SoftmaxParams {
  int32_t outer_size;
  int32_t depth;
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min;  // differences to the row maximum below this contribute exp() = 0
};

// QUANTIZE float32 -> int8.
struct QuantizeParams {
  int32_t size;
  float scale;
  int32_t zero_point;
};

// QUANTIZE int8 -> int8 (requantize to another scale / zero point).
struct RequantizeParams {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
};

// DEQUANTIZE int8 -> float32.
struct DequantizeParams {
  int32_t size;
  float scale;
  int32_t zero_point;
};

}  // namespace tinyrig

#endif  // TINYRIG_KERNEL_PARAMS_H_
