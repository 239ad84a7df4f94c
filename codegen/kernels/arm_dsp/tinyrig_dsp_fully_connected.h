// tinyrig DSP-extension kernel: FULLY_CONNECTED: parameter blocks and entry points.
//
// Written by codegen/kernels/arm_dsp/fully_connected.py: weights pre-widened to int16 pairs in the
// order the kernel loads them, already scaled for the fused epilogue, with bias and
// per-channel requantisation constants beside them. `scratch` is the model's shared
// scratch buffer (RAM apart from the arena), at least the layer's scratch_bytes long and
// 4-byte aligned. Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_FULLY_CONNECTED_H_
#define TINYRIG_DSP_FULLY_CONNECTED_H_

#include <cstdint>

namespace tinyrig {

struct DspFullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;
  int32_t depth_padded;    // multiple of 16
  int32_t output_depth;
  int32_t outputs_padded;  // multiple of 4
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* weights;  // [outputs_padded / 4][depth_padded / 4][2][4] int16 pairs
  const int32_t* bias;
  const int32_t* requant;
};

namespace arm_dsp {

void fully_connected_s8(const DspFullyConnectedParams& params, const int8_t* input, int8_t* output,
                        int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_FULLY_CONNECTED_H_
