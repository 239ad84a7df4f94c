// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D: parameter blocks and entry points.
//
// Written by codegen/kernels/arm_dsp/depthwise.py: weights pre-widened to int16 pairs in the
// order the kernel loads them, already scaled for the fused epilogue, with bias and
// per-channel requantisation constants beside them. `scratch` is the model's shared
// scratch buffer (RAM apart from the arena), at least the layer's scratch_bytes long and
// 4-byte aligned. Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_DEPTHWISE_H_
#define TINYRIG_DSP_DEPTHWISE_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

struct DspDepthwiseConv2DParams {
  Window2D window;         // channels: window.input_c (depth multiplier 1); dilation 1
  int32_t channel_groups;  // channels / 4, rounded up
  int32_t padded_w;        // width of a widened row, padding columns included
  int32_t input_zero_point;
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* weights;  // [channel_groups][filter_h * filter_w][2] int16 pairs
  const int32_t* bias;
  const int32_t* requant;
};

// DEPTHWISE_CONV_2D 3x3, depth multiplier 1, on channel-planar lines
// (tinyrig_dsp_depthwise.cc). The image is walked in "lines": output rows, or output
// columns when `transposed` (narrow images), a line being `line_len` outputs along
// which the filter moves with stride_a (1 or 2). Input lines are widened into a ring
// of 3 slots, one channel at a time contiguous: [channel][column word][slot], a
// column word holding two neighbouring inputs of the line as an int16 pair.
struct DspDepthwiseLineParams {
  int32_t channels;
  int32_t lines, line_len;          // output lines, outputs per line
  int32_t in_lines, in_len;         // input extent across / along lines
  int32_t stride_a, stride_x;       // along / across lines
  int32_t pad_a, pad_x;             // padding before the first input along / across lines
  int32_t in_elem_bytes, in_line_bytes;    // input bytes between elements along a line / lines
  int32_t out_elem_bytes, out_line_bytes;  // the same for the output
  int32_t steps;                    // MAC steps per line (2 outputs at stride 1, 1 at stride 2)
  int32_t column_words;             // column words per ring line (steps + 1)
  int32_t input_zero_point;
  int32_t activation_min, activation_max;
  const int32_t* records;  // [channel][7]: filter rows 0, 1, 2 as int8 words, bias, then M,
                           // 2^(32 - e) + 1, zero point or M, e + 2^31, rounding
};

// The same 3x3 layers when their lines are short output rows (tinyrig_dsp_depthwise.cc,
// dw_plane): a call runs a band of band_lines consecutive output rows for chunk_channels
// channels, so a channel's weights, its MAC entry and its requantisation are paid once per
// band instead of once per line. The ring holds all the band's input rows (8 slots per
// column word), widened once per band; the band's outputs of a channel are one run of
// bands_lines x line_len outputs out_elem_bytes apart, requantised together.
struct DspDepthwisePlaneParams {
  DspDepthwiseLineParams line;  // not transposed; steps <= 6 (the straight MAC runs)
  int32_t band_lines;           // output lines per call: (band_lines - 1) x stride_x + 3 <= 8
  int32_t chunk_channels;       // channels per call: a multiple of 4, or all of them
};

namespace arm_dsp {

void depthwise_conv2d_s8(const DspDepthwiseConv2DParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);
void depthwise_conv2d_s8(const DspDepthwiseLineParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);
void depthwise_conv2d_s8(const DspDepthwisePlaneParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_DEPTHWISE_H_
