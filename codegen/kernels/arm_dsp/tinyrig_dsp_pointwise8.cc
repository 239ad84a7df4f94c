// tinyrig DSP-extension kernel: CONV_2D 1x1 on 8 input channels, one filter at a time.
//
// With 8 MACs per output (4 SMLAD), the cost around them decides the speed. Output
// pixels go in chunks of up to kChunk: each pixel's 8 inputs are widened once to 4
// int16-pair words in scratch ([pixel][4], SXTB16 order), then every filter's record
// (4 weight words, bias, M, rounding, e: pointwise8.py) is loaded once into r0-r7 and
// swept over the chunk. A pixel costs one LDM of its 4 words (5 cycles), 4 SMLAD seeded
// with the bias, the fused epilogue (SMMLAR, sign ADD, ASR, SSAT) and one STRB: 15
// cycles, 8 pixels a loop trip. Holding the pixel in registers and streaming the 8-word
// records instead cost 19 an output (the LDM alone 9).
//
// The run has no register left for an output pointer: it stores through lr + the pixel
// pointer, the chunk's pixels being 16 bytes apart. With 16 output channels that is the
// output itself; otherwise outputs go through a block of 16 bytes a pixel in scratch
// that the C side copies out, 16 filters at a time.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_pointwise8.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kChunk = 128;       // pixels widened at a time (pointwise8.py CHUNK_PIXELS)
constexpr int32_t kBlockStride = 16;  // bytes per pixel of the widened chunk and of the output block
constexpr int32_t kSlots = 8;         // pixels per loop trip of the run

// One chunk and a run of filters; field order is the run's stack frame.
struct Pw8Chunk {
  const uint32_t* x;           // 0: the chunk's first widened pixel
  const uint32_t* x_end;       // 4: past its last
  const int32_t* records;      // 8: the first filter's record
  const int32_t* records_end;  // 12
  int8_t* out;                 // 16: output of the first pixel and filter; pixels 16 bytes apart
  int32_t entry;               // 20: the slot (0..7) the first trip starts at, (8 - pixels % 8) % 8
};

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
// One pixel: r12 the widened pixels, r0-r3 the weights, r4 bias, r5 M, r6 rounding,
// r7 e; lr + r12 (after the LDM) is the pixel's output byte.
#define TINYRIG_PW8_MAC                                                   \
  "ldm r12!, {r8-r11}\n\t"                                                \
  "smlad r8, r8, r0, r4\n\t"                                              \
  "smlad r8, r9, r1, r8\n\t"                                              \
  "smlad r8, r10, r2, r8\n\t"                                             \
  "smlad r8, r11, r3, r8\n\t"                                             \
  "smmlar r9, r8, r5, r6\n\t"                                             \
  "add r9, r9, r8, asr #31\n\t"                                           \
  "asr r9, r9, r7\n\t"                                                    \
  "ssat r9, #8, r9\n\t"
#define TINYRIG_PW8_PIXEL TINYRIG_PW8_MAC "strb r9, [lr, r12]\n\t"

__attribute__((naked, noipa)) void pw8_filters(const Pw8Chunk*) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #24\n\t"
      "ldm r0, {r1-r6}\n\t"
      "adr r7, 6f\n\t"
      "ldr r6, [r7, r6, lsl #2]\n\t" /* the entry slot's address */
      "stm sp, {r1-r6}\n\t"
      "sub lr, r5, r1\n\t"
      "sub lr, lr, #16\n\t" /* out - (x + 16): + r12 after a pixel's LDM is its output */
      "b 2f\n\t"
      ".p2align 2\n\t"
      "6:\n\t"
      ".word 10f + 1, 11f + 1, 12f + 1, 13f + 1, 14f + 1, 15f + 1, 16f + 1, 17f + 1\n\t"
      "10:\n\t" TINYRIG_PW8_PIXEL "11:\n\t" TINYRIG_PW8_PIXEL "12:\n\t" TINYRIG_PW8_PIXEL
      "13:\n\t" TINYRIG_PW8_PIXEL "14:\n\t" TINYRIG_PW8_PIXEL "15:\n\t" TINYRIG_PW8_PIXEL
      "16:\n\t" TINYRIG_PW8_PIXEL
      "17:\n\t" TINYRIG_PW8_MAC
      "ldr r10, [sp, #4]\n\t" /* x_end; the STRB after a single LDR pipelines */
      "strb r9, [lr, r12]\n\t"
      "cmp r12, r10\n\t"
      "bne 10b\n\t"
      "add lr, lr, #1\n\t" /* the next filter's outputs */
      "2:\n\t"
      "ldrd r8, r9, [sp, #8]\n\t" /* records, records_end */
      "cmp r8, r9\n\t"
      "beq 9f\n\t"
      "ldm r8!, {r0-r7}\n\t"
      "str r8, [sp, #8]\n\t"
      "ldr r12, [sp]\n\t"
      "ldr r8, [sp, #20]\n\t"
      "bx r8\n\t"
      "9:\n\t"
      "add sp, sp, #24\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
void pw8_filters(const Pw8Chunk* run) {
  const int32_t pixels = static_cast<int32_t>(run->x_end - run->x) / 4;
  int8_t* out = run->out;
  for (const int32_t* rec = run->records; rec != run->records_end; rec += 8, ++out) {
    for (int32_t i = 0; i < pixels; ++i) {
      const uint32_t* x = run->x + 4 * i;
      int32_t acc = rec[4];
      for (int32_t j = 0; j < 4; ++j) acc = smlad(x[j], static_cast<uint32_t>(rec[j]), acc);
      out[i * kBlockStride] = static_cast<int8_t>(requantize(acc, rec + 5));
    }
  }
}
#endif

// Widens `pairs` pairs of adjacent pixels (16 input bytes) from src to x: one LDM, 8
// SXTB16 and 2 STM per pair (13.5 cycles a pixel).
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
__attribute__((naked, noipa)) void widen_pixel_pairs(const int8_t*, int32_t, uint32_t*) {
  __asm__ volatile(
      "push {r4-r11}\n\t"
      "1:\n\t"
      "ldm r0!, {r4-r7}\n\t"
      "sxtb16 r8, r4\n\t"
      "sxtb16 r9, r4, ror #8\n\t"
      "sxtb16 r10, r5\n\t"
      "sxtb16 r11, r5, ror #8\n\t"
      "stm r2!, {r8-r11}\n\t"
      "sxtb16 r8, r6\n\t"
      "sxtb16 r9, r6, ror #8\n\t"
      "sxtb16 r10, r7\n\t"
      "sxtb16 r11, r7, ror #8\n\t"
      "stm r2!, {r8-r11}\n\t"
      "subs r1, r1, #1\n\t"
      "bne 1b\n\t"
      "pop {r4-r11}\n\t"
      "bx lr\n\t");
}
#else
void widen_pixel_pairs(const int8_t* src, int32_t pairs, uint32_t* x) {
  for (int32_t i = 0; i < 2 * pairs; ++i, src += 8, x += 4) {
    const uint32_t w0 = load_word(src), w1 = load_word(src + 4);
    x[0] = sxtb16(w0);
    x[1] = sxtb16_ror8(w0);
    x[2] = sxtb16(w1);
    x[3] = sxtb16_ror8(w1);
  }
}
#endif

// The 8 inputs of `pixels` output pixels from (out_y, out_x) on, widened to x ([pixel][4]).
void widen_chunk(const DspPointwise8Params& p, const int8_t* input, int32_t out_y, int32_t out_x, int32_t pixels,
                 uint32_t* x) {
  const int32_t row_bytes = p.stride_h * p.input_w * 8, step = p.stride_w * 8;
  const int8_t* src = input + out_y * row_bytes + out_x * step;
  if (p.stride_h == 1 && p.stride_w == 1) {  // the chunk's inputs are contiguous
    if (pixels >= 2) widen_pixel_pairs(src, pixels / 2, x);
    if ((pixels & 1) == 0) return;
    src += 8 * (pixels - 1);
    x += 4 * (pixels - 1);
    pixels = 1;
  }
  for (int32_t i = 0; i < pixels; ++i, x += 4) {
    const uint32_t w0 = load_word(src), w1 = load_word(src + 4);
    x[0] = sxtb16(w0);
    x[1] = sxtb16_ror8(w0);
    x[2] = sxtb16(w1);
    x[3] = sxtb16_ror8(w1);
    if (++out_x == p.output_w) {
      out_x = 0;
      ++out_y;
      src = input + out_y * row_bytes;
    } else {
      src += step;
    }
  }
}

}  // namespace

void conv2d_s8(const DspPointwise8Params& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  const int32_t pixels = p.output_h * p.output_w;
  const int32_t chunk = pixels < kChunk ? pixels : kChunk;  // pointwise8.py sizes scratch for this chunk
  uint32_t* const x = reinterpret_cast<uint32_t*>(scratch);
  int8_t* const block = reinterpret_cast<int8_t*>(x + 4 * chunk);  // only when output_c != 16
  const bool direct = p.output_c == kBlockStride;
  Pw8Chunk run;
  run.x = x;
  int32_t out_y = 0, out_x = 0;
  for (int32_t first = 0; first < pixels; first += chunk) {
    const int32_t n = pixels - first < chunk ? pixels - first : chunk;
    widen_chunk(p, input, out_y, out_x, n, x);
    out_x += n;
    out_y += out_x / p.output_w;
    out_x %= p.output_w;
    run.x_end = x + 4 * n;
    run.entry = (kSlots - n % kSlots) % kSlots;
    int8_t* const out = output + first * p.output_c;
    for (int32_t f0 = 0; f0 < p.output_c; f0 += kBlockStride) {
      const int32_t filters = p.output_c - f0 < kBlockStride ? p.output_c - f0 : kBlockStride;
      run.records = p.records + 8 * f0;
      run.records_end = run.records + 8 * filters;
      run.out = direct ? out : block;
      pw8_filters(&run);
      if (direct) continue;
      // memcpy: already linked, and the smallest code for a path the reference models never take.
      for (int32_t i = 0; i < n; ++i) std::memcpy(out + i * p.output_c + f0, block + i * kBlockStride, filters);
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
