// tinyrig DSP-extension kernel: CONV_2D 1x1 without padding, 2 output pixels x 4 filters a block.
//
// Written by codegen/kernels/arm_dsp/pointwise_quad.py: per quad of filters (a, b, c, d) the int8
// weight words of the pairs (a, b) and (c, d) side by side per SMLAD step, then the quad's
// epilogue words. `scratch` is the model's shared scratch buffer, at least the layer's
// scratch_bytes long and 4-byte aligned. Results are bit-exact with the reference kernels.
#ifndef TINYRIG_DSP_POINTWISE_QUAD_H_
#define TINYRIG_DSP_POINTWISE_QUAD_H_

#include <cstdint>

// The depths in units (2 steps) that have a straight run of their own (pointwise_quad.py
// STRAIGHT_UNITS): up to one pass after the first unit without a small flash cache.
#define TINYRIG_QUAD_STRAIGHT_UNITS(X) \
  X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17)

namespace tinyrig {

// kClamp: the activation range is narrower than int8. kUnits: input_c / 4 (units of 2 SMLAD
// steps) for a depth that has a straight run of its own (pointwise_quad.py STRAIGHT_UNITS: no
// passes, no entry jump), 0 for a deeper layer (the run of any depth); a build sized for a small
// flash cache takes the straight run only where its passes would be one.
template <int kClamp, int kUnits>
struct DspPointwiseQuadParams {
  int32_t output_h, output_w, output_c;  // output_c: a multiple of 4
  int32_t input_w, input_c;              // input_c: a multiple of 4
  int32_t stride_h, stride_w;
  int32_t activation_min, activation_max;
  const int32_t* stream;  // per quad: [input_c / 2][2] int8 words, pairs (a, b) and (c, d) of one
                          // step side by side (smlad_layout.int8_pair_words), then 2 * bias_a, M_a,
                          // F_a, the output zero point, and 2 * bias, M, F of b, c and d
                          // (F = 2^(32 - e) + 1: the 3-instruction requantisation)
};

namespace arm_dsp {

// The 2x4 block's runs, shared with the kernels that feed them other pixels (tinyrig_dsp_patch_quad.cc:
// two convolution windows widened into the same [step][pixel] columns).
//
// One call of a quad run: a pair of widened pixels against every quad of filters. Field order is
// the run's stack frame (x to end first: one LDM at each quad's end reloads them).
struct QuadRun {
  const uint32_t* x;      // 0: the 2 widened pixels, [step][pixel]
  int8_t* out;            // 4: pixel 0's output of the current quad (pixel 1 out_c bytes on)
  int32_t out_c;          // 8
  const int32_t* end;     // 12: the stream past the last quad
  const uint32_t* x_end;  // 16: past the columns' last step
  int32_t adjust;         // 20: added to both pointers after the first unit: 16 - 16 * entry
  int32_t entry;          // 24: the unit (0..pass units) the first pass starts at (quad_entry);
                          // the run turns it into a code address in its frame
  uint32_t lo4, hi4;      // 28, 32: activation min / max in every byte (clamping run only)
  const int32_t* stream;  // 36: quad 0
};
using QuadRunFn = void (*)(const QuadRun*);

// Fills every field but `out` for a layer of `depth` (a multiple of 4) whose pixels are widened
// into `columns` ([depth / 2][2] words).
void quad_run_frame(QuadRun* run, const int32_t* stream, int32_t depth, int32_t output_c, int32_t activation_min,
                    int32_t activation_max, const uint32_t* columns);

// The run for a clamp and a depth of kUnits units (DspPointwiseQuadParams' kUnits: pointwise_quad.py
// straight_units); only the ones a model's layers ask for are linked.
template <int kClamp, int kUnits>
QuadRunFn quad_run_of();

// Two pixels' `groups` groups of 4 int8 channels (a, b) widened into [step][pixel] int16 pairs at
// dst (4 words a group, SXTB16 order).
void widen2_groups(const int8_t* a, const int8_t* b, uint32_t* dst, int32_t groups);

template <int kClamp, int kUnits>
void conv2d_s8(const DspPointwiseQuadParams<kClamp, kUnits>& params, const int8_t* input, int8_t* output,
               int32_t* scratch);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_POINTWISE_QUAD_H_
