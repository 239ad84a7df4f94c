// tinyrig Helium kernel: CONV_2D and FULLY_CONNECTED (int8) as 2-pixel x 4-filter
// VMLADAVA blocks.
//
// Each VMLADAVA.S8 multiplies 16 int8 pairs and adds them to a scalar accumulator.
// A block keeps 8 accumulators (2 pixels x 4 filters) in the 8 even registers
// VMLADAVA can name, so it is written in assembly: per 16 bytes of depth 2 input
// loads + 4 weight loads + 8 VMLADAVA = 128 MACs in 14 instructions; up to 8 chunks
// run straight-line (entered by a TBB), deeper columns loop. One call runs every
// filter quad of a pixel pair (a pointwise convolution at stride 1: every pair of
// the layer) with the requantisation fused in; layers with left shifts store the
// raw accumulators with STM and a C epilogue requantises 4 channels per vector.
//
// A 1x1 convolution without padding whose depth is a multiple of 16 reads its
// columns straight from the input; other shapes gather the window (taps outside
// the image read the input zero point, as the folded bias expects) into a
// zero-padded int8 column in scratch. FULLY_CONNECTED is the 1x1 case with the
// batches as pixels.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_conv.h"

namespace tinyrig {
namespace arm_mve {

struct DotRun {
  int32_t chunks;  // depth_padded / 16
  int32_t quads;   // channels_padded / 4
  int32_t* acc;    // [quad][pixel][4]
};

#if TINYRIG_MVE_NATIVE && defined(__thumb2__)


// One quad's multiply-accumulate: the first chunk starts the 8 accumulators, the
// remaining chunks add to them. ENTRY holds min(chunks - 1, 8): up to 7 remaining
// chunks run straight-line, entered by a TBB at the right distance from the end (no
// loop counter, no branch back); 8 means "more": a loop over CHUNKS_LEFT (chunks - 1).
#define TINYRIG_MVE_QUAD_MACS(ENTRY, CHUNKS_LEFT) \
  "mov r1, r9\n\t"                               \
  "mov r3, r11\n\t"                              \
  TINYRIG_MVE_CHUNK("vmladav.s8")                 \
  "ldr r7, " ENTRY "\n\t"                        \
  "tbb [pc, r7]\n\t"                             \
  "20:\n\t"                                      \
  ".byte (30f - 20b) / 2, (27f - 20b) / 2, (26f - 20b) / 2, (25f - 20b) / 2\n\t" \
  ".byte (24f - 20b) / 2, (23f - 20b) / 2, (22f - 20b) / 2, (21f - 20b) / 2\n\t" \
  ".byte (28f - 20b) / 2\n\t"                    \
  ".p2align 1\n\t"                               \
  "28:\n\t"                                      \
  "ldr r7, " CHUNKS_LEFT "\n\t"                  \
  "29:\n\t"                                      \
  TINYRIG_MVE_CHUNK("vmladava.s8")                \
  "subs r7, r7, #1\n\t"                          \
  "bne 29b\n\t"                                  \
  "b 30f\n\t"                                    \
  "21:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "22:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "23:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "24:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "25:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "26:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "27:\n\t" TINYRIG_MVE_CHUNK("vmladava.s8")     \
  "30:\n\t"

// x0 (r0), x1 (r1): the pixels' columns; w (r2): [quad][chunk][4][16]; run (r3).
// Accumulators r0, r2, r4, r6 (pixel 0) and r8, r10, r12, lr (pixel 1); r1/r3 walk
// the columns, r5 the weights, r7 counts chunks, r9/r11 keep the column starts.
extern "C" __attribute__((naked, noipa)) void tinyrig_mve_dot_2x4_run(const int8_t*, const int8_t*, const int8_t*,
                                                               const DotRun*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldm r3, {r4, r6, r8}\n\t"
      "sub sp, sp, #16\n\t"
      "subs r4, r4, #1\n\t"
      "str r4, [sp]\n\t"       // chunks after the first
      "str r6, [sp, #4]\n\t"   // quads left
      "str r8, [sp, #8]\n\t"   // accumulator output
      "cmp r4, #8\n\t"
      "it hi\n\t"
      "movhi r4, #8\n\t"
      "str r4, [sp, #12]\n\t"  // the chunk entry: min(chunks - 1, 8)
      "mov r9, r0\n\t"
      "mov r11, r1\n\t"
      "mov r5, r2\n\t"
      "1:\n\t"
      TINYRIG_MVE_QUAD_MACS("[sp, #12]", "[sp]")
      "ldr r7, [sp, #8]\n\t"
      "stm r7!, {r0, r2, r4, r6, r8, r10, r12, lr}\n\t"
      "str r7, [sp, #8]\n\t"
      "ldr r7, [sp, #4]\n\t"
      "subs r7, r7, #1\n\t"
      "str r7, [sp, #4]\n\t"
      "bne 1b\n\t"
      "add sp, sp, #16\n\t"
      "pop {r4-r11, pc}\n\t");
}

// The same block with the epilogue fused (right shifts only, see
// tinyrig_mve_common.h): per quad the 8 accumulators go into two vectors (through
// the frame), are requantised with the quad's bias, multipliers and shifts
// and stored, predicated, as 4 bytes per pixel. What must outlive the
// multiply-accumulate loop is kept in a frame reloaded with one LDM.

#define TINYRIG_MVE_CONV_RQ(PAIR_SETUP, PAIR_NEXT)                                                 \
  "push {r4-r11, lr}\n\t"                                                                          \
  "vpush {d8-d15}\n\t"                                                                             \
  /* [sp, 32): the accumulators; [sp+32, 64): the run state; [sp+64, 88): a pair's start */        \
  "sub sp, sp, #88\n\t"                                                                            \
  "mov r9, r0\n\t"                                                                                 \
  "mov r11, r1\n\t"                                                                                \
  "mov r5, r2\n\t"                                                                                 \
  "ldm r3, {r0, r2, r4, r6, r8, r10}\n\t"                                                          \
  "subs r10, r10, #1\n\t"                                                                          \
  "add r7, sp, #32\n\t"                                                                            \
  "stm r7, {r0, r2, r4, r6, r8, r10}\n\t"                                                          \
  "cmp r10, #8\n\t"                                                                                \
  "it hi\n\t"                                                                                      \
  "movhi r10, #8\n\t"                                                                              \
  "str r10, [sp, #56]\n\t" /* the chunk entry: min(chunks - 1, 8) */                               \
  PAIR_SETUP                                                                                       \
  "ldr r4, [r3, #24]\n\t"                                                                          \
  "vdup.32 q5, r4\n\t"                                                                             \
  "ldr r4, [r3, #28]\n\t"                                                                          \
  "vdup.32 q6, r4\n\t"                                                                             \
  "ldr r4, [r3, #32]\n\t"                                                                          \
  "vdup.32 q7, r4\n\t"                                                                             \
  "1:\n\t"                                                                                         \
  TINYRIG_MVE_QUAD_MACS("[sp, #56]", "[sp, #52]")                                                  \
  TINYRIG_MVE_REQUANT_2X4                                                                          \
  "vctp.32 r6\n\t"                                                                                 \
  "subs r6, r6, #4\n\t"                                                                            \
  "vpstt\n\t"                                                                                      \
  "vstrbt.32 q0, [r2], #4\n\t"                                                                     \
  "vstrbt.32 q1, [r4], #4\n\t"                                                                     \
  "subs r8, r8, #1\n\t"                                                                            \
  "stm r7, {r0, r2, r4, r6, r8}\n\t"                                                               \
  "bne 1b\n\t"                                                                                     \
  PAIR_NEXT                                                                                        \
  "add sp, sp, #88\n\t"                                                                            \
  "vpop {d8-d15}\n\t"                                                                              \
  "pop {r4-r11, pc}\n\t"

#define TINYRIG_MVE_PAIR_SETUP                                                                     \
  "ldr r4, [r3, #36]\n\t"                                                                          \
  "str r4, [sp, #60]\n\t" /* pairs left */                                                         \
  "ldr r10, [r3, #40]\n\t"                                                                         \
  "ldr r12, [r3, #44]\n\t"                                                                         \
  "add r7, sp, #64\n\t" /* requant, weights, channels, quads, x_step, out_adjust */                \
  "stm r7, {r0, r5, r6, r8, r10, r12}\n\t"

// The next pixel pair: columns x_step on, outputs on from where the stores ended,
// weights, requant table and counts from the start.
#define TINYRIG_MVE_PAIR_NEXT                                                                      \
  "ldr r7, [sp, #60]\n\t"                                                                          \
  "subs r7, r7, #1\n\t"                                                                            \
  "beq 9f\n\t"                                                                                     \
  "str r7, [sp, #60]\n\t"                                                                          \
  "add r7, sp, #64\n\t"                                                                            \
  "ldm r7, {r0, r5, r6, r8, r10, r12}\n\t"                                                         \
  "add r9, r9, r10\n\t"                                                                            \
  "add r11, r11, r10\n\t"                                                                          \
  "add r2, r2, r12\n\t"                                                                            \
  "add r4, r4, r12\n\t"                                                                            \
  "add r7, sp, #32\n\t"                                                                            \
  "stm r7, {r0, r2, r4, r6, r8}\n\t"                                                               \
  "b 1b\n\t"                                                                                       \
  "9:\n\t"

// One pixel pair per call (gathered columns).
extern "C" __attribute__((naked, noipa)) void tinyrig_mve_conv_2x4_rq(const int8_t*, const int8_t*,
                                                                     const int8_t*, const ConvRun*) {
  __asm__ volatile(TINYRIG_MVE_CONV_RQ("", ""));
}

// run->pairs pixel pairs, each run->x_step bytes of input on from the last (pointwise
// convolutions at stride 1): no call, prologue or index arithmetic per pair.
extern "C" __attribute__((naked, noipa)) void tinyrig_mve_conv_2x4_rq_pairs(const int8_t*, const int8_t*,
                                                                           const int8_t*, const ConvRun*) {
  __asm__ volatile(TINYRIG_MVE_CONV_RQ(TINYRIG_MVE_PAIR_SETUP, TINYRIG_MVE_PAIR_NEXT));
}

#else  // host model of the same loop

extern "C" void tinyrig_mve_dot_2x4_run(const int8_t* x0, const int8_t* x1, const int8_t* w, const DotRun* run) {
  int32_t* acc = run->acc;
  for (int32_t quad = 0; quad < run->quads; ++quad, acc += 8) {
    for (int32_t i = 0; i < 8; ++i) acc[i] = 0;
    for (int32_t chunk = 0; chunk < run->chunks; ++chunk, w += 64) {
      for (int32_t f = 0; f < 4; ++f) {
        for (int32_t i = 0; i < 16; ++i) {
          acc[f] += x0[16 * chunk + i] * w[16 * f + i];
          acc[4 + f] += x1[16 * chunk + i] * w[16 * f + i];
        }
      }
    }
  }
}

static void conv_2x4_rq_pair(const int8_t* x0, const int8_t* x1, const int8_t* w, const ConvRun* run) {
  dot_2x4_requantized(x0, x1, w, run->requant, run->out0, run->out1, run->channels, run->quads, run->chunks,
                      run->offset, run->lo, run->hi);
}

extern "C" void tinyrig_mve_conv_2x4_rq(const int8_t* x0, const int8_t* x1, const int8_t* w, const ConvRun* run) {
  conv_2x4_rq_pair(x0, x1, w, run);
}

extern "C" void tinyrig_mve_conv_2x4_rq_pairs(const int8_t* x0, const int8_t* x1, const int8_t* w,
                                              const ConvRun* run) {
  ConvRun pair = *run;
  for (int32_t i = 0; i < run->pairs; ++i) {
    conv_2x4_rq_pair(x0 + i * run->x_step, x1 + i * run->x_step, w, &pair);
    // Where the assembly's stores end (4 bytes per quad), then out_adjust on.
    pair.out0 += 4 * run->quads + run->out_adjust;
    pair.out1 += 4 * run->quads + run->out_adjust;
  }
}

#endif

namespace {

// The int8 column of one output pixel: the window, tap by tap, each filter row's
// in-image taps copied as one run; taps outside the image read the zero point.
void gather(const MveConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* column) {
  const int32_t out_y = pixel / p.window.output_w;
  const int32_t out_x = pixel - out_y * p.window.output_w;
  const int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  const int32_t x0 = out_x * p.window.stride_w - p.window.pad_left;
  const int32_t row_bytes = p.window.filter_w * p.window.input_c;
#if TINYRIG_MVE_NATIVE
  // Filter rows of at most 16 bytes (first convolutions over few channels): one
  // predicated load and store per filter row; at the image's edges the row is first
  // filled with the zero point and then its in-image run is copied over it.
  if (p.window.dilation_w == 1 && row_bytes <= 16) {
    const mve_pred16_t keep = vctp8q(static_cast<uint32_t>(row_bytes));
    if (x0 >= 0 && x0 + p.window.filter_w <= p.window.input_w && y0 >= 0 &&
        y0 + (p.window.filter_h - 1) * p.window.dilation_h < p.window.input_h) {
      const int32_t step = p.window.dilation_h * p.window.input_w * p.window.input_c;  // the window inside the image
      const int8_t* src = input + (y0 * p.window.input_w + x0) * p.window.input_c;
      int8_t* dst = column;
      for (int32_t fy = p.window.filter_h; fy > 0; --fy, src += step, dst += row_bytes) {
        vstrbq_p_s8(dst, vldrbq_z_s8(src, keep), keep);
      }
      return;
    }
    const int32_t first_x = x0 < 0 ? -x0 : 0;                                         // first in-image tap
    const int32_t end_x = x0 + p.window.filter_w > p.window.input_w
        ? p.window.input_w - x0 : p.window.filter_w;  // one past the last
    const bool columns_inside = first_x == 0 && end_x == p.window.filter_w;
    const mve_pred16_t run = vctp8q(static_cast<uint32_t>(end_x > first_x ? (end_x - first_x) * p.window.input_c : 0));
    const int8x16_t zero_point = vdupq_n_s8(static_cast<int8_t>(p.input_zero_point));
    const int32_t row_stride = p.window.input_w * p.window.input_c;
    int8_t* dst = column;
    for (int32_t fy = 0; fy < p.window.filter_h; ++fy, dst += row_bytes) {
      const int32_t y = y0 + fy * p.window.dilation_h;
      if (y < 0 || y >= p.window.input_h) {
        vstrbq_p_s8(dst, zero_point, keep);
      } else if (columns_inside) {
        const int8_t* src = input + y * row_stride + x0 * p.window.input_c;
        vstrbq_p_s8(dst, vldrbq_z_s8(src, keep), keep);
      } else {
        const int8_t* src = input + y * row_stride + (x0 + first_x) * p.window.input_c;
        vstrbq_p_s8(dst, zero_point, keep);
        vstrbq_p_s8(dst + first_x * p.window.input_c, vldrbq_z_s8(src, run), run);
      }
    }
    return;
  }
#endif
  const bool columns_inside = x0 >= 0 && x0 + (p.window.filter_w - 1) * p.window.dilation_w < p.window.input_w;
  const int8_t zero_point = static_cast<int8_t>(p.input_zero_point);
  int8_t* c = column;
  for (int32_t fy = 0; fy < p.window.filter_h; ++fy, c += row_bytes) {
    const int32_t y = y0 + fy * p.window.dilation_h;
    if (y < 0 || y >= p.window.input_h) {
      fill_bytes(c, zero_point, row_bytes);
      continue;
    }
    const int8_t* row = input + y * p.window.input_w * p.window.input_c;
    if (columns_inside && p.window.dilation_w == 1) {
      copy_bytes(c, row + x0 * p.window.input_c, row_bytes);
      continue;
    }
    for (int32_t fx = 0; fx < p.window.filter_w; ++fx) {
      const int32_t x = x0 + fx * p.window.dilation_w;
      if (x >= 0 && x < p.window.input_w) {
        copy_bytes(c + fx * p.window.input_c, row + x * p.window.input_c, p.window.input_c);
      } else {
        fill_bytes(c + fx * p.window.input_c, zero_point, p.window.input_c);
      }
    }
  }
}

const int8_t* column_of(const MveConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* scratch) {
  if (p.direct) {
    const int32_t out_y = pixel / p.window.output_w;
    const int32_t out_x = pixel - out_y * p.window.output_w;
    return input + (out_y * p.window.stride_h * p.window.input_w + out_x * p.window.stride_w) * p.window.input_c;
  }
  gather(p, input, pixel, scratch);
  return scratch;
}

// acc: [quad][pixel][4] for `pixels` (1 or 2) pixels starting at out[0]; the requant
// table has 16 words per quad (bias, multiplier, -right shift, left shift). The
// general epilogue for layers with left shifts (the fast form is fused in the run).
void requantize_block(const MveConv2DParams& p, const int32_t* acc, int32_t pixels, int8_t* out) {
  constexpr int32_t kWords = 16;
  const int32_t* rq = p.requant;
  const int32_t channels = p.window.output_c;
#if TINYRIG_MVE_NATIVE
  const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
  const int32_t offset = p.output_offset;
  for (int32_t left = channels; left > 0; left -= 4, rq += kWords, acc += 8, out += 4) {
    const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(left));
    const int32x4_t bias = vldrwq_s32(rq), mult = vldrwq_s32(rq + 4), shift = vldrwq_s32(rq + 8);
    for (int32_t pixel = 0; pixel < pixels; ++pixel) {
      const int32x4_t a = vaddq_s32(vldrwq_s32(acc + 4 * pixel), bias);
      vstrbq_p_s32(out + pixel * channels,
                   requantize4_any_shift(a, mult, shift, vldrwq_s32(rq + 12), offset, lo, hi), keep);
    }
  }
#else
  for (int32_t c = 0; c < channels; ++c) {
    const int32_t* group = rq + kWords * (c / 4);
    for (int32_t pixel = 0; pixel < pixels; ++pixel) {
      out[pixel * channels + c] = requantize1(acc[8 * (c / 4) + 4 * pixel + c % 4] + group[c % 4], group, c % 4,
                                              p.output_offset, p.activation_min, p.activation_max, true);
    }
  }
#endif
}

}  // namespace

void conv2d_s8(const MveConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  // Scratch: the raw accumulators of a pixel pair, two gathered columns, a dummy output row.
  int32_t* acc = scratch;
  int8_t* columns = reinterpret_cast<int8_t*>(scratch + 2 * p.channels_padded);
  // Where a lone last pixel's twin outputs go (after the two gathered columns).
  int8_t* dummy = columns + 2 * p.depth_padded;
  if (!p.direct) {  // the padding past `depth` stays zero for every gathered column
    fill_bytes(columns, 0, 2 * p.depth_padded);
  }
  const DotRun run = {p.depth_padded / 16, p.channels_padded / 4, acc};
  ConvRun fused = {p.requant, output, dummy, p.window.output_c, p.channels_padded / 4, p.depth_padded / 16,
                   p.output_offset, p.activation_min, p.activation_max, 1, 0, 0};
  const int32_t pixels = p.window.output_h * p.window.output_w;
  // A pointwise convolution at stride 1 reads pixel after pixel: with the fast
  // epilogue one call runs every whole pair, then a lone last pixel.
  const bool contiguous = p.direct && p.window.stride_h == 1 && p.window.stride_w == 1;
  int32_t first = 0;
  if (contiguous && !p.general_shifts && pixels >= 2) {
    fused.pairs = pixels / 2;
    fused.x_step = 2 * p.window.input_c;
    fused.out1 = output + p.window.output_c;
    fused.out_adjust = 2 * p.window.output_c - 4 * (p.channels_padded / 4);
    tinyrig_mve_conv_2x4_rq_pairs(input, input + p.window.input_c, p.weights, &fused);
    first = 2 * fused.pairs;
    fused.pairs = 1;
  }
  for (; first < pixels; first += 2) {
    const int32_t count = pixels - first < 2 ? 1 : 2;
    const int8_t* x0;
    const int8_t* x1;
    if (contiguous) {
      x0 = input + first * p.window.input_c;
      x1 = count == 2 ? x0 + p.window.input_c : x0;
    } else {
      x0 = column_of(p, input, first, columns);
      x1 = count == 2 ? column_of(p, input, first + 1, columns + p.depth_padded) : x0;
    }
    int8_t* out0 = output + first * p.window.output_c;
    if (p.general_shifts) {
      tinyrig_mve_dot_2x4_run(x0, x1, p.weights, &run);
      requantize_block(p, acc, count, out0);
    } else {
      fused.out0 = out0;
      fused.out1 = count == 2 ? out0 + p.window.output_c : dummy;
      tinyrig_mve_conv_2x4_rq(x0, x1, p.weights, &fused);
    }
  }
}

void fully_connected_s8(const MveConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  conv2d_s8(p, input, output, scratch);
}

}  // namespace arm_mve
}  // namespace tinyrig
