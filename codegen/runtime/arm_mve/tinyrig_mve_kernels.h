// tinyrig Helium (MVE) kernels for Cortex-M55: CONV_2D, FULLY_CONNECTED,
// DEPTHWISE_CONV_2D, ADD and AVERAGE_POOL_2D.
//
// Weights stay int8 for VMLADAVA.S8 (16 int8 pairs into a scalar accumulator per
// instruction), pre-interleaved as the kernels load them and zero-padded to whole
// vectors; the depthwise kernel's weights are pre-widened to int32 lanes. The
// epilogue is TFLM's double-rounding requantisation on 4 lanes (tinyrig_mve_common.h).
// Bit-exact with the reference kernels.
#ifndef TINYRIG_MVE_KERNELS_H_
#define TINYRIG_MVE_KERNELS_H_

#include <cstdint>

namespace tinyrig {

struct MveConv2DParams {
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;
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

struct MveDepthwiseConv2DParams {
  int32_t input_h, input_w, channels;
  int32_t output_h, output_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
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
  const int8_t* planar_weights;   // [channels][16] (union: [channels][2][16]): taps by lane, zeros after
  const int8_t* tap_offsets;      // [16]: each lane's byte offset in the plane
  const int32_t* schedule;        // [groups][window offset, 4 output offsets]
  const int32_t* planar_requant;  // [channels][bias, multiplier, -right shift, plane offset in a pass]
};

struct MveAveragePool2DParams {
  int32_t input_h, input_w, channels;
  int32_t output_h, output_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t activation_min, activation_max;
  const int32_t* reciprocals;  // [count], read as uint32: n / count == (n * r) >> 32 for every reachable n
};

struct MveAddParams {
  int32_t size;
  int32_t output_multiplier, output_neg_shift;  // shift <= 0
  int32_t output_offset;
  int32_t activation_min, activation_max;
  const int32_t* table1;  // [raw byte]: the input's rescaled value, as TFLM computes it
  const int32_t* table2;
};

struct MveConvWindowParams {
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
  int32_t input_zero_point;
  int32_t column_bytes;     // filter_h * input_c: one column of the re-laid line
  int32_t line_bytes;       // the line's bytes (pad columns and chunk slack included), multiple of 4
  int32_t step_columns;     // input columns one 16-byte scatter step lays out
  int32_t depth_padded;     // multiple of 16
  int32_t channels_padded;  // multiple of 4
  int32_t output_offset;
  int32_t activation_min, activation_max;
  int32_t phases;           // 1, or filter_h: a ring of row slots (each input row laid once)
  int32_t phase_bytes;      // weight bytes per phase
  const int8_t* weights;    // [phases][channels_padded / 4][depth_padded / 16][4][16], depth in
                            // [fx][row slot][c] order (phase r: slot s holds filter row (s - r) mod filter_h)
  const int32_t* requant;   // [channels_padded / 4][bias, multiplier, -right shift, left shift][4]
};

namespace arm_mve {

void conv2d_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void fully_connected_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void depthwise_conv2d_s8(const MveDepthwiseConv2DParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);
void add_s8(const MveAddParams& params, const int8_t* input1, const int8_t* input2, int8_t* output,
            int32_t* scratch);
void average_pool2d_s8(const MveAveragePool2DParams& params, const int8_t* input, int8_t* output,
                       int32_t* scratch);
void conv2d_window_s8(const MveConvWindowParams& params, const int8_t* input, int8_t* output, int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_KERNELS_H_
