// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D (int8, depth multiplier 1).
//
// Input rows are widened once into a ring of filter_h row slots (int16 pairs in
// SXTB16 order, padding columns and rows filled with the input zero point, which
// the host-folded bias expects), so the tap loop has no bounds checks and no
// per-tap sign extension. A row stays in its slot while later output rows still
// need it. A slot is group-major, [channel group][column][A/B word]: for one group
// the taps of a row are consecutive doublewords, so the 3x3 block addresses every
// tap with an immediate offset.
//
// 3x3 filters (stride 1 or 2) run the assembly of tinyrig_dsp_microkernels.cc:
// 2 output pixels x 4 channels, per tap one LDRD of weights shared by both pixels,
// one LDRD of input per pixel and SMLABB/SMLATT into 8 accumulators (11
// instructions for 8 MACs). For full groups of 4 channels one call does a whole
// output row, requantising, clamping and storing in assembly (about 6 instructions
// per output); a last group of 1-3 channels uses the block and stores in C.
// Rows carry one extra output's columns so the second pixel of an odd row reads
// padding; its outputs are dropped. Other filters run a
// C++ tap loop over the same layout, one pixel at a time.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_kernels.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kMaxFilterH = 8;  // codegen/specialize_dsp.py DW_MAX_FILTER_H

// Widens input row y into a group-major slot ([group][column][A/B]).
void widen_row(const DspDepthwiseConv2DParams& p, const int8_t* input, int32_t y, uint32_t* dst) {
  const int32_t group_words = 2 * p.padded_w;
  const uint32_t zp = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  const uint32_t pad_a = sxtb16(zp), pad_b = sxtb16_ror8(zp);
  const bool row_inside = y >= 0 && y < p.input_h;
  const int32_t full_groups = p.channels / 4;
  for (int32_t xp = 0; xp < p.padded_w; ++xp) {
    const int32_t x = xp - p.pad_left;
    uint32_t* column = dst + 2 * xp;
    if (row_inside && x >= 0 && x < p.input_w) {
      const int8_t* src = input + (y * p.input_w + x) * p.channels;
      int32_t g = 0;
      for (; g < full_groups; ++g, src += 4) {
        const uint32_t word = load_word(src);
        column[g * group_words] = sxtb16(word);
        column[g * group_words + 1] = sxtb16_ror8(word);
      }
      if (g < p.channel_groups) {  // last 1-3 channels, without reading past the pixel
        uint32_t word = 0;
        for (int32_t j = 0; j < p.channels - 4 * g; ++j) word |= static_cast<uint32_t>(static_cast<uint8_t>(src[j])) << (8 * j);
        column[g * group_words] = sxtb16(word);
        column[g * group_words + 1] = sxtb16_ror8(word);
      }
    } else {
      for (int32_t g = 0; g < p.channel_groups; ++g) {
        column[g * group_words] = pad_a;
        column[g * group_words + 1] = pad_b;
      }
    }
  }
}

// Requantises the accumulators of one pixel's 4 channels (acc[0..3] = channels
// 4g + 0..3) and stores the `count` that exist.
inline void store_group(const DspDepthwiseConv2DParams& p, const int32_t* acc, const int32_t* rq, int32_t count,
                        int8_t* out) {
  const int32_t lo = p.activation_min, hi = p.activation_max;
  out[0] = clamp_output(requantize(acc[0], rq), p.clamp, lo, hi);
  if (count > 1) out[1] = clamp_output(requantize(acc[1], rq + 3), p.clamp, lo, hi);
  if (count > 2) out[2] = clamp_output(requantize(acc[2], rq + 6), p.clamp, lo, hi);
  if (count > 3) out[3] = clamp_output(requantize(acc[3], rq + 9), p.clamp, lo, hi);
}

// Points rows[fy] at the widened slot of input row out_y * stride - pad + fy,
// widening rows the ring does not hold yet.
void fill_rows(const DspDepthwiseConv2DParams& p, const int8_t* input, int32_t out_y, uint32_t* slots,
               int32_t* slot_row, const uint32_t** rows) {
  const int32_t fh = p.filter_h;
  const int32_t row_words = p.padded_w * p.channel_groups * 2;
  for (int32_t fy = 0; fy < fh; ++fy) {
    const int32_t y = out_y * p.stride_h - p.pad_top + fy;
    const int32_t slot = ((y % fh) + fh) % fh;
    uint32_t* row = slots + slot * row_words;
    if (slot_row[slot] != y) {
      widen_row(p, input, y, row);
      slot_row[slot] = y;
    }
    rows[fy] = row;
  }
}

void depthwise_3x3(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  auto block = p.stride_w == 1 ? tinyrig_dsp_dw3x3_s1 : tinyrig_dsp_dw3x3_s2;
  auto row_run = p.stride_w == 1 ? tinyrig_dsp_dw3x3_row_s1 : tinyrig_dsp_dw3x3_row_s2;
  uint32_t* slots = reinterpret_cast<uint32_t*>(scratch);
  int32_t slot_row[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
  const uint32_t* rows[3];
  const int32_t group_words = 2 * p.padded_w;
  const int32_t full_groups = p.channels / 4;
  Dw3x3Row run;
  run.channels = p.channels;
  run.clamp = p.clamp;
  run.lo4 = static_cast<uint8_t>(p.activation_min) * 0x01010101u;
  run.hi4 = static_cast<uint8_t>(p.activation_max) * 0x01010101u;
  run.width = p.output_w;
  run.groups = full_groups;
  run.group_bytes = group_words * 4;
  for (int32_t out_y = 0; out_y < p.output_h; ++out_y) {
    fill_rows(p, input, out_y, slots, slot_row, rows);
    int8_t* out_row = output + out_y * p.output_w * p.channels;
    if (full_groups > 0) {  // the assembly row loop: taps, epilogue and stores
      for (int32_t fy = 0; fy < 3; ++fy) run.rows[fy] = run.bases[fy] = rows[fy];
      run.weights = reinterpret_cast<const uint32_t*>(p.weights);
      run.bias = p.bias;
      run.requant = p.requant;
      run.out = run.out_base = out_row;
      run.remaining = p.output_w;
      row_run(&run);
    }
    for (int32_t g = full_groups; g < p.channel_groups; ++g) {  // a last group of 1-3 channels
      const int32_t c = 4 * g;
      const int32_t count = p.channels - c;
      const uint32_t* w = reinterpret_cast<const uint32_t*>(p.weights) + g * 18;
      const int32_t* rq = p.requant + 3 * c;
      const uint32_t* block_rows[3];
      for (int32_t fy = 0; fy < 3; ++fy) block_rows[fy] = rows[fy] + g * group_words;
      for (int32_t out_x = 0; out_x < p.output_w; out_x += 2) {
        int32_t acc[8];  // pixel 0 channels 0-3, pixel 1 channels 0-3
        block(block_rows, w, p.bias + c, acc);
        for (int32_t fy = 0; fy < 3; ++fy) block_rows[fy] += 4 * p.stride_w;  // two pixels on
        int8_t* out = out_row + out_x * p.channels + c;
        store_group(p, acc, rq, count, out);
        if (out_x + 1 < p.output_w) store_group(p, acc + 4, rq, count, out + p.channels);
      }
    }
  }
}

void depthwise_generic(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  const int32_t fh = p.filter_h, fw = p.filter_w;
  uint32_t* slots = reinterpret_cast<uint32_t*>(scratch);
  int32_t slot_row[kMaxFilterH];
  for (int32_t i = 0; i < fh; ++i) slot_row[i] = INT32_MIN;
  const uint32_t* rows[kMaxFilterH];
  const int32_t group_words = 2 * p.padded_w;
  for (int32_t out_y = 0; out_y < p.output_h; ++out_y) {
    fill_rows(p, input, out_y, slots, slot_row, rows);
    for (int32_t out_x = 0; out_x < p.output_w; ++out_x) {
      const int32_t column = out_x * p.stride_w * 2;
      for (int32_t g = 0; g < p.channel_groups; ++g) {
        const int32_t* bias = p.bias + 4 * g;
        int32_t acc[4] = {bias[0], bias[1], bias[2], bias[3]};
        const uint32_t* w = reinterpret_cast<const uint32_t*>(p.weights) + g * fh * fw * 2;
        for (int32_t fy = 0; fy < fh; ++fy) {
          const uint32_t* x = rows[fy] + g * group_words + column;
          for (int32_t fx = 0; fx < fw; ++fx, x += 2, w += 2) {
            acc[0] = smlabb(x[0], w[0], acc[0]);  // channel 4g + 0
            acc[2] = smlatt(x[0], w[0], acc[2]);  // channel 4g + 2
            acc[1] = smlabb(x[1], w[1], acc[1]);  // channel 4g + 1
            acc[3] = smlatt(x[1], w[1], acc[3]);  // channel 4g + 3
          }
        }
        const int32_t c = 4 * g;
        const int32_t count = p.channels - c < 4 ? p.channels - c : 4;
        store_group(p, acc, p.requant + 3 * c, count, output + (out_y * p.output_w + out_x) * p.channels + c);
      }
    }
  }
}

}  // namespace

void depthwise_conv2d_s8(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  if (p.filter_h == 3 && p.filter_w == 3 && (p.stride_w == 1 || p.stride_w == 2)) {
    depthwise_3x3(p, input, output, scratch);
  } else {
    depthwise_generic(p, input, output, scratch);
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
