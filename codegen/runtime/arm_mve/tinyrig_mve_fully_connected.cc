// tinyrig Helium kernel: FULLY_CONNECTED (int8), 4 outputs per pass over the input.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_kernels.h"

namespace tinyrig {
namespace arm_mve {

void fully_connected_s8(const MveFullyConnectedParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  // The row is copied into zero-padded scratch so every chunk is a whole vector.
  int8_t* row = reinterpret_cast<int8_t*>(scratch);
  for (int32_t batch = 0; batch < p.batches; ++batch, input += p.accum_depth, output += p.output_depth) {
    for (int32_t i = 0; i < p.depth_padded; ++i) row[i] = i < p.accum_depth ? input[i] : 0;
    for (int32_t first = 0; first < p.outputs_padded; first += 4) {
      int32_t acc[4] = {p.bias[first], p.bias[first + 1], p.bias[first + 2], p.bias[first + 3]};
      dot_1x4(row, p.weights + first * p.depth_padded, p.depth_padded, acc);
      const int32_t count = p.output_depth - first < 4 ? p.output_depth - first : 4;
      for (int32_t i = 0; i < count; ++i) {
        output[first + i] = requantize_output(acc[i], p.requant + 4 * (first + i), p.clamp, p.activation_min,
                                              p.activation_max);
      }
    }
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
