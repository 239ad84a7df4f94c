// tinyrig Helium kernel: the first CONV_2D (1-4 input channels, windows read in place),
// parameter blocks and entry points.
//
// Written by codegen/kernels/arm_mve/conv_window.py: weights stay int8 for VMLADAVA.S8 (or are
// pre-widened to int32 lanes), laid out as the kernel loads them and zero-padded to
// whole vectors; the epilogue is TFLM's double-rounding requantisation on 4 lanes
// (tinyrig_mve_common.h). Bit-exact with the reference kernels.
#ifndef TINYRIG_MVE_CONV_WINDOW_H_
#define TINYRIG_MVE_CONV_WINDOW_H_

#include <cstdint>

#include "tinyrig_window.h"

namespace tinyrig {

struct MveConvWindowParams {
  Window2D window;          // dilation 1
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

void conv2d_window_s8(const MveConvWindowParams& params, const int8_t* input, int8_t* output, int32_t* scratch);

}  // namespace arm_mve
}  // namespace tinyrig

#endif  // TINYRIG_MVE_CONV_WINDOW_H_
