// tinyrig reference kernels: QUANTIZE and DEQUANTIZE, parameter blocks and entry points.
//
// The code generator fills one const parameter block per layer (designated
// initialisers, all shapes and quantization constants computed on the host);
// the portable kernel in tinyrig_ref_quantize.cc runs it, bit-exact with TFLM.
#ifndef TINYRIG_REF_QUANTIZE_H_
#define TINYRIG_REF_QUANTIZE_H_

#include <cstdint>

namespace tinyrig {

// QUANTIZE float32 -> int8.
struct QuantizeParams {
  int32_t size;
  float scale;
  int32_t zero_point;
};

// QUANTIZE int8 -> int8 (requantize to another scale / zero point).
struct RequantizeParams {
  int32_t size;
  int32_t input_zero_point;
  int32_t output_zero_point;
  int32_t multiplier;
  int32_t shift;
};

// DEQUANTIZE int8 -> float32.
struct DequantizeParams {
  int32_t size;
  float scale;
  int32_t zero_point;
};

namespace reference {

void quantize_f32_s8(const QuantizeParams& params, const float* input, int8_t* output);
void requantize_s8(const RequantizeParams& params, const int8_t* input, int8_t* output);
void dequantize_s8_f32(const DequantizeParams& params, const int8_t* input, float* output);

}  // namespace reference
}  // namespace tinyrig

#endif  // TINYRIG_REF_QUANTIZE_H_
