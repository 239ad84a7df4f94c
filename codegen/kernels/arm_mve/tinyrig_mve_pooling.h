// tinyrig Helium kernel: AVERAGE_POOL_2D, parameter block and entry point.
//
// Written by codegen/kernels/arm_mve/pooling.py: a reciprocal per window size, each
// checked to divide exactly. `scratch` is unused. Bit-exact with the reference kernel.
#ifndef TINYRIG_MVE_POOLING_H_
#define TINYRIG_MVE_POOLING_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

struct MveAveragePool2DParams {
  Window2D window;  // channels: window.input_c
  int32_t activation_min, activation_max;
  const int32_t* reciprocals;  // [count], read as uint32: n / count == (n * r) >> 32 for every reachable n
};

namespace arm_mve {

void average_pool2d_s8(const MveAveragePool2DParams& params, const int8_t* input, int8_t* output,
                       int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_POOLING_H_
