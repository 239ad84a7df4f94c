// tinyrig reference kernels: AVERAGE_POOL_2D and MAX_POOL_2D, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_pooling.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_POOLING_H_
#define TINYRIG_REF_POOLING_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

// AVERAGE_POOL_2D and MAX_POOL_2D (input and output share scale and zero point).
struct Pool2DParams {
  int32_t batches;
  Window2D window;  // channels: window.input_c
  int32_t activation_min, activation_max;
};

namespace reference {

void average_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output);
void max_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_POOLING_H_
