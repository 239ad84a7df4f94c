// tinyrig Helium kernel: DEPTHWISE_CONV_2D (int8, depth multiplier 1).
//
// Two paths. The planar path (below; every layer whose windows a byte gather
// reaches and whose planes fit the scratch) copies channels into zero-point-padded
// planes and computes each output with one gather + one VMLADAV. The ring path (big
// images) keeps four channels per vector with int32 lanes: VLDRB.S32 widens 4 input
// bytes, VMUL.I32 multiplies them by the 4 channels' (pre-widened) weights and VADD
// accumulates. The input rows a window needs are copied into a ring of padded rows
// laid out [channel quad][column][4], so that for one quad the columns of a row sit
// 4 bytes apart and every tap of a pixel pair is an immediate offset from one
// pointer. Columns and rows outside the image hold the input zero point (the folded
// bias expects that). A 3x3 filter runs a pixel pair per step: 3 weight vectors per
// row are shared by both pixels, the 4 (stride 1) or 5 (stride 2) input vectors of a
// row by both. Other filter sizes take the same path one tap at a time.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_depthwise.h"

namespace tinyrig {
namespace arm_mve {

// ---- Planar path -------------------------------------------------------------
//
// A channel's window is up to 16 bytes of its zero-point-padded plane at fixed
// offsets from the window's first byte, so one gather load (VLDRB.U8 with byte
// offsets) fetches it and one VMLADAV.S8 against the channel's taps gives the
// output's accumulator: 2 instructions for 9 MACs of a 3x3 filter. Where the two
// windows of a pair fit 16 bytes together (3x3 at strides 1 and 2: 12 and 15) one
// gather of their union serves both, against each window's taps: 3 for 18 MACs.
// Where the gathers reach (channels in 16s), planes hold 4 channels byte by byte
// (offsets 4 times as far) so that the copy stores 16 channels of a pixel as words
// through vector addresses with writeback. The outputs
// run in groups of 4: two pairs of windows s plane bytes apart, from a schedule the
// code generator made for the layer (the same for every channel): each entry is the
// pairs' first windows in the plane and the 4 outputs' byte offsets from the
// channel's first output. The 4 are requantised as one vector (per-channel scalars)
// and scattered to their HWC places. A lane whose window is no output (a flat run
// straddling the pad between lines, a one-output line) stores where the next group
// stores a real output later; in the last group it is predicated off. One call runs
// every channel of a plane pass.
struct DwPlanarRun {
  const int8_t* planes;     // 0: the current channel's plane
  int8_t* out;              // 4: the current channel's first output
  const int8_t* weights;    // 8: the current channel's int8 taps
  const int32_t* requant;   // 12: the current channel's bias, multiplier, -shift
  int32_t channels;         // 16
  int32_t record_bytes;     // 20: taps per channel
  int32_t groups;           // 24: schedule entries (>= 1)
  const uint16_t* schedule;  // 28: [group][2 window offsets, 4 output offsets]
  int32_t stride;           // 32: plane bytes between the windows of a pair
  int32_t offset;           // 36: output zero point
  int32_t final_mask;       // 40
  const int8_t* taps;       // 44: 16 byte offsets
  const int32_t* limits;    // 48: lo [4], hi [4]
  int32_t union_taps;       // 52: a pair's windows are one gather, with 2 x 16 tap lanes a channel
  const int8_t* weight_lanes;  // 56: [2][16] the tap of each lane of the first/second window
  int32_t lane_mask_a;      // 60: VPR.P0 of the lanes of the first window that hold a tap
  int32_t lane_mask_b;      // 64: the same for the second window (union gathers)
  int32_t phase;            // 68: channels left on this plane set (interleave .. 1)
  int32_t jump;             // 72: plane bytes from the last channel of a set to the next set
  int32_t interleave;       // 76: channels a plane position holds
};

#if TINYRIG_MVE_NATIVE && defined(__thumb2__)

// Accumulators r0, r2, r4, r6 (VMLADAV names even registers); r1/r3: the first
// windows of the group's two pairs; r5: the channel's output; r7: schedule; r8-r11: bias, multiplier,
// -shift, output offset; r12: the channel's plane. q0: taps; q1/q7: tap offsets of
// the first/second window of a pair; q4: scatter offsets; q5/q6: lo/hi.
//
// A channel's taps are 9 bytes (fh x fw) in flash; its tap lanes (q0, and q7 for a
// union gather) are one predicated gather each from them (lanes without a tap are
// predicated off, which zeroes them), once per channel.
#define TINYRIG_DWP_TAPS(Q, LANES, MASK)                                  \
  "vldrb.u8 q2, [r1, #" #LANES "]\n\t"                                   \
  "ldr r3, [r0, #" #MASK "]\n\t"                                         \
  "vmsr p0, r3\n\t"                                                      \
  "vpst\n\t"                                                             \
  "vldrbt.u8 " #Q ", [r2, q2]\n\t"
#define TINYRIG_DWP_NEXT_TAPS                                             \
  "ldr r1, [r0, #20]\n\t"                                                \
  "add r2, r2, r1\n\t"                                                   \
  "ldr r1, [r0, #40]\n\t"                                                \
  "vmsr p0, r1\n\t" /* the last group's lanes again */
// A schedule entry is 6 halfwords: the two window offsets (one word, each added to the
// plane by UXTAH) and the 4 output offsets (widened by VLDRH.U32).
#define TINYRIG_DWP_TABLE                                                 \
  "ldr r3, [r7], #4\n\t"                                                  \
  "vldrh.u32 q4, [r7], #8\n\t"                                            \
  "uxtah r1, r12, r3\n\t"                                                 \
  "uxtah r3, r12, r3, ror #16\n\t"
// Two windows of a pair: a gather each (tap offsets q1 and q7 = q1 + s), or one
// gather of their union and the taps of each window (q0, q7) against it.
#define TINYRIG_DWP_MACS_SPLIT                                            \
  "vldrb.u8 q2, [r1, q1]\n\t"                                             \
  "vmladav.s8 r0, q2, q0\n\t"                                             \
  "vldrb.u8 q2, [r1, q7]\n\t"                                             \
  "vmladav.s8 r2, q2, q0\n\t"                                             \
  "vldrb.u8 q2, [r3, q1]\n\t"                                             \
  "vmladav.s8 r4, q2, q0\n\t"                                             \
  "vldrb.u8 q2, [r3, q7]\n\t"                                             \
  "vmladav.s8 r6, q2, q0\n\t"
#define TINYRIG_DWP_MACS_UNION                                            \
  "vldrb.u8 q2, [r1, q1]\n\t"                                             \
  "vmladav.s8 r0, q2, q0\n\t"                                             \
  "vmladav.s8 r2, q2, q7\n\t"                                             \
  "vldrb.u8 q2, [r3, q1]\n\t"                                             \
  "vmladav.s8 r4, q2, q0\n\t"                                             \
  "vmladav.s8 r6, q2, q7\n\t"
#define TINYRIG_DWP_REQUANT                                               \
  /* lanes 0..3 = r0, r2, r4, r6 through the frame (as cheap as VMOV pairs) */ \
  "stm sp, {r0, r2, r4, r6}\n\t"                                          \
  "vldrw.32 q3, [sp]\n\t"                                                 \
  "vadd.i32 q3, q3, r8\n\t"                                               \
  "vqrdmulh.s32 q3, q3, r9\n\t"                                           \
  "vshr.s32 q2, q3, #31\n\t"                                              \
  "vqadd.s32 q3, q3, q2\n\t"                                              \
  "vrshl.s32 q3, r10\n\t"                                                 \
  "vadd.i32 q3, q3, r11\n\t"                                              \
  "vmax.s32 q3, q3, q5\n\t"                                               \
  "vmin.s32 q3, q3, q6\n\t"
#define TINYRIG_DWP_RUN(SETUP, WEIGHTS, MACS)                             \
  "push {r4-r11, lr}\n\t"                                                 \
  "vpush {d8-d15}\n\t"                                                    \
  "sub sp, sp, #24\n\t" /* [sp, 16): the accumulators; then the struct and channels left */ \
  "str r0, [sp, #16]\n\t"                                                 \
  "ldr r1, [r0, #44]\n\t"                                                 \
  "vldrb.u8 q1, [r1]\n\t"                                                 \
  "ldr r1, [r0, #48]\n\t"                                                 \
  "vldrw.32 q5, [r1]\n\t"                                                 \
  "vldrw.32 q6, [r1, #16]\n\t"                                            \
  SETUP                                                                   \
  "ldr r11, [r0, #36]\n\t"                                                \
  "ldr r1, [r0, #40]\n\t"                                                 \
  "vmsr p0, r1\n\t" /* the last group's lanes */                          \
  "ldr r1, [r0, #16]\n\t"                                                 \
  "str r1, [sp, #20]\n\t"                                                 \
  "1:\n\t" /* a channel */                                                \
  "ldr r0, [sp, #16]\n\t"                                                 \
  "ldrd r2, r4, [r0, #8]\n\t"                                             \
  WEIGHTS                                                                 \
  "ldm r4!, {r8, r9, r10}\n\t"                                            \
  "strd r2, r4, [r0, #8]\n\t"                                             \
  "ldrd r12, r5, [r0]\n\t" /* the channel's plane, its output */          \
  "add r1, r5, #1\n\t"                                                    \
  "str r1, [r0, #4]\n\t"                                                  \
  "ldrd r3, r6, [r0, #68]\n\t" /* the next plane: 1 on, or the next set */ \
  "subs r3, r3, #1\n\t"                                                   \
  "itee ne\n\t"                                                           \
  "addne r1, r12, #1\n\t"                                                 \
  "addeq r1, r12, r6\n\t"                                                 \
  "ldreq r3, [r0, #76]\n\t"                                               \
  "str r1, [r0]\n\t"                                                      \
  "str r3, [r0, #68]\n\t"                                                 \
  "ldrd r2, r7, [r0, #24]\n\t"                                            \
  "subs r2, r2, #1\n\t" /* the groups before the last, */                 \
  "beq 3f\n\t"                                                            \
  "lsrs lr, r2, #1\n\t" /* two a loop step, */                            \
  "bcc 4f\n\t"                                                            \
  TINYRIG_DWP_TABLE MACS TINYRIG_DWP_REQUANT /* after an odd one (r2 is an accumulator now) */ \
  "vstrb.32 q3, [r5, q4]\n\t"                                             \
  "cmp lr, #0\n\t"                                                        \
  "beq 3f\n\t"                                                            \
  "4:\n\t"                                                                \
  "dls lr, lr\n\t"                                                        \
  "2:\n\t"                                                                \
  TINYRIG_DWP_TABLE MACS TINYRIG_DWP_REQUANT                              \
  "vstrb.32 q3, [r5, q4]\n\t"                                             \
  TINYRIG_DWP_TABLE MACS TINYRIG_DWP_REQUANT                              \
  "vstrb.32 q3, [r5, q4]\n\t"                                             \
  "le lr, 2b\n\t"                                                         \
  "3:\n\t"                                                                \
  TINYRIG_DWP_TABLE MACS TINYRIG_DWP_REQUANT                              \
  "vpst\n\t"                                                              \
  "vstrbt.32 q3, [r5, q4]\n\t"                                            \
  "ldr r2, [sp, #20]\n\t"                                                 \
  "subs r2, r2, #1\n\t"                                                   \
  "str r2, [sp, #20]\n\t"                                                 \
  "bne 1b\n\t"                                                            \
  "add sp, sp, #24\n\t"                                                   \
  "vpop {d8-d15}\n\t"                                                     \
  "pop {r4-r11, pc}\n\t"

extern "C" __attribute__((naked, noipa)) void tinyrig_mve_dw_planar_split(DwPlanarRun*) {
  __asm__ volatile(TINYRIG_DWP_RUN("ldr r3, [r0, #32]\n\t"
                                   "vadd.i8 q7, q1, r3\n\t", /* the second window's tap offsets */
                                   "ldr r1, [r0, #56]\n\t"
                                   TINYRIG_DWP_TAPS(q0, 0, 60) TINYRIG_DWP_NEXT_TAPS, TINYRIG_DWP_MACS_SPLIT));
}

extern "C" __attribute__((naked, noipa)) void tinyrig_mve_dw_planar_union(DwPlanarRun*) {
  __asm__ volatile(TINYRIG_DWP_RUN("", "ldr r1, [r0, #56]\n\t"
                                       TINYRIG_DWP_TAPS(q0, 0, 60) TINYRIG_DWP_TAPS(q7, 16, 64) TINYRIG_DWP_NEXT_TAPS,
                                       TINYRIG_DWP_MACS_UNION));
}

inline void tinyrig_mve_dw_planar_run(DwPlanarRun* run) {
  if (run->union_taps) {
    tinyrig_mve_dw_planar_union(run);
  } else {
    tinyrig_mve_dw_planar_split(run);
  }
}

#else  // host model of the same loop

inline void tinyrig_mve_dw_planar_run(DwPlanarRun* run) {
  for (int32_t c = 0; c < run->channels; ++c) {
    const uint16_t* entry = run->schedule;
    for (int32_t g = 0; g < run->groups; ++g, entry += 6) {
      for (int32_t lane = 0; lane < 4; ++lane) {
        if (g == run->groups - 1 && !((run->final_mask >> (4 * lane)) & 1)) continue;
        const int8_t* window = run->planes + entry[lane / 2] + (run->union_taps ? 0 : (lane % 2) * run->stride);
        const bool second = run->union_taps && lane % 2;
        const int8_t* lanes = run->weight_lanes + (second ? 16 : 0);
        const int32_t mask = second ? run->lane_mask_b : run->lane_mask_a;
        int32_t acc = run->requant[0];
        for (int32_t k = 0; k < 16; ++k) {
          if ((mask >> k) & 1) acc += window[static_cast<uint8_t>(run->taps[k])] * run->weights[lanes[k]];
        }
        int32_t y = multiply_by_quantized_multiplier(acc, run->requant[1], run->requant[2]) + run->offset;
        y = y < run->limits[0] ? run->limits[0] : (y > run->limits[4] ? run->limits[4] : y);
        run->out[entry[2 + lane]] = static_cast<int8_t>(y);
      }
    }
    run->out += 1;
    run->weights += run->record_bytes;
    run->requant += 3;
    if (--run->phase == 0) {
      run->planes += run->jump;
      run->phase = run->interleave;
    } else {
      run->planes += 1;
    }
  }
}

#endif

namespace {

// dst[0..n) = value for n a multiple of 64 (the plane scratch is rounded up to that).
void fill_blocks(int8_t* dst, int8_t value, int32_t n) {
#if TINYRIG_MVE_NATIVE
  const int8x16_t v = vdupq_n_s8(value);
  for (; n > 0; n -= 64, dst += 64) {
    vstrbq_s8(dst, v);
    vstrbq_s8(dst + 16, v);
    vstrbq_s8(dst + 32, v);
    vstrbq_s8(dst + 48, v);
  }
#else
  for (int32_t i = 0; i < n; ++i) dst[i] = value;
#endif
}

// How the input is walked to fill the planes: input bytes between the pixels of a
// plane line and between plane lines, the line count and length, and the pad before
// the first input pixel along and across the lines.
struct PlaneWalk {
  int32_t along, across;
  int32_t lines, line_len;
  int32_t pad_along, pad_across;
};

PlaneWalk plane_walk(const MveDepthwiseConv2DParams& p) {
  const int32_t pixel = p.window.input_c, row = p.window.input_w * p.window.input_c;
  if (p.along_y) return {row, pixel, p.window.input_w, p.window.input_h, p.window.pad_top, p.window.pad_left};
  return {pixel, row, p.window.input_h, p.window.input_w, p.window.pad_left, p.window.pad_top};
}

// Channels [first, first + count) of the input into planes interleaved 4 channels a
// position (plane positions 4 bytes apart, 4-channel planes 4P apart): 16 channels of
// a pixel are 4 words, one scatter store (count is a multiple of 16).
void copy_interleaved(const MveDepthwiseConv2DParams& p, const int8_t* input, int8_t* planes, int32_t first,
                      int32_t count) {
  const PlaneWalk walk = plane_walk(p);
  const int32_t along = walk.along, across = walk.across, line_len = walk.line_len, lines = walk.lines;
  const int32_t quad_plane = 4 * p.plane_size;
  for (int32_t c = 0; c < count; c += 16) {
    const int8_t* src_line = input + first + c;
    int8_t* dst_line = planes + c * p.plane_size + 4 * (walk.pad_across * p.plane_len + walk.pad_along);
#if TINYRIG_MVE_NATIVE
    // Word addresses of the 4 planes (and of the next 4), stored through with
    // writeback (VSTRW [Q, #4]!): a pixel's words land 4 bytes after the last one's.
    const bool pair = count - c >= 32;
    alignas(16) uint32_t to[8];
    for (int32_t line = 0; line < lines; ++line, src_line += across, dst_line += 4 * p.plane_len) {
      const uint32_t start = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(dst_line)) - 4;
      for (int32_t i = 0; i < 8; ++i) to[i] = start + static_cast<uint32_t>(i * quad_plane);
      const int8_t* from = src_line;
      if (pair) {
        __asm__ volatile(
            "vldrw.u32 q2, [%[to]]\n\t"
            "vldrw.u32 q3, [%[to], #16]\n\t"
            "dls lr, %[n]\n"
            "1:\n\t"
            "vldrb.u8 q0, [%[from]]\n\t"
            "vldrb.u8 q1, [%[from], #16]\n\t"
            "add %[from], %[from], %[along]\n\t"
            "vstrw.32 q0, [q2, #4]!\n\t"
            "vstrw.32 q1, [q3, #4]!\n\t"
            "le lr, 1b\n\t"
            : [from] "+r"(from)
            : [to] "r"(to), [n] "r"(line_len), [along] "r"(along)
            : "q0", "q1", "q2", "q3", "lr", "memory");
      } else {
        __asm__ volatile(
            "vldrw.u32 q2, [%[to]]\n\t"
            "dls lr, %[n]\n"
            "1:\n\t"
            "vldrb.u8 q0, [%[from]]\n\t"
            "add %[from], %[from], %[along]\n\t"
            "vstrw.32 q0, [q2, #4]!\n\t"
            "le lr, 1b\n\t"
            : [from] "+r"(from)
            : [to] "r"(to), [n] "r"(line_len), [along] "r"(along)
            : "q0", "q2", "lr", "memory");
      }
    }
    if (pair) c += 16;  // the next 16 went with these
#else
    for (int32_t line = 0; line < lines; ++line, src_line += across, dst_line += 4 * p.plane_len) {
      for (int32_t i = 0; i < line_len; ++i) {
        for (int32_t k = 0; k < 16; ++k) dst_line[(k / 4) * quad_plane + 4 * i + k % 4] = src_line[i * along + k];
      }
    }
#endif
  }
}

// Channels [first, first + count) of the input into their planes (plane i at
// planes + i * plane_size): 8 channels of a pixel per scatter store (offsets 0, P,
// .., 7P), along the plane's lines.
void copy_planes(const MveDepthwiseConv2DParams& p, const int8_t* input, int8_t* planes, int32_t first,
                 int32_t count) {
  const PlaneWalk walk = plane_walk(p);
  const int32_t along = walk.along, across = walk.across, line_len = walk.line_len, lines = walk.lines;
  for (int32_t c = 0; c < count; c += 8) {
    const int8_t* src_line = input + first + c;
    int8_t* dst_line = planes + c * p.plane_size + walk.pad_across * p.plane_len + walk.pad_along;
#if TINYRIG_MVE_NATIVE
    const uint16x8_t scatter = vmulq_n_u16(vidupq_n_u16(0, 1), static_cast<uint16_t>(p.plane_size));
    const mve_pred16_t keep = vctp16q(static_cast<uint32_t>(count - c));
    const bool whole = count - c >= 8;
    const bool pair = count - c >= 16 && 15 * p.plane_size <= 0xFFFF;
    const uint16x8_t scatter_hi = vaddq_n_u16(scatter, static_cast<uint16_t>(8 * p.plane_size));
    for (int32_t line = 0; line < lines; ++line, src_line += across, dst_line += p.plane_len) {
      const uint8_t* from = reinterpret_cast<const uint8_t*>(src_line);
      uint8_t* to = reinterpret_cast<uint8_t*>(dst_line);
      if (pair) {  // 16 channels a pixel
        for (int32_t i = 0; i < line_len; ++i, from += along, ++to) {
          vstrbq_scatter_offset_u16(to, scatter, vldrbq_u16(from));
          vstrbq_scatter_offset_u16(to, scatter_hi, vldrbq_u16(from + 8));
        }
      } else if (whole) {
        for (int32_t i = 0; i < line_len; ++i, from += along, ++to) {
          vstrbq_scatter_offset_u16(to, scatter, vldrbq_u16(from));
        }
      } else {
        for (int32_t i = 0; i < line_len; ++i, from += along, ++to) {
          vstrbq_scatter_offset_p_u16(to, scatter, vldrbq_z_u16(from, keep), keep);
        }
      }
    }
    if (pair) c += 8;  // the next octet went with this one
#else
    for (int32_t line = 0; line < lines; ++line, src_line += across, dst_line += p.plane_len) {
      for (int32_t i = 0; i < line_len; ++i) {
        for (int32_t k = 0; k < 8 && c + k < count; ++k) dst_line[k * p.plane_size + i] = src_line[i * along + k];
      }
    }
#endif
  }
}

void depthwise_planar(const MveDepthwiseConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  int8_t* planes = reinterpret_cast<int8_t*>(scratch);
  alignas(16) int32_t limits[8] = {p.activation_min, p.activation_min, p.activation_min, p.activation_min,
                                   p.activation_max, p.activation_max, p.activation_max, p.activation_max};
  const int32_t fill = (p.group * p.plane_size + 63) / 64 * 64;
  for (int32_t first = 0; first < p.window.input_c; first += p.group) {
    const int32_t count = p.window.input_c - first < p.group ? p.window.input_c - first : p.group;
    fill_blocks(planes, static_cast<int8_t>(p.input_zero_point), count == p.group ? fill : (count * p.plane_size + 63) / 64 * 64);
    if (p.interleave == 4) {
      copy_interleaved(p, input, planes, first, count);
    } else {
      copy_planes(p, input, planes, first, count);
    }
    // Channel c of the pass is at plane (c / k) * k * plane_size + c % k (k = interleave).
    DwPlanarRun run = {planes, output + first, p.planar_weights + p.record_bytes * first,
                       p.planar_requant + 3 * first, count, p.record_bytes, p.groups, p.schedule, p.stride_along,
                       p.output_offset, p.final_mask, p.tap_offsets, limits, p.union_taps, p.weight_lanes,
                       p.lane_mask_a, p.lane_mask_b, p.interleave, p.interleave * p.plane_size - (p.interleave - 1),
                       p.interleave};
    tinyrig_mve_dw_planar_run(&run);
  }
}

}  // namespace

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
  if (y < 0 || y >= p.window.input_h) {
    fill_bytes(slot, zero_point, quads * quad_bytes);
    return;
  }
  const int32_t first = p.window.pad_left;  // ring column of input column 0
  const int32_t last = p.window.pad_left + p.window.input_w < p.padded_w
      ? p.window.pad_left + p.window.input_w : p.padded_w;
  const int8_t* row = input + y * p.window.input_w * p.window.input_c;
  for (int32_t quad = 0; quad < quads; ++quad) {
    int8_t* dst = slot + quad * quad_bytes;
    fill_bytes(dst, zero_point, first * 4);
    fill_bytes(dst + last * 4, zero_point, (p.padded_w - last) * 4);
    const int32_t c0 = quad * 4;
    const int32_t width = p.window.input_c - c0 < 4 ? p.window.input_c - c0 : 4;
    const int8_t* src = row + c0;
    if (width == 4) {
      for (int32_t column = first; column < last; ++column, src += p.window.input_c) {
        int32_t word;
        __builtin_memcpy(&word, src, 4);
        __builtin_memcpy(dst + 4 * column, &word, 4);
      }
    } else {  // the last, partial quad: padded channels read the zero point
      for (int32_t column = first; column < last; ++column, src += p.window.input_c) {
        for (int32_t i = 0; i < 4; ++i) dst[4 * column + i] = i < width ? src[i] : zero_point;
      }
    }
  }
}

// Slots for the window rows of output row out_y, refilling only rows not yet held.
void prepare_rows(const MveDepthwiseConv2DParams& p, const int8_t* input, int32_t out_y, Ring& ring,
                  const int8_t** rows) {
  const int32_t y0 = out_y * p.window.stride_h - p.window.pad_top;
  for (int32_t fy = 0; fy < p.window.filter_h; ++fy) {
    const int32_t y = y0 + fy;
    const int32_t slot = ((y % p.window.filter_h) + p.window.filter_h) % p.window.filter_h;
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

}  // namespace

// One channel quad of a 3x3 output row, in assembly (the compiler spills the
// pointers of the intrinsic form): the struct is the frame of the naked functions.
struct Dw3x3QuadRow {
  const int8_t* rows[3];   // the quad's first tap in each ring row
  const int32_t* weights;  // [tap][4]
  const int32_t* requant;  // bias, multiplier, shift [4] each
  int8_t* out;             // the row's first output of the quad
  int32_t pairs;           // pixel pairs, then a single pixel if `single`
  int32_t out_step;        // 2 * channels
  int32_t channels;
  int32_t offset, lo, hi;
  int32_t lanes;           // channels stored (4 but for the last quad)
  int32_t single;
};

#if defined(__thumb2__)

#define TINYRIG_S_(x) #x
#define TINYRIG_S(x) TINYRIG_S_(x)
// r1-r3: row pointers; r4: weights; r5: requant; r6/r7: outputs of pixels a/b (r11: their step);
// q0/q1: accumulators of a/b; q2-q4: a filter row's weights; q5: input; q6: products.
#define TINYRIG_DW_LOADW(ROW)                                             \
  "vldrw.32 q2, [r4, #" TINYRIG_S(48 * (ROW)) "]\n\t"                      \
  "vldrw.32 q3, [r4, #" TINYRIG_S(48 * (ROW) + 16) "]\n\t"                 \
  "vldrw.32 q4, [r4, #" TINYRIG_S(48 * (ROW) + 32) "]\n\t"
#define TINYRIG_DW_MAC(ACC, W) "vmul.i32 q6, q5, " W "\n\t" "vadd.i32 " ACC ", " ACC ", q6\n\t"
#define TINYRIG_DW_PAIR_S1(R, ROW)                                        \
  TINYRIG_DW_LOADW(ROW)                                                   \
  "vldrb.s32 q5, [" R "], #8\n\t" TINYRIG_DW_MAC("q0", "q2")            \
  "vldrb.s32 q5, [" R ", #-4]\n\t" TINYRIG_DW_MAC("q1", "q2") TINYRIG_DW_MAC("q0", "q3") \
  "vldrb.s32 q5, [" R "]\n\t" TINYRIG_DW_MAC("q1", "q3") TINYRIG_DW_MAC("q0", "q4") \
  "vldrb.s32 q5, [" R ", #4]\n\t" TINYRIG_DW_MAC("q1", "q4")
#define TINYRIG_DW_PAIR_S2(R, ROW)                                        \
  TINYRIG_DW_LOADW(ROW)                                                   \
  "vldrb.s32 q5, [" R "], #16\n\t" TINYRIG_DW_MAC("q0", "q2")           \
  "vldrb.s32 q5, [" R ", #-12]\n\t" TINYRIG_DW_MAC("q0", "q3")          \
  "vldrb.s32 q5, [" R ", #-8]\n\t" TINYRIG_DW_MAC("q0", "q4") TINYRIG_DW_MAC("q1", "q2") \
  "vldrb.s32 q5, [" R ", #-4]\n\t" TINYRIG_DW_MAC("q1", "q3")           \
  "vldrb.s32 q5, [" R "]\n\t" TINYRIG_DW_MAC("q1", "q4")
#define TINYRIG_DW_SINGLE(R, ROW)                                         \
  TINYRIG_DW_LOADW(ROW)                                                   \
  "vldrb.s32 q5, [" R "]\n\t" TINYRIG_DW_MAC("q0", "q2")                \
  "vldrb.s32 q5, [" R ", #4]\n\t" TINYRIG_DW_MAC("q0", "q3")            \
  "vldrb.s32 q5, [" R ", #8]\n\t" TINYRIG_DW_MAC("q0", "q4")
// TFLM's requantisation of ACC (see tinyrig_mve_common.h), q2 = multipliers,
// q3 = shifts, q4 = lo, q7 = hi, r8 = output offset; stored predicated on P0.
#define TINYRIG_DW_RQ_STORE(ACC, OUT)                                     \
  "vqrdmulh.s32 " ACC ", " ACC ", q2\n\t"                                 \
  "vshr.s32 q6, " ACC ", #31\n\t"                                         \
  "vqadd.s32 " ACC ", " ACC ", q6\n\t"                                    \
  "vrshl.s32 " ACC ", " ACC ", q3\n\t"                                    \
  "vadd.i32 " ACC ", " ACC ", r8\n\t"                                     \
  "vmax.s32 " ACC ", " ACC ", q4\n\t"                                     \
  "vmin.s32 " ACC ", " ACC ", q7\n\t"                                     \
  "vpst\n\t"                                                              \
  "vstrbt.32 " ACC ", [" OUT "]\n\t"
#define TINYRIG_DW_EPILOGUE_CONSTANTS                                     \
  "vldrw.32 q2, [r5, #16]\n\t"                                            \
  "vldrw.32 q3, [r5, #32]\n\t"                                            \
  "vdup.32 q4, r9\n\t"
#define TINYRIG_DW_ROW_FN(PAIR)                                           \
  "push {r4-r11, lr}\n\t"                                                 \
  "vpush {d8-d15}\n\t"                                                    \
  "ldm r0, {r1-r6}\n\t"                                                   \
  "ldr r11, [r0, #28]\n\t" /* out_step */                                 \
  "ldr r8, [r0, #36]\n\t"  /* offset */                                   \
  "ldr r9, [r0, #40]\n\t"  /* lo */                                       \
  "ldr r10, [r0, #44]\n\t" /* hi */                                       \
  "vdup.32 q7, r10\n\t"                                                   \
  "ldr r10, [r0, #48]\n\t" /* lanes */                                    \
  "vctp.32 r10\n\t"                                                       \
  "ldr r10, [r0, #32]\n\t" /* channels */                                 \
  "add r7, r6, r10\n\t"                                                   \
  "ldr r10, [r0, #24]\n\t" /* pairs */                                    \
  "ldr r12, [r0, #52]\n\t" /* single */                                   \
  "cmp r10, #0\n\t"                                                     \
  "beq 2f\n\t"                                                       \
  "dls lr, r10\n\t"                                                       \
  "1:\n\t"                                                                \
  "vldrw.32 q0, [r5]\n\t"                                                 \
  "vmov q1, q0\n\t"                                                       \
  PAIR("r1", 0) PAIR("r2", 1) PAIR("r3", 2)                               \
  TINYRIG_DW_EPILOGUE_CONSTANTS                                           \
  TINYRIG_DW_RQ_STORE("q0", "r6")                                         \
  TINYRIG_DW_RQ_STORE("q1", "r7")                                         \
  "add r6, r6, r11\n\t"                                                    \
  "add r7, r7, r11\n\t"                                                    \
  "le lr, 1b\n\t"                                                         \
  "2:\n\t"                                                                \
  "cmp r12, #0\n\t"                                                     \
  "beq 3f\n\t"                                                       \
  "vldrw.32 q0, [r5]\n\t"                                                 \
  TINYRIG_DW_SINGLE("r1", 0) TINYRIG_DW_SINGLE("r2", 1) TINYRIG_DW_SINGLE("r3", 2) \
  TINYRIG_DW_EPILOGUE_CONSTANTS                                           \
  TINYRIG_DW_RQ_STORE("q0", "r6")                                         \
  "3:\n\t"                                                                \
  "vpop {d8-d15}\n\t"                                                     \
  "pop {r4-r11, pc}\n\t"

extern "C" __attribute__((naked, noipa)) void tinyrig_mve_dw3x3_row_s1(const Dw3x3QuadRow*) {
  __asm__ volatile(TINYRIG_DW_ROW_FN(TINYRIG_DW_PAIR_S1));
}

extern "C" __attribute__((naked, noipa)) void tinyrig_mve_dw3x3_row_s2(const Dw3x3QuadRow*) {
  __asm__ volatile(TINYRIG_DW_ROW_FN(TINYRIG_DW_PAIR_S2));
}

#endif

namespace {

template <int32_t kStride>
void row_3x3(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quad_bytes = p.padded_w * 4;
  Dw3x3QuadRow run;
  run.pairs = p.window.output_w / 2;
  run.single = p.window.output_w % 2;
  run.out_step = 2 * p.window.input_c;
  run.channels = p.window.input_c;
  run.offset = p.output_offset;
  run.lo = p.activation_min;
  run.hi = p.activation_max;
  for (int32_t quad = 0; quad < p.channels_padded / 4; ++quad) {
    for (int32_t fy = 0; fy < 3; ++fy) run.rows[fy] = rows[fy] + quad * quad_bytes;
    run.weights = p.weights + quad * 36;
    run.requant = p.requant + quad * kRequantWords;
    run.out = out + 4 * quad;
    run.lanes = p.window.input_c - 4 * quad < 4 ? p.window.input_c - 4 * quad : 4;
    if (kStride == 1) {
      tinyrig_mve_dw3x3_row_s1(&run);
    } else {
      tinyrig_mve_dw3x3_row_s2(&run);
    }
  }
}

void row_generic(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quads = p.channels_padded / 4;
  const int32_t quad_bytes = p.padded_w * 4;
  const int32x4_t lo = vdupq_n_s32(p.activation_min), hi = vdupq_n_s32(p.activation_max);
  for (int32_t quad = 0; quad < quads; ++quad) {
    const mve_pred16_t keep = vctp32q(static_cast<uint32_t>(p.window.input_c - 4 * quad));
    const int32_t* rq = p.requant + quad * kRequantWords;
    for (int32_t x = 0; x < p.window.output_w; ++x) {
      int32x4_t a = vldrwq_s32(rq);
      const int32_t* w = p.weights + quad * p.window.filter_h * p.window.filter_w * 4;
      for (int32_t fy = 0; fy < p.window.filter_h; ++fy) {
        const int8_t* r = rows[fy] + quad * quad_bytes + x * p.window.stride_w * 4;
        for (int32_t fx = 0; fx < p.window.filter_w; ++fx, w += 4) a = mla(a, load4(r + 4 * fx), vldrwq_s32(w));
      }
      vstrbq_p_s32(out + x * p.window.input_c + 4 * quad,
                   requantize4(a, vldrwq_s32(rq + 4), vldrwq_s32(rq + 8), p.output_offset, lo, hi), keep);
    }
  }
}

#else  // host model: the same ring and weight layouts, one lane at a time

void row_generic(const MveDepthwiseConv2DParams& p, const int8_t* const* rows, int8_t* out) {
  const int32_t quad_bytes = p.padded_w * 4;
  for (int32_t c = 0; c < p.window.input_c; ++c) {
    const int32_t quad = c / 4, lane = c % 4;
    const int32_t* rq = p.requant + quad * kRequantWords;
    for (int32_t x = 0; x < p.window.output_w; ++x) {
      int32_t acc = rq[lane];
      const int32_t* w = p.weights + quad * p.window.filter_h * p.window.filter_w * 4;
      for (int32_t fy = 0; fy < p.window.filter_h; ++fy) {
        const int8_t* r = rows[fy] + quad * quad_bytes + x * p.window.stride_w * 4;
        for (int32_t fx = 0; fx < p.window.filter_w; ++fx, w += 4) acc += r[4 * fx + lane] * w[lane];
      }
      out[x * p.window.input_c + c] = requantize1(acc, rq, lane, p.output_offset, p.activation_min, p.activation_max);
    }
  }
}

#endif

}  // namespace

void depthwise_conv2d_s8(const MveDepthwiseConv2DParams& p, const int8_t* input, int8_t* output,
                         int32_t* scratch) {
  if (p.planar) {
    depthwise_planar(p, input, output, scratch);
    return;
  }
  Ring ring;
  ring.slot_bytes = p.channels_padded * p.padded_w;
  for (int32_t i = 0; i < p.window.filter_h; ++i) {
    ring.slots[i] = reinterpret_cast<int8_t*>(scratch) + i * ring.slot_bytes;
    ring.rows[i] = INT32_MIN;
  }
  const int8_t* rows[kMaxFilterH];
  for (int32_t out_y = 0; out_y < p.window.output_h; ++out_y) {
    prepare_rows(p, input, out_y, ring, rows);
    int8_t* out = output + out_y * p.window.output_w * p.window.input_c;
#if TINYRIG_MVE_NATIVE
    if (p.window.filter_h == 3 && p.window.filter_w == 3 && p.window.stride_w == 1) {
      row_3x3<1>(p, rows, out);
      continue;
    }
    if (p.window.filter_h == 3 && p.window.filter_w == 3 && p.window.stride_w == 2) {
      row_3x3<2>(p, rows, out);
      continue;
    }
#endif
    row_generic(p, rows, out);
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
