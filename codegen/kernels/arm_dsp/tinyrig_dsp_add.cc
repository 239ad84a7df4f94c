// tinyrig DSP-extension kernel: ADD (int8), both inputs the output's shape.
//
// TFLM rescales each input on its own (shift left 20, MultiplyByQuantizedMultiplier)
// before summing, so each rescaled value depends on one int8 only: codegen tabulates
// both rescalings (256 int32 each, pre-multiplied by the epilogue's 2^(ls+1)), and
// the kernel is two table loads, an add and the fused requantisation of the sum, 4
// elements per trip in assembly (a word load per input, a word store; see AddRun).
// codegen/kernels/arm_dsp/add.py checks all 65,536 input pairs against TFLM's arithmetic
// and declines the layer if any differs.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_add.h"

// The fused epilogue's right shifts (fused_epilogue.py: 1..30), one assembly copy each.
#define TINYRIG_ADD_SHIFTS(X)                                                                       \
  X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17)     \
  X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30)

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

// The elements from `i` on, one at a time (the tail after the assembly's words, and the host).
template <bool kClamp>
void add_tail(const AddConstants& k, const int8_t* input1, const int8_t* input2, int8_t* output, int32_t i,
              int32_t size) {
  for (; i < size; ++i) {
    output[i] = static_cast<int8_t>(add_one<kClamp>(k, static_cast<uint8_t>(input1[i]), static_cast<uint8_t>(input2[i])));
  }
}

#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
// 4 elements a trip in assembly: a word load per input, per element two SXTB (byte as a
// signed index), two table loads, ADD, SMMLAR, the sign fix and SSAT with the right shift as
// its immediate, BFI into the output word, one word store; the clamp (kClamp) on the whole
// word with SSUB8/SEL. About 13 cycles an element (the C loop took 16.5).
struct AddRun {
  const int8_t* input1;  // 0
  const int8_t* input2;  // 4
  int8_t* output;        // 8
  int32_t words;         // 12: elements / 4 (>= 1)
  const int32_t* t1;     // 16: table1 + 128
  const int32_t* t2;     // 20
  int32_t multiplier;    // 24
  int32_t rounding;      // 28
  uint32_t lo4, hi4;     // 32, 36: activation min / max in every byte
};

#define TINYRIG_ADD_STR_(x) #x
#define TINYRIG_ADD_STR(x) TINYRIG_ADD_STR_(x)
// One element: bytes ROT of r4 / r5 through the tables and the epilogue, into OUT.
#define TINYRIG_ADD_ELEMENT(ROT, OUT, E)                                  \
  "sxtb r6, r4" ROT "\n\t"                                                \
  "sxtb r7, r5" ROT "\n\t"                                                \
  "ldr r6, [r10, r6, lsl #2]\n\t"                                         \
  "ldr r7, [r11, r7, lsl #2]\n\t"                                         \
  "add r6, r6, r7\n\t"                                                    \
  "smmlar r7, r6, r12, lr\n\t"                                            \
  "add r7, r7, r6, asr #31\n\t"                                           \
  "ssat " OUT ", #8, r7, asr #" TINYRIG_ADD_STR(E) "\n\t"
#define TINYRIG_ADD_CLAMP                                                 \
  "ldrd r6, r7, [sp]\n\t"                                                 \
  "ssub8 r9, r8, r6\n\t"                                                  \
  "sel r8, r8, r6\n\t"                                                    \
  "ssub8 r9, r7, r8\n\t"                                                  \
  "sel r8, r8, r7\n\t"
#define TINYRIG_ADD_FN(E, CLAMP)                                          \
  "push {r4-r11, lr}\n\t"                                                 \
  "ldrd r4, r5, [r0, #32]\n\t"                                            \
  "push {r4, r5}\n\t" /* lo4, hi4 at [sp] */                              \
  "mov r12, r0\n\t"                                                       \
  "ldm r12, {r0, r1, r2, r3, r10, r11}\n\t"                               \
  "ldrd r12, lr, [r12, #24]\n\t" /* multiplier, rounding */               \
  "1:\n\t"                                                                \
  "ldr r4, [r0], #4\n\t"                                                  \
  "ldr r5, [r1], #4\n\t"                                                  \
  TINYRIG_ADD_ELEMENT("", "r8", E)                                        \
  TINYRIG_ADD_ELEMENT(", ror #8", "r9", E)                                \
  "bfi r8, r9, #8, #8\n\t"                                                \
  TINYRIG_ADD_ELEMENT(", ror #16", "r9", E)                               \
  "bfi r8, r9, #16, #8\n\t"                                               \
  TINYRIG_ADD_ELEMENT(", ror #24", "r9", E)                               \
  "bfi r8, r9, #24, #8\n\t"                                               \
  CLAMP                                                                   \
  "str r8, [r2], #4\n\t"                                                  \
  "subs r3, r3, #1\n\t"                                                   \
  "bne 1b\n\t"                                                            \
  "add sp, sp, #8\n\t"                                                    \
  "pop {r4-r11, pc}\n\t"

template <int kShift, int kClamp>
struct AddWords;
// One pair of functions per right shift; AddWords<e, clamp>::run names one of them, so only
// the pairs a model's layers use are linked.
#define TINYRIG_ADD_RUNS(E)                                                                         \
  __attribute__((naked, noipa)) void add_words_##E(const AddRun*) {                                 \
    __asm__ volatile(TINYRIG_ADD_FN(E, ""));                                                        \
  }                                                                                                 \
  __attribute__((naked, noipa)) void add_words_clamp_##E(const AddRun*) {                           \
    __asm__ volatile(TINYRIG_ADD_FN(E, TINYRIG_ADD_CLAMP));                                         \
  }                                                                                                 \
  template <>                                                                                       \
  struct AddWords<E, 0> {                                                                           \
    static void run(const AddRun* r) { add_words_##E(r); }                                          \
  };                                                                                                \
  template <>                                                                                       \
  struct AddWords<E, 1> {                                                                           \
    static void run(const AddRun* r) { add_words_clamp_##E(r); }                                    \
  };
TINYRIG_ADD_SHIFTS(TINYRIG_ADD_RUNS)
#endif

}  // namespace

template <int kShift, int kClamp>
void add_s8(const DspAddParams<kShift, kClamp>& p, const int8_t* input1, const int8_t* input2, int8_t* output,
            int32_t*) {
  // Tables are stored for -128..127; index them by the signed value.
  const AddConstants k = {p.table1 + 128, p.table2 + 128, p.requant[0], p.requant[1], p.requant[2],
                          p.activation_min, p.activation_max};
  int32_t done = 0;
#if TINYRIG_DSP_NATIVE && defined(__thumb2__)
  if (p.size >= 4) {
    AddRun run;
    run.input1 = input1;
    run.input2 = input2;
    run.output = output;
    run.words = p.size / 4;
    run.t1 = k.t1;
    run.t2 = k.t2;
    run.multiplier = k.multiplier;
    run.rounding = k.rounding;
    run.lo4 = static_cast<uint8_t>(p.activation_min) * 0x01010101u;
    run.hi4 = static_cast<uint8_t>(p.activation_max) * 0x01010101u;
    AddWords<kShift, kClamp>::run(&run);
    done = 4 * run.words;
  }
#endif
  add_tail<kClamp != 0>(k, input1, input2, output, done, p.size);
}

#define TINYRIG_ADD_INSTANCES(E)                                                                    \
  template void add_s8<E, 0>(const DspAddParams<E, 0>&, const int8_t*, const int8_t*, int8_t*, int32_t*); \
  template void add_s8<E, 1>(const DspAddParams<E, 1>&, const int8_t*, const int8_t*, int8_t*, int32_t*);
TINYRIG_ADD_SHIFTS(TINYRIG_ADD_INSTANCES)

}  // namespace arm_dsp
}  // namespace tinyrig
