// tinyrig DSP-extension kernel: CONV_2D with a 2-D filter on whole groups of 4 input channels,
// 2 output pixels x 4 filters a block, the windows read in place from a band of widened rows.
//
// Written by codegen/kernels/arm_dsp/band_quad.py: per quad of filters (a, b, c, d) the int8
// weight words of the pairs (a, b) and (c, d) side by side per SMLAD step, the window in
// [fx][fy][c] order (the band's), then the quad's epilogue words. `scratch` is the model's shared
// scratch buffer, at least the layer's scratch_bytes long and 4-byte aligned. Results are
// bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_BAND_QUAD_H_
#define TINYRIG_DSP_BAND_QUAD_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

// kPixelBytes: the bytes from one output pixel's window in the band to its neighbour's
// (2 * filter_h * input_c * stride_w), an immediate of the assembly run (one copy per value,
// band_quad.py PIXEL_BYTES; only those a model uses are linked). kClamp: the activation range is
// narrower than int8.
template <int kPixelBytes, int kClamp>
struct DspBandQuadParams {
  Window2D window;  // output_c and input_c multiples of 4, output_w at least 2, no dilation
  int32_t input_zero_point;
  int32_t band_w;   // band columns: (output_w - 1) * stride_w + filter_w
  int32_t activation_min, activation_max;
  const int32_t* stream;  // per quad: [depth / 2][2] int8 words, pairs (a, b) and (c, d) of one
                          // step side by side (smlad_layout.int8_pair_words), then 2 * bias_a, M_a,
                          // F_a, the output zero point, and 2 * bias, M, F of b, c and d
                          // (F = 2^(32 - e) + 1: the 3-instruction requantisation)
};

namespace arm_dsp {

template <int kPixelBytes, int kClamp>
void conv2d_s8(const DspBandQuadParams<kPixelBytes, kClamp>& params, const int8_t* input, int8_t* output,
               int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_BAND_QUAD_H_
