// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D with a one-column filter (filter_w 1,
// stride 1 along the height): the 1-D depthwise convolutions of streaming models (sww01).
//
// Written by codegen/kernels/arm_dsp/depthwise_column.py: per channel one record of the
// fused epilogue's constants, the scaled bias and the filter taps as int16 pairs along
// the height. `scratch` is the model's shared scratch buffer (RAM apart from the arena),
// at least the layer's scratch_bytes long and 4-byte aligned. Results are bit-exact with
// the reference kernels.
#ifndef TINYRIG_DSP_DEPTHWISE_COLUMN_H_
#define TINYRIG_DSP_DEPTHWISE_COLUMN_H_

#include <cstdint>

namespace tinyrig {

struct DspDepthwiseColumnParams {
  int32_t channels;          // depth multiplier 1: input and output channels
  int32_t input_h, pad_top;  // input rows; zero-point rows before the first one
  int32_t output_h, output_w;
  int32_t in_col_bytes;      // input bytes from one output column's input column to the next
  int32_t in_row_bytes, out_row_bytes;
  int32_t blocks;            // output rows / 4, rounded up (4 outputs per MAC block)
  int32_t tap_pairs;         // filter_h / 2, rounded up (an odd filter's last pair is (w, 0))
  int32_t pair_words;        // widened words per channel: 4 * blocks + 2 * (tap_pairs - 1)
  int32_t record_words;      // 4 + tap_pairs
  int32_t input_zero_point;
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int32_t* records;    // [channel][record_words]: M, rounding, e, bias, tap pairs
};

namespace arm_dsp {

void depthwise_conv2d_s8(const DspDepthwiseColumnParams& params, const int8_t* input, int8_t* output,
                         int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_DEPTHWISE_COLUMN_H_
