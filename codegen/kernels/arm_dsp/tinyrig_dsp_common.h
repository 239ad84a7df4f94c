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

// A flash instruction cache under 4 KB (codegen/firmware.py SMALL_ICACHE_BYTES), whose size the
// firmware build (from the board's [timing]) or the export's option defines: the conv kernels'
// unrolled runs are cut to passes that stay in it.
#if defined(TINYRIG_FLASH_ICACHE_BYTES) && TINYRIG_FLASH_ICACHE_BYTES < 4096
#define TINYRIG_SMALL_FLASH_ICACHE 1
#else
#define TINYRIG_SMALL_FLASH_ICACHE 0
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

// PKHBT (a.lo, b.lo) and PKHTB (a.hi, b.hi): bytes 0-1 / 2-3 of two input words, side by side
// (the depthwise kernels' int16 pairs).
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
// codegen/kernels/arm_dsp/fused_epilogue.py for why this equals TFLM's double rounding).
// rq = {multiplier, 2^(e-1) + output_zero_point * 2^e, e}.
inline int32_t requantize(int32_t acc, const int32_t* rq) {
  int32_t y = smmlar(acc, rq[0], rq[1]);
  y += acc >> 31;
  return ssat8(y >> rq[2]);
}

// The same for kernels whose int8 weights carry only 2^ls (fused_epilogue.HalvedEpilogue):
// acc is half the scaled accumulator, doubled here (no overflow: the checked bound is on the double).
inline int32_t requantize_doubled(int32_t acc, const int32_t* rq) {
  const int32_t doubled = static_cast<int32_t>(static_cast<uint32_t>(acc) * 2u);
  int32_t y = smmlar(doubled, rq[0], rq[1]);
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

}  // namespace arm_dsp
}  // namespace tinyrig

#endif  // TINYRIG_DSP_COMMON_H_
