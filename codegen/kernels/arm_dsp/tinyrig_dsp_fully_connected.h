// tinyrig DSP-extension kernel: FULLY_CONNECTED: parameter block and entry point.
//
// Written by codegen/kernels/arm_dsp/fully_connected.py: int8 weights (one byte each, the
// odd-position ones adjusted so that a halfword reads as w_even + 256 w_odd) in the order
// the kernel loads them, the accumulators' start values and per-output requantisation
// constants beside them. `scratch` is the model's shared scratch buffer (RAM apart from
// the arena), at least the layer's scratch_bytes long and 4-byte aligned. Results are
// bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_FULLY_CONNECTED_H_
#define TINYRIG_DSP_FULLY_CONNECTED_H_

#include <cstdint>

namespace tinyrig {

struct DspFullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;
  int32_t groups;          // accum_depth / 4, rounded up
  int32_t output_depth;
  int32_t activation_min, activation_max;
  int32_t mode;            // 0: one requant row for all outputs, no clamp; 1: a row per output, clamped
  const int32_t* stream;   // per block of 5 outputs: 5 start values (256 x bias - 127 x the sum of the
                           // even-position weights), then [groups][5 rows] words of 4 int8 weights
  const int32_t* requant;  // per output (or one row): M, rounding, e, right shift to the scaled accumulator
};

namespace arm_dsp {

void fully_connected_s8(const DspFullyConnectedParams& params, const int8_t* input, int8_t* output,
                        int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_FULLY_CONNECTED_H_
