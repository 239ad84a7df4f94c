// tinyrig DSP-extension kernel: FULLY_CONNECTED (int8), four outputs per block.
//
// With one input row there is no reuse of a weight, so the loop is bound by
// loading weights: pre-widened int16 pairs come four words per LDM. The input row
// is widened once into scratch and then read by every block.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_fully_connected.h"

namespace tinyrig {
namespace arm_dsp {

void fully_connected_s8(const DspFullyConnectedParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  uint32_t* row = reinterpret_cast<uint32_t*>(scratch);
  const int32_t steps = p.depth_padded / 2;
  for (int32_t batch = 0; batch < p.batches; ++batch, input += p.accum_depth, output += p.output_depth) {
    widen(input, p.accum_depth, steps, 1, row);
    const int32_t* weights = p.weights;
    for (int32_t first = 0; first < p.outputs_padded; first += 4, weights += 4 * steps) {
      int32_t acc[4];
      tinyrig_dsp_block_1x4(row, weights, p.depth_padded / 16, p.bias + first, acc);
      const int32_t count = p.output_depth - first < 4 ? p.output_depth - first : 4;
      for (int32_t i = 0; i < count; ++i) {
        output[first + i] =
            clamp_output(requantize(acc[i], p.requant + 3 * (first + i)), p.clamp, p.activation_min, p.activation_max);
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
