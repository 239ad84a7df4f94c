// tinyrig DSP-extension kernels: the few SIMD instructions they use, and the fused
// requantisation epilogue.
//
// On a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55) these
// are single instructions. Elsewhere (the host) each has a plain C++ model with the
// same bits, so the kernels' data layouts and epilogue can be tested against TFLM
// on the host; only QEMU proves the instructions themselves.
#ifndef TINYRIG_DSP_COMMON_H_
#define TINYRIG_DSP_COMMON_H_

#include <cstdint>
#include <cstring>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TINYRIG_DSP_NATIVE 1
#else
#define TINYRIG_DSP_NATIVE 0
#endif

namespace tinyrig {
namespace arm_dsp {

// A 32-bit load from any alignment (LDR allows unaligned addresses on these cores).
inline uint32_t load_word(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline int32_t low_half(uint32_t x) { return static_cast<int16_t>(x & 0xFFFFu); }
inline int32_t high_half(uint32_t x) { return static_cast<int16_t>(x >> 16); }
inline int32_t wrap_add(int32_t a, int64_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// SXTB16: bytes 0 and 2 of x, sign-extended into the low and high halfwords.
inline uint32_t sxtb16(uint32_t x) {
#if TINYRIG_DSP_NATIVE
  return __sxtb16(x);
#else
  const uint32_t lo = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(x))) & 0xFFFFu;
  const uint32_t hi = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(x >> 16))) & 0xFFFFu;
  return lo | (hi << 16);
#endif
}

// SXTB16 of x rotated right by 8: bytes 1 and 3. GCC 12 does not fold the
// rotation into the instruction by itself, hence the asm.
inline uint32_t sxtb16_ror8(uint32_t x) {
#if TINYRIG_DSP_NATIVE
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
#else
  return sxtb16((x >> 8) | (x << 24));
#endif
}

// SMLAD: acc + x.lo * y.lo + x.hi * y.hi.
inline int32_t smlad(uint32_t x, uint32_t y, int32_t acc) {
#if TINYRIG_DSP_NATIVE
  return __smlad(x, y, acc);
#else
  return wrap_add(acc, static_cast<int64_t>(low_half(x)) * low_half(y) + static_cast<int64_t>(high_half(x)) * high_half(y));
#endif
}

// SMLABB / SMLATT: acc + bottom * bottom, acc + top * top.
inline int32_t smlabb(uint32_t x, uint32_t y, int32_t acc) {
#if TINYRIG_DSP_NATIVE
  return __smlabb(x, y, acc);
#else
  return wrap_add(acc, static_cast<int64_t>(low_half(x)) * low_half(y));
#endif
}

inline int32_t smlatt(uint32_t x, uint32_t y, int32_t acc) {
#if TINYRIG_DSP_NATIVE
  return __smlatt(x, y, acc);
#else
  return wrap_add(acc, static_cast<int64_t>(high_half(x)) * high_half(y));
#endif
}

// SMMLAR: acc + round(a * b / 2^32), i.e. the high word of (acc << 32) + a*b + 2^31.
inline int32_t smmlar(int32_t a, int32_t b, int32_t acc) {
#if TINYRIG_DSP_NATIVE
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
#else
  const int64_t product = static_cast<int64_t>(a) * b + (INT64_C(1) << 31);
  return wrap_add(acc, product >> 32);
#endif
}

inline int32_t ssat8(int32_t x) {
#if TINYRIG_DSP_NATIVE
  return __ssat(x, 8);
#else
  return x < -128 ? -128 : (x > 127 ? 127 : x);
#endif
}

// Fused requantisation of a scaled accumulator (acc * 2^(ls+1), see
// codegen/specialize_common.py for why this equals TFLM's double rounding).
// rq = {multiplier, 2^(e-1) + output_zero_point * 2^e, e}.
inline int32_t requantize(int32_t acc, const int32_t* rq) {
  int32_t y = smmlar(acc, rq[0], rq[1]);
  y += acc >> 31;
  return ssat8(y >> rq[2]);
}

inline int8_t clamp_output(int32_t y, int32_t clamp, int32_t lo, int32_t hi) {
  if (clamp) y = y < lo ? lo : (y > hi ? hi : y);
  return static_cast<int8_t>(y);
}

// Widens `depth` int8 values to int16 pairs in SXTB16 order ((v0, v2), (v1, v3) per
// group of 4), writing one word every `stride` words and zero words up to `steps`.
inline void widen(const int8_t* src, int32_t depth, int32_t steps, int32_t stride, uint32_t* dst) {
  int32_t step = 0;
  int32_t i = 0;
  for (; i + 4 <= depth; i += 4, step += 2) {
    const uint32_t word = load_word(src + i);
    dst[step * stride] = sxtb16(word);
    dst[(step + 1) * stride] = sxtb16_ror8(word);
  }
  if (i < depth) {
    uint32_t word = 0;
    for (int32_t j = 0; i + j < depth; ++j) word |= static_cast<uint32_t>(static_cast<uint8_t>(src[i + j])) << (8 * j);
    dst[step * stride] = sxtb16(word);
    dst[(step + 1) * stride] = sxtb16_ror8(word);
    step += 2;
  }
  for (; step < steps; ++step) dst[step * stride] = 0;
}

// The register-blocked inner loops (tinyrig_dsp_microkernels.cc).
//
// 3 pixels x 2 filters: x holds [step][pixel] words, w holds [step][filter] words,
// `trips` = steps / 4. acc[2 * pixel + filter] = bias[filter] + sum of SMLADs.
extern "C" void tinyrig_dsp_block_3x2(const uint32_t* x, const int32_t* w, int32_t trips, const int32_t* bias,
                                      int32_t* acc);
// 1 input x 4 outputs: x holds [group][A/B] words, w holds [group][A/B][output] words,
// `trips` = groups / 4. acc[output] = bias[output] + sum of SMLADs.
extern "C" void tinyrig_dsp_block_1x4(const uint32_t* x, const int32_t* w, int32_t trips, const int32_t* bias,
                                      int32_t* acc);
// Depthwise 3x3, 2 pixels x 4 channels, horizontal stride 1 or 2: rows[fy] points
// at pixel 0's first tap in a group-major row slot, w holds [tap][A/B] words.
// acc[4 * pixel + channel] = bias[channel] + the 9 taps.
extern "C" void tinyrig_dsp_dw3x3_s1(const uint32_t* const* rows, const uint32_t* w, const int32_t* bias,
                                     int32_t* acc);
extern "C" void tinyrig_dsp_dw3x3_s2(const uint32_t* const* rows, const uint32_t* w, const int32_t* bias,
                                     int32_t* acc);

// Depthwise 3x3 over one output row, every full channel group (4 channels), with
// the fused requantisation, activation clamp and int8 stores in the same loop.
// The function copies the block to its stack frame and walks it there; the field
// order is the assembly's frame layout (byte offsets in the comments).
struct Dw3x3Row {
  const uint32_t* rows[3];   // 0: pixel 0 of the current pair, per filter row
  const uint32_t* weights;   // 12: the current group's [tap][A/B] words
  const int32_t* bias;       // 16: the current group's 4 biases
  const int32_t* requant;    // 20: the current group's 4 x 3 epilogue constants
  int8_t* out;               // 24: output of the current pair's pixel 0
  int32_t channels;          // 28: bytes between output pixels
  int32_t remaining;         // 32: pixels of the row still to do in this group
  int32_t clamp;             // 36: apply lo4/hi4
  uint32_t lo4, hi4;         // 40, 44: activation min / max in every byte
  int32_t width;             // 48: output pixels per row
  int32_t groups;            // 52: full channel groups
  int32_t group_bytes;       // 56: bytes between groups in a row slot
  const uint32_t* bases[3];  // 60: group's pixel 0 per filter row
  int8_t* out_base;          // 72: group's output of pixel 0
};
// CONV_2D: 3 full pixels x every full filter pair, the 3x2 block plus the fused
// epilogue, clamp and int8 stores in assembly. Copied to the frame like Dw3x3Row.
struct Conv3x2Run {
  const uint32_t* x;        // 0: the 3 widened columns, [step][pixel]
  const int32_t* weights;   // 4: filter pair 0's [step][filter] words; pairs follow
  int32_t trips;            // 8: steps / 4
  const int32_t* bias;      // 12: filter pair 0's 2 biases
  const int32_t* requant;   // 16: filter pair 0's 2 x 3 epilogue constants
  int8_t* out;              // 20: pixel 0, filter 0
  int32_t out_c;            // 24: bytes between output pixels
  int32_t pairs;            // 28: filter pairs to do (>= 1)
  int32_t clamp;            // 32: apply lo4/hi4
  uint32_t lo4, hi4;        // 36, 40: activation min / max in every byte
  int32_t unused;           // 44
};
extern "C" void tinyrig_dsp_conv_3x2_run(const Conv3x2Run* run);
extern "C" void tinyrig_dsp_dw3x3_row_s1(const Dw3x3Row* row);
extern "C" void tinyrig_dsp_dw3x3_row_s2(const Dw3x3Row* row);

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_COMMON_H_
