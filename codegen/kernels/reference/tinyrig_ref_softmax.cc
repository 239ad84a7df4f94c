// tinyrig reference kernel: SOFTMAX int8 -> int8.
//
// A transcription of TFLM's quantized Softmax (reference/softmax.h) with the
// gemmlowp fixed-point types unrolled into raw int32 arithmetic:
//  * input differences to the row maximum are scaled to Q5.26
//    (kScaledDiffIntegerBits = 5) by input_multiplier / input_left_shift;
//  * exp() of those non-positive values is evaluated in Q0.31 by gemmlowp's
//    exp_on_negative_values (Taylor polynomial on [-1/4, 0) plus a barrel
//    shifter of exp(-2^k) constants);
//  * exps are summed in Q12.19, the sum is inverted with a Newton-Raphson
//    1 / (1 + x), and each output is exp * reciprocal, shifted to 8 bits.
// Every product is a rounding doubling high multiply and every shift a
// rounding shift, matching gemmlowp bit for bit.
#include "tinyrig_fixedpoint.h"
#include "tinyrig_ref_softmax.h"

namespace tinyrig {
namespace reference {

namespace {

constexpr int kScaledDiffIntegerBits = 5;     // input to exp(): Q5.26
constexpr int kAccumulationIntegerBits = 12;  // sum of exps: Q12.19
constexpr int kScaledDiffFractionalBits = 31 - kScaledDiffIntegerBits;

inline int32_t fixed_mul(int32_t a, int32_t b) { return saturating_rounding_doubling_high_mul(a, b); }

// exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor expansion around -1/8.
int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;      // exp(-1/8) in Q0.31
  const int32_t constant_1_over_3 = 715827883;   // 1/3 in Q0.31
  const int32_t x = a + (INT32_C(1) << 28);      // a + 1/8
  const int32_t x2 = fixed_mul(x, x);
  const int32_t x3 = fixed_mul(x2, x);
  const int32_t x4 = fixed_mul(x2, x2);
  const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
  const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
      rounding_divide_by_pot(fixed_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);
  return constant_term + fixed_mul(constant_term, x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

// exp(a) for a <= 0 given in Q5.26; result in Q0.31.
int32_t exp_on_negative_values(int32_t a) {
  const int32_t one_quarter = INT32_C(1) << (kScaledDiffFractionalBits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
  // Rescale Q5.26 -> Q0.31 is a saturating left shift by 5.
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      saturating_shift_left(a_mod_quarter_minus_one_quarter, kScaledDiffIntegerBits));
  const int32_t remainder = a_mod_quarter_minus_one_quarter - a;

  // For each set bit 2^k of the remainder multiply by exp(-2^k) (Q0.31 constants).
  struct BarrelStep {
    int exponent;
    int32_t multiplier;
  };
  static const BarrelStep kSteps[] = {
      {-2, 1672461947}, {-1, 1302514674}, {0, 790015084}, {1, 290630308},
      {2, 39332535},    {3, 720401},      {4, 242},
  };
  for (const BarrelStep& step : kSteps) {
    // gemmlowp applies a step only when kIntegerBits > exponent; all do for Q5.
    if (kScaledDiffIntegerBits > step.exponent &&
        (remainder & (INT32_C(1) << (kScaledDiffFractionalBits + step.exponent))) != 0) {
      result = fixed_mul(result, step.multiplier);
    }
  }
  // (The clamp to 0 below -32 only exists for more than 5 integer bits.)
  return a == 0 ? INT32_MAX : result;
}

// 1 / (1 + a) for a in [0, 1), Q0.31 in and out: three Newton-Raphson steps.
int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);  // Q0.31
  const int32_t constant_48_over_17 = 1515870810;                    // Q2.29
  const int32_t constant_neg_32_over_17 = -1010580540;               // Q2.29
  const int32_t one_q2 = INT32_C(1) << 29;                           // 1.0 in Q2.29
  int32_t x = constant_48_over_17 + fixed_mul(half_denominator, constant_neg_32_over_17);
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = fixed_mul(half_denominator, x);  // Q2.29
    const int32_t one_minus_half_denominator_times_x = one_q2 - half_denominator_times_x;
    // Q2.29 * Q2.29 = Q4.27, rescaled to Q2.29 with a saturating shift by 2.
    x = x + saturating_shift_left(fixed_mul(x, one_minus_half_denominator_times_x), 2);
  }
  // x / 2 reinterpreted as Q1.30, then rescaled to Q0.31 (saturating shift by 1).
  return saturating_shift_left(x, 1);
}

// tflite::GetReciprocal for a sum in Q12.19: returns 1/sum as Q0.31 scaled by
// 2^-num_bits_over_unit.
int32_t reciprocal_of_sum(int32_t sum, int* num_bits_over_unit) {
  const int headroom_plus_one = count_leading_zeros(static_cast<uint32_t>(sum));
  *num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
  const int32_t shifted_sum_minus_one = static_cast<int32_t>(
      (static_cast<uint32_t>(sum) << headroom_plus_one) - (UINT32_C(1) << 31));
  return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

// MultiplyByQuantizedMultiplierGreaterThanOne (double rounding): the left shift
// happens before the high multiply, with no rounding shift after it.
inline int32_t scale_input_difference(const SoftmaxParams& p, int32_t diff) {
  return saturating_rounding_doubling_high_mul(wrapping_shift_left(diff, p.input_left_shift),
                                               p.input_multiplier);
}

}  // namespace

void softmax_s8(const SoftmaxParams& p, const int8_t* input, int8_t* output) {
  for (int32_t row = 0; row < p.outer_size; ++row) {
    const int8_t* in = input + row * p.depth;
    int8_t* out = output + row * p.depth;
    int32_t max_in_row = -128;
    for (int32_t c = 0; c < p.depth; ++c) {
      if (in[c] > max_in_row) max_in_row = in[c];
    }

    int32_t sum_of_exps = 0;  // Q12.19
    for (int32_t c = 0; c < p.depth; ++c) {
      const int32_t diff = static_cast<int32_t>(in[c]) - max_in_row;
      if (diff >= p.diff_min) {
        // Rescale Q0.31 -> Q12.19: rounding right shift by 12.
        sum_of_exps += rounding_divide_by_pot(exp_on_negative_values(scale_input_difference(p, diff)),
                                              kAccumulationIntegerBits);
      }
    }

    int num_bits_over_unit = 0;
    const int32_t shifted_scale = reciprocal_of_sum(sum_of_exps, &num_bits_over_unit);
    const int exponent = num_bits_over_unit + 31 - 8;  // 8 = bits of the int8 output

    for (int32_t c = 0; c < p.depth; ++c) {
      const int32_t diff = static_cast<int32_t>(in[c]) - max_in_row;
      if (diff >= p.diff_min) {
        const int32_t exp_in_0 = exp_on_negative_values(scale_input_difference(p, diff));
        const int32_t unsaturated = rounding_divide_by_pot(fixed_mul(shifted_scale, exp_in_0), exponent);
        out[c] = static_cast<int8_t>(clamp_i32(unsaturated - 128, -128, 127));
      } else {
        out[c] = -128;
      }
    }
  }
}

}  // namespace reference
}  // namespace tinyrig
