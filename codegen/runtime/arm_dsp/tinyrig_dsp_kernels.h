// tinyrig DSP-extension kernels (Cortex-M4/M7/M33, and M55 where Helium declines).
//
// Each takes a parameter block written by codegen/specialize_dsp.py: weights are
// pre-widened int16 pairs in the order the kernel loads them, already scaled for
// the fused epilogue, with bias and per-channel requantisation constants beside
// them. `scratch` is the model's shared scratch buffer (reported as RAM apart from
// the arena), at least the layer's scratch_bytes long and 4-byte aligned.
// Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_KERNELS_H_
#define TINYRIG_DSP_KERNELS_H_

#include <cstdint>

#include "tinyrig_kernel_params.h"  // Pool2DParams

namespace tinyrig {

struct DspConv2DParams {
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;
  int32_t input_zero_point;
  int32_t depth;            // filter_h * filter_w * input_c
  int32_t depth_padded;     // multiple of 4 (2 SMLAD steps, the loops' unit)
  int32_t channels_padded;  // multiple of 2 (the filter block)
  int32_t pointwise;        // 1x1 without padding: a column is one input pixel, no im2col
  int32_t padded_h, padded_w;  // > 0: the input is first copied with its zero-point border
                               // (padded_h x padded_w pixels) to scratch; windows read it
  int32_t rgb3x3;           // 3x3 filter on 3 channels: columns read from the window rows
                            // in the order of specialize_dsp.RGB3X3_ORDER (depth_padded 28)
  int32_t clamp;            // the activation range is narrower than int8
  int32_t activation_min, activation_max;
  const int32_t* stream;    // per filter pair: bias pair x 3, [depth_padded / 2][2] int16 pairs,
                            // then (M, r, e) of both filters
  const int32_t* bias;      // [channels_padded], scaled
  const int32_t* requant;   // [channels_padded][3]
};

// CONV_2D 1x1 without padding on exactly 8 input channels, output channels a multiple
// of 4 (tinyrig_dsp_conv.cc, pointwise8): each input pixel is widened once into 4
// registers and every filter's record is read with one LDM, so a filter costs
// LDM + 4 SMLAD + the 4-instruction epilogue + STRB.
struct DspPointwise8Params {
  int32_t output_h, output_w, output_c;
  int32_t input_w;
  int32_t stride_h, stride_w;
  const int32_t* records;  // [output_c][8]: 4 weight words (SXTB16 order), bias, M, rounding, e
};

struct DspFullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;
  int32_t depth_padded;    // multiple of 16
  int32_t output_depth;
  int32_t outputs_padded;  // multiple of 4
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* weights;  // [outputs_padded / 4][depth_padded / 4][2][4] int16 pairs
  const int32_t* bias;
  const int32_t* requant;
};

struct DspDepthwiseConv2DParams {
  int32_t input_h, input_w, channels;
  int32_t channel_groups;  // channels / 4, rounded up
  int32_t output_h, output_w;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
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
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* records;  // [channel][24]: M, rounding, e, 3 rotations x ([slot][A/B] weight pairs, bias)
};

// ADD without broadcasting: out = requantize(table1[a] + table2[b]).
struct DspAddParams {
  int32_t size;
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* table1;   // [256] rescaled input 1 for -128..127, times 2^(ls+1)
  const int32_t* table2;   // [256] the same for input 2
  const int32_t* requant;  // [3] fused epilogue of the output rescaling
};

namespace arm_dsp {

void conv2d_s8(const DspConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void conv2d_s8(const DspPointwise8Params& params, const int8_t* input, int8_t* output, int32_t* scratch);
void fully_connected_s8(const DspFullyConnectedParams& params, const int8_t* input, int8_t* output,
                        int32_t* scratch);
void depthwise_conv2d_s8(const DspDepthwiseConv2DParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);
void depthwise_conv2d_s8(const DspDepthwiseLineParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);
// AVERAGE_POOL_2D, batch 1, windows of at most 256 values (tinyrig_dsp_pooling.cc).
void average_pool2d_s8(const Pool2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void add_s8(const DspAddParams& params, const int8_t* input1, const int8_t* input2, int8_t* output,
            int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_KERNELS_H_
