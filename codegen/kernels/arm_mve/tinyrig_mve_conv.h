// tinyrig Helium kernel: CONV_2D and FULLY_CONNECTED (a 1x1 convolution),
// parameter blocks and entry points.
//
// Written by codegen/kernels/arm_mve/conv.py: weights stay int8 for VMLADAVA.S8 (or are
// pre-widened to int32 lanes), laid out as the kernel loads them and zero-padded to
// whole vectors; the epilogue is TFLM's double-rounding requantisation on 4 lanes
// (tinyrig_mve_common.h). Bit-exact with the reference kernels.
#ifndef TINYRIG_MVE_CONV_H_
#define TINYRIG_MVE_CONV_H_

#include <cstdint>

#include "tinyrig_live_filters.h"
#include "tinyrig_window.h"

namespace tinyrig {

struct MveConv2DParams {
  Window2D window;
  int32_t input_zero_point;
  int32_t depth;            // filter_h * filter_w * input_c
  int32_t depth_padded;     // multiple of 16
  int32_t channels_padded;  // multiple of 4
  int32_t direct;           // 1x1, no padding, input_c % 16 == 0: columns are read in place
  int32_t general_shifts;   // some channel has a left shift or no right shift
  int32_t output_offset;
  int32_t activation_min, activation_max;
  const int8_t* weights;    // [channels_padded / 4][depth_padded / 16][4][16]
  const int32_t* requant;   // [channels_padded / 4][bias, multiplier, -right shift, left shift][4]
};

namespace arm_mve {

void conv2d_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void fully_connected_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
// A convolution with all-zero filters, over its live ones (tinyrig_live_filters.h).
template <class Inner>
void conv2d_s8(const LiveFiltersParams<Inner>& params, const int8_t* input, int8_t* output, int32_t* scratch) {
  run_live_filters(params, input, output, scratch,
                   [](const Inner& p, const int8_t* in, int8_t* out, int32_t* s) { conv2d_s8(p, in, out, s); });
}

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_CONV_H_
