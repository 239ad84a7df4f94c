// tinyrig DSP-extension kernel: ADD (int8), both inputs the output's shape.
//
// TFLM rescales each input on its own (shift left 20, MultiplyByQuantizedMultiplier)
// before summing, so each rescaled value depends on one int8 only: codegen tabulates
// both rescalings (256 int32 each, pre-multiplied by the epilogue's 2^(ls+1)), and
// the kernel is two table loads, an add and the fused requantisation of the sum, 4
// elements per trip (a word load per input, a word store).
// codegen/kernels/arm_dsp/add.py checks all 65,536 input pairs against TFLM's arithmetic
// and declines the layer if any differs.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_add.h"

namespace tinyrig {
namespace arm_dsp {

namespace {

// The epilogue's constants and the clamp live in registers for the whole loop: stores
// through int8_t* may alias anything, so reading them through `p` would reload them
// after every output.
struct AddConstants {
  const int32_t* t1;  // table1 indexed by the signed value
  const int32_t* t2;
  int32_t multiplier, rounding, shift;
  int32_t lo, hi;
};

template <bool kClamp>
inline uint32_t add_one(const AddConstants& k, uint32_t a, uint32_t b) {
  const int32_t acc = k.t1[static_cast<int8_t>(a)] + k.t2[static_cast<int8_t>(b)];
  int32_t y = smmlar(acc, k.multiplier, k.rounding);
  y += acc >> 31;
  y = ssat8(y >> k.shift);
  if (kClamp) y = y < k.lo ? k.lo : (y > k.hi ? k.hi : y);
  return static_cast<uint8_t>(y);
}

// 4 elements a trip: one word load per input and one word store.
template <bool kClamp>
void add_loop(const AddConstants& k, const int8_t* input1, const int8_t* input2, int8_t* output, int32_t size) {
  int32_t i = 0;
  for (; i + 4 <= size; i += 4) {
    const uint32_t a = load_word(input1 + i), b = load_word(input2 + i);
    const uint32_t word = add_one<kClamp>(k, a, b) | add_one<kClamp>(k, a >> 8, b >> 8) << 8 |
                          add_one<kClamp>(k, a >> 16, b >> 16) << 16 | add_one<kClamp>(k, a >> 24, b >> 24) << 24;
    std::memcpy(output + i, &word, sizeof(word));
  }
  for (; i < size; ++i) {
    output[i] = static_cast<int8_t>(add_one<kClamp>(k, static_cast<uint8_t>(input1[i]), static_cast<uint8_t>(input2[i])));
  }
}

}  // namespace

void add_s8(const DspAddParams& p, const int8_t* input1, const int8_t* input2, int8_t* output, int32_t*) {
  // Tables are stored for -128..127; index them by the signed value.
  const AddConstants k = {p.table1 + 128, p.table2 + 128, p.requant[0], p.requant[1], p.requant[2],
                          p.activation_min, p.activation_max};
  if (p.clamp) {
    add_loop<true>(k, input1, input2, output, p.size);
  } else {
    add_loop<false>(k, input1, input2, output, p.size);
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
