// tinyrig DSP-extension kernel: ADD, parameter block and entry point.
//
// Written by codegen/kernels/arm_dsp/add.py: each input's TFLM rescaling tabulated for
// all 256 int8 values, and the fused epilogue of the output rescaling. `scratch` is
// unused. Bit-exact with the reference kernel.
#ifndef TINYRIG_DSP_ADD_H_
#define TINYRIG_DSP_ADD_H_

#include <cstdint>

namespace tinyrig {

// ADD without broadcasting: out = requantize(table1[a] + table2[b]). kShift is the fused
// epilogue's right shift (requant[2], 1..30) and kClamp the activation clamp: both are the
// assembly loop's immediates, one copy per pair a model uses (the others are not linked).
template <int kShift, int kClamp>
struct DspAddParams {
  int32_t size;
  int32_t activation_min, activation_max;
  const int32_t* table1;   // [256] rescaled input 1 for -128..127, times 2^(ls+1)
  const int32_t* table2;   // [256] the same for input 2
  const int32_t* requant;  // [3] fused epilogue of the output rescaling
};

namespace arm_dsp {

template <int kShift, int kClamp>
void add_s8(const DspAddParams<kShift, kClamp>& params, const int8_t* input1, const int8_t* input2, int8_t* output,
            int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_ADD_H_
