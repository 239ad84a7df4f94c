// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D (int8, depth multiplier 1).
//
// Input rows are widened once into a ring of filter_h row slots (int16 pairs in
// SXTB16 order, padding columns and rows filled with the input zero point, which
// the host-folded bias expects), so the tap loop has no bounds checks and no
// per-tap sign extension: per tap and 4 channels, one LDRD of input, one LDRD of
// weights and SMLABB/SMLATT into 4 accumulators. A row stays in its slot while
// later output rows still need it. The 3x3 filter is a template instance with the
// tap loops unrolled.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_kernels.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kMaxFilterH = 8;  // codegen/specialize_dsp.py DW_MAX_FILTER_H

void widen_row(const DspDepthwiseConv2DParams& p, const int8_t* input, int32_t y, uint32_t* dst) {
  const int32_t words = 2 * p.channel_groups;
  const uint32_t zp = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  const uint32_t pad_a = sxtb16(zp), pad_b = sxtb16_ror8(zp);
  const bool row_inside = y >= 0 && y < p.input_h;
  for (int32_t xp = 0; xp < p.padded_w; ++xp, dst += words) {
    const int32_t x = xp - p.pad_left;
    if (row_inside && x >= 0 && x < p.input_w) {
      widen(input + (y * p.input_w + x) * p.channels, p.channels, words, 1, dst);
    } else {
      for (int32_t i = 0; i < words; i += 2) {
        dst[i] = pad_a;
        dst[i + 1] = pad_b;
      }
    }
  }
}

template <int32_t kFilterH, int32_t kFilterW>
void depthwise(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  const int32_t fh = kFilterH ? kFilterH : p.filter_h;
  const int32_t fw = kFilterW ? kFilterW : p.filter_w;
  const int32_t groups = p.channel_groups;
  const int32_t row_words = p.padded_w * groups * 2;
  uint32_t* slots = reinterpret_cast<uint32_t*>(scratch);
  int32_t slot_row[kMaxFilterH];
  for (int32_t i = 0; i < fh; ++i) slot_row[i] = INT32_MIN;
  const uint32_t* rows[kMaxFilterH];
  for (int32_t out_y = 0; out_y < p.output_h; ++out_y) {
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
    for (int32_t out_x = 0; out_x < p.output_w; ++out_x) {
      const int32_t column = out_x * p.stride_w * groups * 2;
      for (int32_t g = 0; g < groups; ++g) {
        const int32_t* bias = p.bias + 4 * g;
        int32_t acc0 = bias[0], acc1 = bias[1], acc2 = bias[2], acc3 = bias[3];
        const uint32_t* w = reinterpret_cast<const uint32_t*>(p.weights) + g * fh * fw * 2;
        for (int32_t fy = 0; fy < fh; ++fy) {
          const uint32_t* x = rows[fy] + column + 2 * g;
          for (int32_t fx = 0; fx < fw; ++fx, x += 2 * groups, w += 2) {
            const uint32_t a = x[0], b = x[1], wa = w[0], wb = w[1];
            acc0 = smlabb(a, wa, acc0);  // channel 4g + 0
            acc2 = smlatt(a, wa, acc2);  // channel 4g + 2
            acc1 = smlabb(b, wb, acc1);  // channel 4g + 1
            acc3 = smlatt(b, wb, acc3);  // channel 4g + 3
          }
        }
        const int32_t c = 4 * g;
        const int32_t* rq = p.requant + 3 * c;
        int8_t* out = output + (out_y * p.output_w + out_x) * p.channels + c;
        const int32_t lo = p.activation_min, hi = p.activation_max;
        const int32_t left = p.channels - c;
        out[0] = clamp_output(requantize(acc0, rq), p.clamp, lo, hi);
        if (left > 1) out[1] = clamp_output(requantize(acc1, rq + 3), p.clamp, lo, hi);
        if (left > 2) out[2] = clamp_output(requantize(acc2, rq + 6), p.clamp, lo, hi);
        if (left > 3) out[3] = clamp_output(requantize(acc3, rq + 9), p.clamp, lo, hi);
      }
    }
  }
}

}  // namespace

void depthwise_conv2d_s8(const DspDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  if (p.filter_h == 3 && p.filter_w == 3) {
    depthwise<3, 3>(p, input, output, scratch);
  } else {
    depthwise<0, 0>(p, input, output, scratch);
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
