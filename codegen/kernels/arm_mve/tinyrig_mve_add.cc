// tinyrig Helium kernel: ADD (int8, same shapes).
//
// TFLM rescales each input on its own (offset, left shift, multiplier) before the
// sum, so each input's rescaled value depends on one byte: a 256-entry int32 table
// indexed by the raw byte, read 4 lanes at a time with a gather load (VLDRW.32
// with shifted byte offsets). The sum is then requantised by the vector epilogue
// (any right shift, including none) and clamped.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_add.h"

namespace tinyrig {
namespace arm_mve {

void add_s8(const MveAddParams& p, const int8_t* input1, const int8_t* input2, int8_t* output, int32_t* scratch) {
  (void)scratch;
#if TINYRIG_MVE_NATIVE
  const int32x4_t neg_shift = vdupq_n_s32(p.output_neg_shift);
  const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
  const uint8_t* a = reinterpret_cast<const uint8_t*>(input1);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(input2);
  // Locals, so that the stores through `output` do not make the compiler reload them.
  const int32_t* table1 = p.table1;
  const int32_t* table2 = p.table2;
  const int32_t multiplier = p.output_multiplier, offset = p.output_offset;
  // TFLM's MultiplyByQuantizedMultiplierSmallerThanOneExp of the sum (right shift
  // 0..31: the sign fix-up is masked off where there is none), offset and clamp.
  auto requantize = [=](int32x4_t sum) {
    int32x4_t y = vqrdmulhq_n_s32(sum, multiplier);
    y = vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(vandq_s32(y, neg_shift), 31)), neg_shift);
    return vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), lo), hi);
  };
  int32_t left = p.size;
  for (; left >= 4; left -= 4, a += 4, b += 4, output += 4) {
    const int32x4_t x = vldrwq_gather_shifted_offset_s32(table1, vldrbq_u32(a));
    const int32x4_t y = vldrwq_gather_shifted_offset_s32(table2, vldrbq_u32(b));
    vstrbq_s32(output, requantize(vaddq_s32(x, y)));
  }
  if (left > 0) {
    const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(left));
    const int32x4_t x = vldrwq_gather_shifted_offset_z_s32(table1, vldrbq_z_u32(a, keep), keep);
    const int32x4_t y = vldrwq_gather_shifted_offset_z_s32(table2, vldrbq_z_u32(b, keep), keep);
    vstrbq_p_s32(output, requantize(vaddq_s32(x, y)), keep);
  }
#else
  for (int32_t i = 0; i < p.size; ++i) {
    const int32_t sum = p.table1[static_cast<uint8_t>(input1[i])] + p.table2[static_cast<uint8_t>(input2[i])];
    const int32_t y = multiply_by_quantized_multiplier(sum, p.output_multiplier, p.output_neg_shift) + p.output_offset;
    output[i] = static_cast<int8_t>(y < p.activation_min ? p.activation_min
                                    : (y > p.activation_max ? p.activation_max : y));
  }
#endif
}

}  // namespace arm_mve
}  // namespace tinyrig
