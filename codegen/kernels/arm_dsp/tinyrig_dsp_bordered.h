// tinyrig DSP-extension kernels: the zero-point-bordered copy of a layer's input, shared by the
// CONV_2D kernels whose windows then never leave the image (tinyrig_dsp_conv.cc's columns and
// tinyrig_dsp_patch_quad.cc). Header-only: a layer makes the copy once, so a call per kernel costs
// nothing worth a shared source.
#ifndef TINYRIG_DSP_BORDERED_H_
#define TINYRIG_DSP_BORDERED_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tinyrig_window.h"

namespace tinyrig {
namespace arm_dsp {

// The input copied into `padded` (padded_h x padded_w pixels) with a border of the input zero
// point, the image at (pad_top, pad_left). The library's memset and one memcpy a row, although the
// image's bytes are written twice: kws01's stem (49 rows of 10 bytes) took 882 fewer cycles this way
// than with conv's word loops writing each byte once, ic01's first layer (34x34x3) 1,904 fewer.
inline void copy_bordered(const Window2D& w, int32_t input_zero_point, int32_t padded_h, int32_t padded_w,
                          const int8_t* input, int8_t* padded) {
  const int32_t c = w.input_c, row = padded_w * c;
  std::memset(padded, input_zero_point, static_cast<size_t>(padded_h * row));
  for (int32_t y = 0; y < w.input_h; ++y) {
    std::memcpy(padded + (w.pad_top + y) * row + w.pad_left * c, input + y * w.input_w * c,
                static_cast<size_t>(w.input_w * c));
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_BORDERED_H_
