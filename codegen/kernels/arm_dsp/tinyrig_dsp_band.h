// tinyrig DSP-extension kernels: the band of widened input rows (one output row's filter_h input
// rows laid [x][fy][c], int16 pairs in SXTB16 order, the zero point outside the image), shared by
// the CONV_2D paths that read each output pixel's window in place as consecutive words
// (tinyrig_dsp_conv.cc's band path, tinyrig_dsp_band_quad.cc). Its own source, so that a model
// links it once whichever of them it uses.
#ifndef TINYRIG_DSP_BAND_H_
#define TINYRIG_DSP_BAND_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {
namespace arm_dsp {

// band[x][fy] (band_w columns of filter_h cells, input_c / 2 words a cell) for output row out_y:
// the widened channels of input column x - pad_left of input row out_y * stride_h - pad_top + fy,
// (c0, c2), (c1, c3) per group of 4 channels (input_c a multiple of 4), the input zero point
// outside the image.
void fill_band(const Window2D& w, int32_t input_zero_point, const int8_t* input, int32_t out_y, int32_t band_w,
               uint32_t* band);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_BAND_H_
