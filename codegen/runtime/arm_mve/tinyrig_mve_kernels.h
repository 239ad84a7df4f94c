// tinyrig Helium (MVE) kernels for Cortex-M55: CONV_2D and FULLY_CONNECTED.
//
// Weights stay int8 (VMLADAVA.S8 multiplies 16 int8 pairs and adds them to a
// scalar accumulator in one instruction), padded with zeros to 16 per row and
// to a multiple of 4 rows, so there is no flash growth beyond padding. The
// epilogue is the DSP kernels' fused requantisation (Cortex-M55 has the DSP
// extension), with the accumulator scaled by 2^(ls+1) by a shift instead of in
// the weights. Bit-exact with the reference kernels.
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
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int8_t* weights;    // [channels_padded][depth_padded]
  const int32_t* bias;      // [channels_padded], not scaled
  const int32_t* requant;   // [channels_padded][4]: multiplier, rounding term, right shift, scale shift
};

struct MveFullyConnectedParams {
  int32_t batches;
  int32_t accum_depth;
  int32_t depth_padded;    // multiple of 16
  int32_t output_depth;
  int32_t outputs_padded;  // multiple of 4
  int32_t clamp;
  int32_t activation_min, activation_max;
  const int8_t* weights;   // [outputs_padded][depth_padded]
  const int32_t* bias;
  const int32_t* requant;  // [outputs_padded][4]
};

namespace arm_mve {

void conv2d_s8(const MveConv2DParams& params, const int8_t* input, int8_t* output, int32_t* scratch);
void fully_connected_s8(const MveFullyConnectedParams& params, const int8_t* input, int8_t* output,
                        int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_KERNELS_H_
