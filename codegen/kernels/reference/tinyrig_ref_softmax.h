// tinyrig reference kernels: SOFTMAX, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_softmax.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_SOFTMAX_H_
#define TINYRIG_REF_SOFTMAX_H_

#include <cstdint>

namespace tinyrig {

// SOFTMAX int8 -> int8 over the last dimension, TFLite's fixed-point exp path.
struct SoftmaxParams {
  int32_t outer_size;
  int32_t depth;
  int32_t input_multiplier;
  int32_t input_left_shift;
  int32_t diff_min;  // differences to the row maximum below this contribute exp() = 0
};

namespace reference {

void softmax_s8(const SoftmaxParams& params, const int8_t* input, int8_t* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_SOFTMAX_H_
