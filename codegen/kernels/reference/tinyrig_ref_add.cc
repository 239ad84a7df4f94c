// tinyrig reference kernel: ADD (int8), TFLite's general rescaling path.
//
// Both inputs are shifted left by `left_shift` (20 bits of headroom), scaled to
// a common scale (twice the larger input scale), summed, then scaled to the
// output. Each scaling is a separately rounded MultiplyByQuantizedMultiplier,
// exactly as in TFLM's AddFunc.
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_add.h"

namespace tinyrig {
namespace reference {

namespace {

inline int8_t add_one(const AddParams& p, int8_t x, int8_t y) {
  const int32_t shifted1 = wrapping_shift_left(p.input1_offset + x, p.left_shift);
  const int32_t shifted2 = wrapping_shift_left(p.input2_offset + y, p.left_shift);
  const int32_t scaled1 = multiply_by_quantized_multiplier(shifted1, p.input1_multiplier, p.input1_shift);
  const int32_t scaled2 = multiply_by_quantized_multiplier(shifted2, p.input2_multiplier, p.input2_shift);
  const int32_t raw_output =
      multiply_by_quantized_multiplier(scaled1 + scaled2, p.output_multiplier, p.output_shift) +
      p.output_zero_point;
  return static_cast<int8_t>(clamp_i32(raw_output, p.activation_min, p.activation_max));
}

}  // namespace

void add_s8(const AddParams& p, const int8_t* input1, const int8_t* input2, int8_t* output) {
  int32_t out_index = 0;
  for (int32_t i0 = 0; i0 < p.output_dims[0]; ++i0) {
    for (int32_t i1 = 0; i1 < p.output_dims[1]; ++i1) {
      for (int32_t i2 = 0; i2 < p.output_dims[2]; ++i2) {
        const int32_t base1 = i0 * p.input1_strides[0] + i1 * p.input1_strides[1] + i2 * p.input1_strides[2];
        const int32_t base2 = i0 * p.input2_strides[0] + i1 * p.input2_strides[1] + i2 * p.input2_strides[2];
        for (int32_t i3 = 0; i3 < p.output_dims[3]; ++i3) {
          output[out_index++] = add_one(p, input1[base1 + i3 * p.input1_strides[3]],
                                        input2[base2 + i3 * p.input2_strides[3]]);
        }
      }
    }
  }
}

}  // namespace reference
}  // namespace tinyrig
