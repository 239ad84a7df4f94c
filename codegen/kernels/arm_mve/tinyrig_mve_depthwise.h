// tinyrig Helium kernel: DEPTHWISE_CONV_2D: parameter blocks and entry points.
//
// Written by codegen/kernels/arm_mve/depthwise.py: weights stay int8 for VMLADAVA.S8, one
// byte a tap (or, on the ring path, are pre-widened to int32 lanes); the epilogue is TFLM's double-rounding requantisation on 4 lanes
// (tinyrig_mve_common.h). Bit-exact with the reference kernels.
#ifndef TINYRIG_MVE_DEPTHWISE_H_
#define TINYRIG_MVE_DEPTHWISE_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

struct MveDepthwiseConv2DParams {
  Window2D window;          // channels: window.input_c (depth multiplier 1); dilation 1
  int32_t padded_w;         // columns a ring row holds: (output_w - 1) * stride_w + filter_w
  int32_t channels_padded;  // multiple of 4
  int32_t input_zero_point;
  int32_t output_offset;
  int32_t activation_min, activation_max;
  const int32_t* weights;   // ring path: [channels_padded / 4][filter_h * filter_w][4], widened
  const int32_t* requant;   // [channels_padded / 4][bias, multiplier, -right shift][4]
  // Planar path (planar = 1): each channel is copied into a zero-point-padded plane
  // whose lines run along one output axis; one gather load fetches a window, and a
  // per-layer schedule of 4-output groups (shared by all channels) says where.
  int32_t planar;
  int32_t along_y;          // plane lines run down the input columns
  int32_t plane_len;        // plane bytes per line (the pad between lines is shared)
  int32_t plane_size;       // bytes per channel plane
  int32_t group;            // channels per plane pass (multiple of 4)
  int32_t stride_along;     // plane bytes between the windows of a group
  int32_t groups;           // schedule entries per channel
  int32_t final_mask;       // store predicate of the last group
  int32_t union_taps;       // 1: a pair's two windows are one gather (their union)
  int32_t interleave;       // channels a plane position holds (4: planes of 4 channels byte by byte)
  int32_t record_bytes;           // filter_h * filter_w: a channel's int8 taps
  int32_t lane_mask_a, lane_mask_b;  // VPR.P0 of the lanes of the first / second window that hold a tap
  const int8_t* planar_weights;   // [channels][record_bytes]: the filter's taps (fy, fx order)
  const int8_t* weight_lanes;     // [2][16]: the tap of each lane of the first/second window
  const int8_t* tap_offsets;      // [16]: each lane's byte offset in the plane
  const uint16_t* schedule;       // [groups][2 window offsets, 4 output offsets]
  const int32_t* planar_requant;  // [channels][bias, multiplier, -right shift]
};

namespace arm_mve {

void depthwise_conv2d_s8(const MveDepthwiseConv2DParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_DEPTHWISE_H_
