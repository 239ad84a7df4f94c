// tinyrig DSP-extension kernel: CONV_2D 1x1 without padding on exactly 8 input channels.
//
// Written by codegen/kernels/arm_dsp/pointwise8.py. One filter at a time is held in
// registers and swept over a chunk of pixels widened once into scratch (at least the
// layer's scratch_bytes, 4-byte aligned). Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_POINTWISE8_H_
#define TINYRIG_DSP_POINTWISE8_H_

#include <cstdint>

namespace tinyrig {

struct DspPointwise8Params {
  int32_t output_h, output_w, output_c;
  int32_t input_w;
  int32_t stride_h, stride_w;
  const int32_t* records;  // [output_c][8]: 4 weight words (SXTB16 order), bias, M, rounding, e
};

namespace arm_dsp {

void conv2d_s8(const DspPointwise8Params& params, const int8_t* input, int8_t* output, int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_POINTWISE8_H_
