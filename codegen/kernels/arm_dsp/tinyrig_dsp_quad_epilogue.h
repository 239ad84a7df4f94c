// tinyrig DSP-extension kernels: the epilogue of a 2-pixel x 4-filter block, shared by the 1x1 kernel
// (tinyrig_dsp_pointwise_quad.cc) and the band kernel (tinyrig_dsp_band_quad.cc), whose runs hold the
// same 8 accumulators (r6 a0, r7 raw_ab0, r8 a1, r9 raw_ab1, r10 c0, r11 raw_cd0, r12 c1, lr raw_cd1)
// and read the same 13 epilogue words of a quad's stream (quad_stream.py EPILOGUE_WORDS).
#ifndef TINYRIG_DSP_QUAD_EPILOGUE_H_
#define TINYRIG_DSP_QUAD_EPILOGUE_H_

#include "tinyrig_dsp_common.h"

// Filter ACC at both pixels (P0, P1: accumulators already doubled by their ADD) requantised in 3
// instructions with r3 M, r4 F = 2^(32 - e) + 1, r5 the output zero point
// (fused_epilogue.three_instruction_exact): SMMULR, SMMLAR adding the zero point, SSAT.
#define TINYRIG_QUAD_RQ3(ACC)                                             \
  "smmulr " #ACC ", " #ACC ", r3\n\t"                                     \
  "smmlar " #ACC ", " #ACC ", r4, r5\n\t"                                 \
  "ssat " #ACC ", #8, " #ACC "\n\t"
// Filters a, c (their accumulators doubled plus the doubled bias in r2) and b, d (raw minus a,
// i.e. 256 x the half-scaled sum, to the doubled sum by ASR 7, plus the doubled bias).
#define TINYRIG_QUAD_FIRST_OF_PAIR(P0, P1)                                \
  "add " #P0 ", r2, " #P0 ", lsl #1\n\t" TINYRIG_QUAD_RQ3(P0)             \
  "add " #P1 ", r2, " #P1 ", lsl #1\n\t" TINYRIG_QUAD_RQ3(P1)
#define TINYRIG_QUAD_SECOND_OF_PAIR(P0, P1)                               \
  "add " #P0 ", r2, " #P0 ", asr #7\n\t" TINYRIG_QUAD_RQ3(P0)             \
  "add " #P1 ", r2, " #P1 ", asr #7\n\t" TINYRIG_QUAD_RQ3(P1)

// The quad's 8 outputs, each pixel's 4 bytes packed into r6 (pixel 0) and r8 (pixel 1).
#define TINYRIG_QUAD_EPILOGUE                                             \
  "sub r7, r7, r6\n\t"                                                    \
  "sub r9, r9, r8\n\t"                                                    \
  "sub r11, r11, r10\n\t"                                                 \
  "sub lr, lr, r12\n\t"                                                   \
  "ldm r1!, {r2, r3, r4, r5}\n\t" /* 2 * bias_a, M_a, F_a, zero point */  \
  TINYRIG_QUAD_FIRST_OF_PAIR(r6, r8)                                      \
  "ldm r1!, {r2, r3, r4}\n\t"                                             \
  TINYRIG_QUAD_SECOND_OF_PAIR(r7, r9)                                     \
  "bfi r6, r7, #8, #8\n\t"                                                \
  "bfi r8, r9, #8, #8\n\t"                                                \
  "ldm r1!, {r2, r3, r4}\n\t"                                             \
  TINYRIG_QUAD_FIRST_OF_PAIR(r10, r12)                                    \
  "bfi r6, r10, #16, #8\n\t"                                              \
  "bfi r8, r12, #16, #8\n\t"                                              \
  "ldm r1!, {r2, r3, r4}\n\t"                                             \
  TINYRIG_QUAD_SECOND_OF_PAIR(r11, lr)                                    \
  "bfi r6, r11, #24, #8\n\t"                                              \
  "bfi r8, lr, #24, #8\n\t"

// The activation range on the packed outputs: per byte max with lo4, min with hi4 (SSUB8 sets
// the GE flags SEL reads).
#define TINYRIG_QUAD_CLAMP_ONE(V)                                         \
  "ssub8 r4, " #V ", r2\n\t"                                              \
  "sel " #V ", " #V ", r2\n\t"                                            \
  "ssub8 r4, r3, " #V "\n\t"                                              \
  "sel " #V ", " #V ", r3\n\t"
#define TINYRIG_QUAD_CLAMP                                                \
  "ldrd r2, r3, [sp, #28]\n\t"                                            \
  TINYRIG_QUAD_CLAMP_ONE(r6) TINYRIG_QUAD_CLAMP_ONE(r8)

// The quad's outputs to memory, after the frame's x, out, out_c and end are reloaded (r0, r2-r4)
// and the flags set by the stream's end test (the stores keep them).
#define TINYRIG_QUAD_STORE                                                \
  "ldm sp, {r0, r2, r3, r4}\n\t" /* x, out, out_c, end */               \
  "cmp r1, r4\n\t"                                                        \
  "str r8, [r2, r3]\n\t"                                                  \
  "str r6, [r2], #4\n\t"                                                  \
  "str r2, [sp, #4]\n\t"

namespace tinyrig {
namespace arm_dsp {

constexpr int32_t kQuadEpilogueWords = 13;  // quad_stream.py EPILOGUE_WORDS

#if !(TINYRIG_DSP_NATIVE && defined(__thumb2__))
// The host model of a quad run (pointwise_quad's and band_quad's): every quad of filters from
// run->stream to run->end against 2 pixels of `steps` SMLAD steps, pixel p's step s being
// run->x[p * pixel_stride + s * step_stride].
template <typename Run>
void quad_block_model(const Run* run, bool clamp, int32_t steps, int32_t pixel_stride, int32_t step_stride) {
  const int32_t quad_words = 2 * steps + kQuadEpilogueWords;
  int32_t quad = 0;
  for (const int32_t* s = run->stream; s < run->end; s += quad_words, ++quad) {
    int32_t first[2][2] = {{0, 0}, {0, 0}};  // [pixel][pair]: filters a, c
    int32_t raw[2][2] = {{0, 0}, {0, 0}};    // a + 256 * b, c + 256 * d
    for (int32_t step = 0; step < steps; ++step) {
      for (int32_t pair = 0; pair < 2; ++pair) {
        const uint32_t word = static_cast<uint32_t>(s[2 * step + pair]);
        for (int32_t pixel = 0; pixel < 2; ++pixel) {
          const uint32_t x = run->x[pixel * pixel_stride + step * step_stride];
          raw[pixel][pair] = smlad(x, word, raw[pixel][pair]);
          first[pixel][pair] = smlad(x, sxtb16(word), first[pixel][pair]);
        }
      }
    }
    const int32_t* epi = s + 2 * steps;  // bias, M, F of a; the zero point; of b, c, d
    const int32_t zero_point = epi[3];
    const int32_t* filter_words[4] = {epi, epi + 4, epi + 7, epi + 10};
    for (int32_t pixel = 0; pixel < 2; ++pixel) {
      for (int32_t f = 0; f < 4; ++f) {
        const int32_t a = first[pixel][f / 2];
        const uint32_t doubled = f % 2 == 0 ? 2u * static_cast<uint32_t>(a)
            : static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(raw[pixel][f / 2]) -
                                                         static_cast<uint32_t>(a)) >> 7);
        const int32_t* w = filter_words[f];
        const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(w[0]) + doubled);
        int32_t y = ssat8(smmlar(smmlar(acc, w[1], 0), w[2], zero_point));  // SMMULR, SMMLAR, SSAT
        if (clamp) {
          const int32_t lo = static_cast<int8_t>(run->lo4), hi = static_cast<int8_t>(run->hi4);
          y = y < lo ? lo : (y > hi ? hi : y);
        }
        run->out[pixel * run->out_c + 4 * quad + f] = static_cast<int8_t>(y);
      }
    }
  }
}
#endif

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_QUAD_EPILOGUE_H_
