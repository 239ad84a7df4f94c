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

// A CONV_2D some of whose filters have all-zero weights (codegen/kernels/arm_mve/conv.py
// _sparse_layer): `conv` is the same layer over the live filters only (its window.output_c is
// `live`), run into a compact [pixel][live] tensor at the start of scratch (compact_bytes, the
// inner convolution's scratch after it); each pixel's output row is then constant_row (the
// constant outputs, 0 at live channels) with the live outputs stored at live_channels[j].
struct MveConvSparseParams {
  MveConv2DParams conv;
  int32_t pixels;  // the layer's output pixels (conv's may differ: 1x1 layers packed k pixels a column)
  int32_t output_c;
  int32_t live;
  int32_t compact_bytes;
  const int8_t* constant_row;        // [output_c]
  const uint16_t* live_channels;     // [live]
};

namespace arm_mve {

void conv2d_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void fully_connected_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void conv2d_s8(const MveConvSparseParams& params, const int8_t* input, int8_t* output, int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_CONV_H_
