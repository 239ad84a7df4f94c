// tinyrig reference kernels: ADD, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_add.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_ADD_H_
#define TINYRIG_REF_ADD_H_

#include <cstdint>

namespace tinyrig {

// ADD with both inputs rescaled to a common scale (TFLite's int8 ADD), with
// 4-D broadcasting: a zero stride repeats the input along that dimension.
struct AddParams {
  int32_t output_dims[4];
  int32_t input1_strides[4];
  int32_t input2_strides[4];
  int32_t input1_offset, input2_offset;  // minus the zero points
  int32_t left_shift;                    // headroom shift applied before rescaling (20 for int8)
  int32_t input1_multiplier, input1_shift;
  int32_t input2_multiplier, input2_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_zero_point;
  int32_t activation_min, activation_max;
};

namespace reference {

void add_s8(const AddParams& params, const int8_t* input1, const int8_t* input2, int8_t* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_ADD_H_
