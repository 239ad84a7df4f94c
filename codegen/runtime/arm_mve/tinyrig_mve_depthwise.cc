// tinyrig Helium kernel: DEPTHWISE_CONV_2D (int8, depth multiplier 1).
//
// Four channels per vector with int32 lanes: VLDRB.S32 widens 4 input bytes, VMUL.I32
// multiplies them by the 4 channels' (pre-widened) weights and VADD accumulates. The
// input rows a window needs are copied into a ring of padded rows laid out
// [channel quad][column][4], so that for one quad the columns of a row sit 4 bytes
// apart and every tap of a pixel pair is an immediate offset from one pointer.
// Columns and rows outside the image hold the input zero point (the folded bias
// expects that). A 3x3 filter runs a pixel pair per step: 3 weight vectors per row
// are shared by both pixels, the 4 (stride 1) or 5 (stride 2) input vectors of a
// row by both. Other filter sizes take the same path one tap at a time.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_kernels.h"

namespace tinyrig {
namespace arm_mve {
namespace {

constexpr int32_t kMaxFilterH = 8;

struct Ring {
  int8_t* slots[kMaxFilterH];
  int32_t rows[kMaxFilterH];  // input row held by each slot (or a sentinel)
  int32_t slot_bytes;
};

// Input row y (or the zero point, outside the image) into a [quad][column][4] slot.
void fill_slot(const MveDepthwiseConv2DParams& p, const int8_t* input, int32_t y, int8_t* slot) {
  const int32_t quads = p.channels_padded / 4;
  const int32_t quad_bytes = p.padded_w * 4;
  const int8_t zero_point = static_cast<int8_t>(p.input_zero_point);
  if (y < 0 || y >= p.input_h) {
    fill_bytes(slot, zero_point, quads * quad_bytes);
    return;
  }
  const int32_t first = p.pad_left;  // ring column of input column 0
  const int32_t last = p.pad_left + p.input_w < p.padded_w ? p.pad_left + p.input_w : p.padded_w;
  const int8_t* row = input + y * p.input_w * p.channels;
  for (int32_t quad = 0; quad < quads; ++quad) {
    int8_t* dst = slot + quad * quad_bytes;
    fill_bytes(dst, zero_point, first * 4);
    fill_bytes(dst + last * 4, zero_point, (p.padded_w - last) * 4);
    const int32_t c0 = quad * 4;
    const int32_t width = p.channels - c0 < 4 ? p.channels - c0 : 4;
    const int8_t* src = row + c0;
    if (width == 4) {
      for (int32_t column = first; column < last; ++column, src += p.channels) {
        int32_t word;
        __builtin_memcpy(&word, src, 4);
        __builtin_memcpy(dst + 4 * column, &word, 4);
      }
    } else {  // the last, partial quad: padded channels read the zero point
      for (int32_t column = first; column < last; ++column, src += p.channels) {
        for (int32_t i = 0; i < 4; ++i) dst[4 * column + i] = i < width ? src[i] : zero_point;
      }
    }
  }
}

// Slots for the window rows of output row out_y, refilling only rows not yet held.
void prepare_rows(const MveDepthwiseConv2DParams& p, const int8_t* input, int32_t out_y, Ring& ring,
                  const int8_t** rows) {
  const int32_t y0 = out_y * p.stride_h - p.pad_top;
  for (int32_t fy = 0; fy < p.filter_h; ++fy) {
    const int32_t y = y0 + fy;
    const int32_t slot = ((y % p.filter_h) + p.filter_h) % p.filter_h;
    if (ring.rows[slot] != y) {
      fill_slot(p, input, y, ring.slots[slot]);
      ring.rows[slot] = y;
    }
    rows[fy] = ring.slots[slot];
  }
}

#if TINYRIG_MVE_NATIVE

inline int32x4_t load4(const int8_t* x) { return vldrbq_s32(x); }

// Helium has no lane-wise integer multiply-accumulate: VMUL then VADD.
inline int32x4_t mla(int32x4_t acc, int32x4_t x, int32x4_t w) { return vaddq_s32(acc, vmulq_s32(x, w)); }

// One filter row of a 3x3 filter for a pixel pair; x points at the pair's first tap.
template <int32_t kStride>
inline void row3(const int8_t* x, const int32_t* w, int32x4_t& a, int32x4_t& b) {
  const int32x4_t w0 = vldrwq_s32(w), w1 = vldrwq_s32(w + 4), w2 = vldrwq_s32(w + 8);
  const int32x4_t x0 = load4(x), x1 = load4(x + 4), x2 = load4(x + 8);
  a = mla(a, x0, w0);
  a = mla(a, x1, w1);
  a = mla(a, x2, w2);
  if (kStride == 1) {
    const int32x4_t x3 = load4(x + 12);
    b = mla(b, x1, w0);
    b = mla(b, x2, w1);
    b = mla(b, x3, w2);
  } else {
    const int32x4_t x3 = load4(x + 12), x4 = load4(x + 16);
    b = mla(b, x2, w0);
    b = mla(b, x3, w1);
    b = mla(b, x4, w2);
  }
}

template <int32_t kStride>
void row_3x3(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quads = p.channels_padded / 4;
  const int32_t quad_bytes = p.padded_w * 4;
  const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
  const int32_t offset = p.output_offset;
  for (int32_t quad = 0; quad < quads; ++quad) {
    const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(p.channels - 4 * quad));
    const int32_t* w = p.weights + quad * 36;
    const int32_t* rq = p.requant + quad * kRequantWords;
    const int8_t* r0 = rows[0] + quad * quad_bytes;
    const int8_t* r1 = rows[1] + quad * quad_bytes;
    const int8_t* r2 = rows[2] + quad * quad_bytes;
    int8_t* o = out + 4 * quad;
    for (int32_t x = 0; x < p.output_w; x += 2) {
      int32x4_t a = vldrwq_s32(rq);
      int32x4_t b = a;
      row3<kStride>(r0, w, a, b);
      row3<kStride>(r1, w + 12, a, b);
      row3<kStride>(r2, w + 24, a, b);
      r0 += 8 * kStride, r1 += 8 * kStride, r2 += 8 * kStride;
      const int32x4_t mult = vldrwq_s32(rq + 4), shift = vldrwq_s32(rq + 8);
      vstrbq_p_s32(o, requantize4(a, mult, shift, offset, lo, hi), keep);
      if (x + 1 < p.output_w) vstrbq_p_s32(o + p.channels, requantize4(b, mult, shift, offset, lo, hi), keep);
      o += 2 * p.channels;
    }
  }
}

void row_generic(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quads = p.channels_padded / 4;
  const int32_t quad_bytes = p.padded_w * 4;
  const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
  for (int32_t quad = 0; quad < quads; ++quad) {
    const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(p.channels - 4 * quad));
    const int32_t* rq = p.requant + quad * kRequantWords;
    for (int32_t x = 0; x < p.output_w; ++x) {
      int32x4_t a = vldrwq_s32(rq);
      const int32_t* w = p.weights + quad * p.filter_h * p.filter_w * 4;
      for (int32_t fy = 0; fy < p.filter_h; ++fy) {
        const int8_t* r = rows[fy] + quad * quad_bytes + x * p.stride_w * 4;
        for (int32_t fx = 0; fx < p.filter_w; ++fx, w += 4) a = mla(a, load4(r + 4 * fx), vldrwq_s32(w));
      }
      vstrbq_p_s32(out + x * p.channels + 4 * quad,
                   requantize4(a, vldrwq_s32(rq + 4), vldrwq_s32(rq + 8), p.output_offset, lo, hi), keep);
    }
  }
}

#else  // host model: the same ring and weight layouts, one lane at a time

void row_generic(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quad_bytes = p.padded_w * 4;
  for (int32_t c = 0; c < p.channels; ++c) {
    const int32_t quad = c / 4, lane = c % 4;
    const int32_t* rq = p.requant + quad * kRequantWords;
    for (int32_t x = 0; x < p.output_w; ++x) {
      int32_t acc = rq[lane];
      const int32_t* w = p.weights + quad * p.filter_h * p.filter_w * 4;
      for (int32_t fy = 0; fy < p.filter_h; ++fy) {
        const int8_t* r = rows[fy] + quad * quad_bytes + x * p.stride_w * 4;
        for (int32_t fx = 0; fx < p.filter_w; ++fx, w += 4) acc += r[4 * fx + lane] * w[lane];
      }
      out[x * p.channels + c] = requantize1(acc, rq, lane, p.output_offset, p.activation_min, p.activation_max);
    }
  }
}

#endif

}  // namespace

void depthwise_conv2d_s8(const MveDepthwiseConv2DParams& p, const int8_t* input, int8_t* output,
                         int32_t* scratch) {
  Ring ring;
  ring.slot_bytes = p.channels_padded * p.padded_w;
  for (int32_t i = 0; i < p.filter_h; ++i) {
    ring.slots[i] = reinterpret_cast<int8_t*>(scratch) + i * ring.slot_bytes;
    ring.rows[i] = INT32_MIN;
  }
  const int8_t* rows[kMaxFilterH];
  for (int32_t out_y = 0; out_y < p.output_h; ++out_y) {
    prepare_rows(p, input, out_y, ring, rows);
    int8_t* out = output + out_y * p.output_w * p.channels;
#if TINYRIG_MVE_NATIVE
    if (p.filter_h == 3 && p.filter_w == 3 && p.stride_w == 1) {
      row_3x3<1>(p, rows, out);
      continue;
    }
    if (p.filter_h == 3 && p.filter_w == 3 && p.stride_w == 2) {
      row_3x3<2>(p, rows, out);
      continue;
    }
#endif
    row_generic(p, rows, out);
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
