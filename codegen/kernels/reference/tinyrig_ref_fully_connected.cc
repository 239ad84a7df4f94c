// tinyrig reference kernel: FULLY_CONNECTED (int8).
//
// TFLM computes sum((x - input_zp) * w) + bias; the -input_zp * sum(w) part is
// folded into the bias on the host (no padding here, so the fold is exact).
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_fully_connected.h"

namespace tinyrig {
namespace reference {

void fully_connected_s8(const FullyConnectedParams& p, const int8_t* input, int8_t* output) {
  for (int32_t batch = 0; batch < p.batches; ++batch) {
    const int8_t* row = input + batch * p.accum_depth;
    for (int32_t out_c = 0; out_c < p.output_depth; ++out_c) {
      const int8_t* weights = p.weights + out_c * p.accum_depth;
      int32_t acc = p.folded_bias[out_c];
      for (int32_t d = 0; d < p.accum_depth; ++d) {
        acc += static_cast<int32_t>(weights[d]) * static_cast<int32_t>(row[d]);
      }
      const int32_t channel = p.per_channel ? out_c : 0;
      output[batch * p.output_depth + out_c] = requantize_accumulator_to_int8(
          acc, p.multipliers[channel], p.shifts[channel], p.output_zero_point, p.activation_min,
          p.activation_max);
    }
  }
}

}  // namespace reference
}  // namespace tinyrig
