// tinyrig DSP-extension kernel: CONV_2D whose window rows are whole words on 1-3 input channels
// (kws01's 10x4 stem on one channel), 2 output pixels x 4 filters a block: each pixel's whole
// window is one deep "pixel" for the 1x1 kernel's runs (tinyrig_dsp_pointwise_quad.h).
//
// Written by codegen/kernels/arm_dsp/patch_quad.py: per quad of filters (a, b, c, d) the int8
// weight words of the pairs (a, b) and (c, d) side by side per SMLAD step over the window in
// TFLite's (fy, fx, c) order, then the quad's epilogue words (quad_stream.py). `scratch` is the
// model's shared scratch buffer, at least the layer's scratch_bytes long and 4-byte aligned.
// Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_PATCH_QUAD_H_
#define TINYRIG_DSP_PATCH_QUAD_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

// kClamp: the activation range is narrower than int8. kUnits: depth / 4 where the depth has a
// straight run (pointwise_quad.py straight_units), else 0.
template <int kClamp, int kUnits>
struct DspPatchQuadParams {
  Window2D window;            // dilation 1; filter_w * input_c a multiple of 4
  int32_t input_zero_point;
  int32_t padded_h, padded_w; // > 0: the windows are read from a zero-point-bordered copy this big
  int32_t depth;              // filter_h * filter_w * input_c
  int32_t activation_min, activation_max;
  const int32_t* stream;      // per quad: [depth / 2][2] int8 words, then the 13 epilogue words
};

namespace arm_dsp {

template <int kClamp, int kUnits>
void conv2d_s8(const DspPatchQuadParams<kClamp, kUnits>& params, const int8_t* input, int8_t* output,
               int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_PATCH_QUAD_H_
