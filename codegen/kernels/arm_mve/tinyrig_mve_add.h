// tinyrig Helium kernel: ADD, parameter block and entry point.
//
// Written by codegen/kernels/arm_mve/add.py: each input's TFLM rescaling tabulated in
// raw-byte order for gather loads. `scratch` is unused. Bit-exact with the reference kernel.
#ifndef TINYRIG_MVE_ADD_H_
#define TINYRIG_MVE_ADD_H_

#include <cstdint>

namespace tinyrig {

struct MveAddParams {
  int32_t size;
  int32_t output_multiplier, output_neg_shift;  // shift <= 0
  int32_t output_offset;
  int32_t activation_min, activation_max;
  const int32_t* table1;  // [raw byte]: the input's rescaled value, as TFLM computes it
  const int32_t* table2;
};

namespace arm_mve {

void add_s8(const MveAddParams& params, const int8_t* input1, const int8_t* input2, int8_t* output,
            int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_ADD_H_
