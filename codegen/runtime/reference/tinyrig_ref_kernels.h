// tinyrig inference runtime: portable reference kernels.
//
// Plain C++ with no target intrinsics. They are the kernels every optimized
// variant is tested against, and they are bit-exact with TensorFlow Lite Micro's
// reference kernels (see tinyrig_fixedpoint.h for the shared arithmetic).
#ifndef TINYRIG_REF_KERNELS_H_
#define TINYRIG_REF_KERNELS_H_

#include <cstdint>

#include "tinyrig_kernel_params.h"

namespace tinyrig {
namespace reference {

void conv2d_s8(const Conv2DParams& params, const int8_t* input, int8_t* output);
void depthwise_conv2d_s8(const DepthwiseConv2DParams& params, const int8_t* input, int8_t* output);
void fully_connected_s8(const FullyConnectedParams& params, const int8_t* input, int8_t* output);
void add_s8(const AddParams& params, const int8_t* input1, const int8_t* input2, int8_t* output);
void average_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output);
void max_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output);
void softmax_s8(const SoftmaxParams& params, const int8_t* input, int8_t* output);
void quantize_f32_s8(const QuantizeParams& params, const float* input, int8_t* output);
void requantize_s8(const RequantizeParams& params, const int8_t* input, int8_t* output);
void dequantize_s8_f32(const DequantizeParams& params, const int8_t* input, float* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_KERNELS_H_
