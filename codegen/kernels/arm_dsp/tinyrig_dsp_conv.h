// tinyrig DSP-extension kernel: CONV_2D: parameter blocks and entry points.
//
// Written by codegen/kernels/arm_dsp/conv.py: int8 weights in the order the kernel loads
// them (one word per SMLAD step of a filter pair, widened on the fly), with each pair's
// bias and requantisation constants beside them in the same stream. `scratch` is the model's shared
// scratch buffer (RAM apart from the arena), at least the layer's scratch_bytes long and
// 4-byte aligned. Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_CONV_H_
#define TINYRIG_DSP_CONV_H_

#include <cstdint>

#include "tinyrig_live_filters.h"
#include "tinyrig_window.h"

namespace tinyrig {

struct DspConv2DParams {
  Window2D window;
  int32_t input_zero_point;
  int32_t depth;            // filter_h * filter_w * input_c
  int32_t depth_padded;     // multiple of 4 (2 SMLAD steps, the loops' unit)
  int32_t channels_padded;  // multiple of 2 (the filter block)
  int32_t pointwise;        // 1x1 without padding: a column is one input pixel, no im2col
  int32_t padded_h, padded_w;  // > 0: the input is first copied with its zero-point border
                               // (padded_h x padded_w pixels) to scratch; windows read it
  int32_t rgb3x3;           // 3x3 filter on 3 channels: columns read from the window rows
                            // in the order of conv.py RGB3X3_ORDER (depth_padded 28)
  int32_t clamp;            // the activation range is narrower than int8
  int32_t activation_min, activation_max;
  const int32_t* stream;    // per filter pair: [depth_padded / 2] int8 words (a[d0], b'[d0], a[d1],
                            // b'[d1]) with b' = b - [a < 0], then a's bias doubled (times 2^(ls+1)),
                            // M_a, r_a, M_b, r_b, e_a | e_b << 8, b's bias doubled; or, in the
                            // 3-instruction form (kRq3), F_a, F_b = 2^(32 - e) + 1 for r_a, r_b and the
                            // output zero point for the shifts (conv.py _pair_epilogue)
};

// Any CONV_2D over columns of 3 pixels (tinyrig_dsp_conv.cc conv_columns). kClamp: the
// activation range is narrower than int8 (conv.clamp); kRq3: the epilogue requantises in 3
// instructions (conv.py found that exact for every filter); kPasses: the units after a pair's
// first fit 8 (0) or 16 (1), so that the run needs no pass end test, or may not (2; conv.py
// _passes). Only the runs of the forms a model uses are linked.
template <int kClamp, int kRq3, int kPasses = 2>
struct DspConvColumnsParams {
  DspConv2DParams conv;
};

// CONV_2D with a 2-D filter on whole groups of 4 input channels, or on 1 or 2 channels
// (tinyrig_dsp_conv.cc, the band path): per output row the filter_h input rows under it are
// widened into a band laid [x][fy][c] (zero point outside the image), so a window is depth / 2
// consecutive words and the 3 pixels of a run are kPixelBytes apart, immediates of the assembly
// run (one copy per value, linked only when used); conv.stream's weights are in [fx][fy][c]
// order to match. kClamp, kRq3: as for DspConvColumnsParams.
// kPairChannels: 0 for whole groups of 4 channels (a band word is SXTB16's (c0, c2) or
// (c1, c3)); 1 or 2, the input channels, when a band word is 2 values in [fy][c] order (conv.py
// _band_depth_order), so that a layer links only the band widening it uses.
template <int kPixelBytes, int kClamp, int kRq3, int kPairChannels = 0>
struct DspConvRowsParams {
  DspConv2DParams conv;  // padded_h = padded_w = 0, pointwise = rgb3x3 = 0
  int32_t band_w;        // band columns: (output_w - 1) * stride_w + filter_w
};

// CONV_2D 1x1 at stride 1 (no padding) on a layer some of whose filters have all-zero weights
// (pruned or dead channels: most filters of vww01's late layers), whose outputs are constants:
// conv.stream pairs the live filters only, any two (conv.py _sparse_plan), each pair's words
// ending in off_a | off_b << 16, the filters' bytes within a pixel; a pixel's constant outputs
// are written from `fill`, [fill_words][3]: the byte offset of a word of the pixel that holds
// constants, the mask of its other (live) bytes, the constant bytes. conv.clamp is 0; depth and
// output_c are whole groups of 4. kRq3: as for DspConvColumnsParams.
template <int kRq3>
struct DspConvSparseParams {
  DspConv2DParams conv;
  int32_t live_pairs;  // filter pairs in conv.stream (may be 0)
  int32_t fill_words;
  const int32_t* fill;
};

namespace arm_dsp {

template <int kClamp, int kRq3, int kPasses>
void conv2d_s8(const DspConvColumnsParams<kClamp, kRq3, kPasses>& params, const int8_t* input, int8_t* output,
               int32_t* scratch);
template <int kRq3>
void conv2d_s8(const DspConvSparseParams<kRq3>& params, const int8_t* input, int8_t* output, int32_t* scratch);
template <int kPixelBytes, int kClamp, int kRq3, int kPairChannels>
void conv2d_s8(const DspConvRowsParams<kPixelBytes, kClamp, kRq3, kPairChannels>& params, const int8_t* input,
               int8_t* output, int32_t* scratch);
// Other layers with all-zero filters, over their live ones (tinyrig_live_filters.h); declared
// last, so that the inner call sees every other overload.
template <class Inner>
void conv2d_s8(const LiveFiltersParams<Inner>& params, const int8_t* input, int8_t* output, int32_t* scratch) {
  run_live_filters(params, input, output, scratch,
                   [](const Inner& p, const int8_t* in, int8_t* out, int32_t* s) { conv2d_s8(p, in, out, s); });
}

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_CONV_H_
