// tinyrig DSP-extension kernel: DEPTHWISE_CONV_2D with a one-column filter
// (DspDepthwiseColumnParams): out[t][c] = sum over taps j of w[j][c] * in[t + j - pad][c].
//
// SMLAD needs two products of the same channel, so the pairs run along the height: for
// 4 channels at a time, each column's input is widened once into per-channel series of
// int16 pairs (x[k], x[k + 1]) for every k (both parities: one word per input row and
// channel, built from two word loads by PKHBT/PKHTB and SXTB16), rows outside the image
// reading the input zero point (the host-folded bias expects it). Output t is then
// sum_j SMLAD(pair[t + 2j], (w[2j], w[2j + 1])). A MAC block makes 4 neighbouring outputs
// of one channel: per tap pair one LDRD of the next two series words, one weight load and
// 4 SMLADs (8 MACs), the previous two words kept in registers. Blocks past the last output
// row are computed and dropped. The fused requantisation (tinyrig_dsp_common.h) follows
// in registers.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_depthwise_column.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kLanes = 4;  // channels widened together (one input word)

// PKHBT (a.lo, b.lo) and PKHTB (a.hi, b.hi): bytes 0-1 / 2-3 of two input words, side by side.
inline uint32_t pack_low_halves(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (a & 0xFFFFu) | (b << 16);
#endif
}

inline uint32_t pack_high_halves(uint32_t a, uint32_t b) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
  return r;
#else
  return (b & 0xFFFF0000u) | (a >> 16);
#endif
}

// The 4 channel bytes of padded row k (input row k - pad_top) of the column at `col`;
// `lanes` < 4 for the last channels of a layer whose depth is not a multiple of 4 (the
// missing lanes are never read back).
inline uint32_t row_word(const DspDepthwiseColumnParams& p, const int8_t* col, int32_t k, int32_t lanes,
                         uint32_t zp4) {
  const int32_t y = k - p.pad_top;
  if (y < 0 || y >= p.input_h) return zp4;
  const int8_t* src = col + y * p.in_row_bytes;
  if (lanes == kLanes) return load_word(src);
  uint32_t word = zp4;
  for (int32_t j = 0; j < lanes; ++j) {
    word = (word & ~(0xFFu << (8 * j))) | (static_cast<uint32_t>(static_cast<uint8_t>(src[j])) << (8 * j));
  }
  return word;
}

// Series word k of the 4 lanes from padded rows k (`a`) and k + 1 (`b`): lane l gets (a.l, b.l).
inline void store_pairs(uint32_t a, uint32_t b, uint32_t* d, int32_t lane_words) {
  const uint32_t lo = pack_low_halves(a, b), hi = pack_high_halves(a, b);
  d[0] = sxtb16(lo);
  d[lane_words] = sxtb16_ror8(lo);
  d[2 * lane_words] = sxtb16(hi);
  d[3 * lane_words] = sxtb16_ror8(hi);
}

// Widens `lanes` channels of one input column into [lane][pair_words] series.
void widen_column(const DspDepthwiseColumnParams& p, const int8_t* col, int32_t lanes, uint32_t zp4,
                  uint32_t* pairs) {
  const int32_t n = p.pair_words;
  uint32_t a = row_word(p, col, 0, lanes, zp4);
  int32_t k = 0;
  for (; k < n && (k < p.pad_top || lanes != kLanes); ++k) {  // top padding (or a ragged channel tail)
    const uint32_t b = row_word(p, col, k + 1, lanes, zp4);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
  // Rows k and k + 1 both inside the image: plain word loads down the column.
  int32_t inside_end = p.pad_top + p.input_h - 1;
  if (inside_end > n) inside_end = n;
  const int8_t* src = col + (k + 1 - p.pad_top) * p.in_row_bytes;
  for (; k < inside_end; ++k, src += p.in_row_bytes) {
    const uint32_t b = load_word(src);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
  for (; k < n; ++k) {  // bottom padding and rows only dropped outputs read
    const uint32_t b = row_word(p, col, k + 1, lanes, zp4);
    store_pairs(a, b, pairs + k, n);
    a = b;
  }
}

inline void store_output(const DspDepthwiseColumnParams& p, int32_t acc, const int32_t* rq, int8_t* out) {
  *out = clamp_output(requantize(acc, rq), p.clamp, p.activation_min, p.activation_max);
}

// All output rows of one channel of one column: `series` its widened pairs, `record` its
// M, rounding, e, bias and tap pairs, `out` its output row 0.
void channel_column(const DspDepthwiseColumnParams& p, const uint32_t* series, const int32_t* record, int8_t* out) {
  const int32_t bias = record[3];
  const uint32_t* taps = reinterpret_cast<const uint32_t*>(record + 4);
  const int32_t row = p.out_row_bytes;
  for (int32_t b = 0; b < p.blocks; ++b, series += 4, out += 4 * row) {
    int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
    const uint32_t* x = series;
    uint32_t x0 = x[0], x1 = x[1];
    for (int32_t j = 0; j < p.tap_pairs; ++j, x += 2) {
      const uint32_t w = taps[j];
      const uint32_t x2 = x[2], x3 = x[3];
      a0 = smlad(x0, w, a0);
      a1 = smlad(x1, w, a1);
      a2 = smlad(x2, w, a2);
      a3 = smlad(x3, w, a3);
      x0 = x2;
      x1 = x3;
    }
    const int32_t left = p.output_h - 4 * b;
    store_output(p, a0, record, out);
    if (left > 1) store_output(p, a1, record, out + row);
    if (left > 2) store_output(p, a2, record, out + 2 * row);
    if (left > 3) store_output(p, a3, record, out + 3 * row);
  }
}

}  // namespace

void depthwise_conv2d_s8(const DspDepthwiseColumnParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  uint32_t* pairs = reinterpret_cast<uint32_t*>(scratch);  // [lane][pair_words]
  const uint32_t zp4 = static_cast<uint8_t>(p.input_zero_point) * 0x01010101u;
  for (int32_t ox = 0; ox < p.output_w; ++ox) {
    const int8_t* col = input + ox * p.in_col_bytes;
    int8_t* out_col = output + ox * p.channels;
    for (int32_t c0 = 0; c0 < p.channels; c0 += kLanes) {
      const int32_t lanes = p.channels - c0 < kLanes ? p.channels - c0 : kLanes;
      widen_column(p, col + c0, lanes, zp4, pairs);
      for (int32_t l = 0; l < lanes; ++l) {
        channel_column(p, pairs + l * p.pair_words, p.records + (c0 + l) * p.record_words, out_col + c0 + l);
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
