// tinyrig reference kernels: FULLY_CONNECTED, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_fully_connected.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_FULLY_CONNECTED_H_
#define TINYRIG_REF_FULLY_CONNECTED_H_

#include <cstdint>

namespace tinyrig {

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

namespace reference {

void fully_connected_s8(const FullyConnectedParams& params, const int8_t* input, int8_t* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_FULLY_CONNECTED_H_
