// tinyrig DSP-extension kernel: AVERAGE_POOL_2D, entry point.
//
// It takes the reference kernel's Pool2DParams as they are (codegen/kernels/arm_dsp/pooling.py
// only checks the window size). `scratch` is unused. Bit-exact with the reference kernel.
#ifndef TINYRIG_DSP_POOLING_H_
#define TINYRIG_DSP_POOLING_H_

#include <cstdint>

#include "tinyrig_ref_pooling.h"

namespace tinyrig {
namespace arm_dsp {

void average_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_POOLING_H_
