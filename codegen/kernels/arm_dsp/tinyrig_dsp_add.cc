// tinyrig DSP-extension kernel: ADD (int8), both inputs the output's shape.
//
// TFLM rescales each input on its own (shift left 20, MultiplyByQuantizedMultiplier)
// before summing, so each rescaled value depends on one int8 only: codegen tabulates
// both rescalings (256 int32 each, pre-multiplied by the epilogue's 2^(ls+1)), and
// the kernel is two table loads, an add and the fused requantisation of the sum.
// codegen/kernels/arm_dsp/add.py checks all 65,536 input pairs against TFLM's arithmetic
// and declines the layer if any differs.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_add.h"

namespace tinyrig {
namespace arm_dsp {

namespace {

inline int8_t add_one(const DspAddParams& p, const int32_t* t1, const int32_t* t2, int8_t a, int8_t b) {
  return clamp_output(requantize(t1[a] + t2[b], p.requant), p.clamp, p.activation_min, p.activation_max);
}

}  // namespace

void add_s8(const DspAddParams& p, const int8_t* input1, const int8_t* input2, int8_t* output, int32_t*) {
  // Tables are stored for -128..127; index them by the signed value.
  const int32_t* t1 = p.table1 + 128;
  const int32_t* t2 = p.table2 + 128;
  int32_t i = 0;
  for (; i + 4 <= p.size; i += 4) {  // 4 per trip: one loop branch per 4 elements
    output[i] = add_one(p, t1, t2, input1[i], input2[i]);
    output[i + 1] = add_one(p, t1, t2, input1[i + 1], input2[i + 1]);
    output[i + 2] = add_one(p, t1, t2, input1[i + 2], input2[i + 2]);
    output[i + 3] = add_one(p, t1, t2, input1[i + 3], input2[i + 3]);
  }
  for (; i < p.size; ++i) output[i] = add_one(p, t1, t2, input1[i], input2[i]);
}

}  // namespace arm_dsp
}  // namespace tinyrig
