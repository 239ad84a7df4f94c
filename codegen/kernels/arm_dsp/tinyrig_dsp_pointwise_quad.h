// tinyrig DSP-extension kernel: CONV_2D 1x1 without padding, 2 output pixels x 4 filters a block.
//
// Written by codegen/kernels/arm_dsp/pointwise_quad.py: per quad of filters (a, b, c, d) the int8
// weight words of the pairs (a, b) and (c, d) side by side per SMLAD step, then the quad's
// epilogue words. `scratch` is the model's shared scratch buffer, at least the layer's
// scratch_bytes long and 4-byte aligned. Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_POINTWISE_QUAD_H_
#define TINYRIG_DSP_POINTWISE_QUAD_H_

#include <cstdint>

namespace tinyrig {

// kClamp: the activation range is narrower than int8. kUnits: input_c / 4 (units of 2 SMLAD
// steps) for a depth that has a straight run of its own (pointwise_quad.py STRAIGHT_UNITS: no
// passes, no entry jump), 0 for a deeper layer (the run of any depth); a build sized for a small
// flash cache takes the straight run only where its passes would be one.
template <int kClamp, int kUnits>
struct DspPointwiseQuadParams {
  int32_t output_h, output_w, output_c;  // output_c: a multiple of 4
  int32_t input_w, input_c;              // input_c: a multiple of 4
  int32_t stride_h, stride_w;
  int32_t activation_min, activation_max;
  const int32_t* stream;  // per quad: [input_c / 2][2] int8 words, pairs (a, b) and (c, d) of one
                          // step side by side (smlad_layout.int8_pair_words), then 2 * bias_a, M_a,
                          // F_a, the output zero point, and 2 * bias, M, F of b, c and d
                          // (F = 2^(32 - e) + 1: the 3-instruction requantisation)
};

namespace arm_dsp {

template <int kClamp, int kUnits>
void conv2d_s8(const DspPointwiseQuadParams<kClamp, kUnits>& params, const int8_t* input, int8_t* output,
               int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_POINTWISE_QUAD_H_
