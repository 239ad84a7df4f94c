// tinyrig Helium kernel: the first CONV_2D of an image or audio model (1-4 input
// channels, a real spatial filter) without a per-pixel im2col copy.
//
// Per output row, the filter_h input rows it needs are re-laid into one scratch
// line laid out [column][filter row][channel] (filter_h * input_c bytes a column):
// each step loads 16 contiguous input bytes and scatters them with one VSTRB
// (u8 byte offsets). Pad columns and rows hold the input zero point (the bias has
// the zero point folded in). The window of output x is then filter_w columns =
// filter_w * filter_h * input_c CONTIGUOUS bytes at x * stride_w columns, read in
// place by the 2-pixel x 4-filter VMLADAVA block (weights in [fx][fy][c] order,
// zero past the depth, so the bytes of the next window a padded chunk reads add 0).
//
// One assembly call runs a whole output row of pixel pairs (variants: whole quads
// stored without predication; a 32-byte depth with both chunks unrolled). With an odd
// output width, even and odd output rows use two lines and the last pixels of two rows
// make one pair (run by the general conv's single-pair block), so only a last odd row
// has a half-empty block.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_conv_window.h"

namespace tinyrig {
namespace arm_mve {

// A row of pixel pairs in one call (frame layout of tinyrig_mve_window_row_rq).
struct WindowRowRun {
  const int32_t* requant;  // 0
  const int8_t* weights;   // 4
  int8_t* out;             // 8: the first pixel's outputs
  int32_t pairs;           // 12: pixel pairs (at least 1)
  int32_t quads;           // 16
  int32_t chunks;          // 20
  int32_t window_step;     // 24: bytes between neighbouring windows
  int32_t channels;        // 28: output_c
  int32_t offset, lo, hi;  // 32, 36, 40
};

#if TINYRIG_MVE_NATIVE && defined(__thumb2__)

// The chunks after the first: a loop over [sp, #52] (chunks - 1, maybe 0), or one more.
#define TINYRIG_MVE_WIN_CHUNK_LOOP                                                                 \
  "ldr r7, [sp, #52]\n\t"                                                                          \
  "cbz r7, 3f\n\t"                                                                                 \
  "2:\n\t"                                                                                         \
  TINYRIG_MVE_CHUNK("vmladava.s8")                                                                 \
  "subs r7, r7, #1\n\t"                                                                            \
  "bne 2b\n\t"                                                                                     \
  "3:\n\t"
#define TINYRIG_MVE_WIN_SECOND_CHUNK TINYRIG_MVE_CHUNK("vmladava.s8")

// A quad's 4 outputs per pixel: predicated by the channels left, or whole.
#define TINYRIG_MVE_WIN_STORES_PREDICATED                                                          \
  "vctp.32 r6\n\t"                                                                                 \
  "subs r6, r6, #4\n\t"                                                                            \
  "vpstt\n\t"                                                                                      \
  "vstrbt.32 q0, [r2], #4\n\t"                                                                     \
  "vstrbt.32 q1, [r4], #4\n\t"
#define TINYRIG_MVE_WIN_STORES_WHOLE                                                               \
  "vstrb.32 q0, [r2], #4\n\t"                                                                      \
  "vstrb.32 q1, [r4], #4\n\t"

// The 2-pixel x 4-filter block (tinyrig_mve_common.h) over `pairs` pixel pairs of a
// row (windows x0, x0 + step; x0 + 2 step, ...), without a call per pair. Frame:
// [sp, 32) the accumulators; 32 rq, 36 out0, 40 out1, 44 channels left, 48 quads left
// (the per-quad state TINYRIG_MVE_REQUANT_2X4 reloads); 52 chunks - 1, 56 rq base,
// 60 weights, 64 out of the pair, 68 pairs left, 72 quads, 76 step, 80 channels,
// 84 the pair's first window.
#define TINYRIG_MVE_WIN_ROW(MORE_CHUNKS, STORES)                                                   \
  "push {r4-r11, lr}\n\t"                                                                          \
  "vpush {d8-d15}\n\t"                                                                             \
  "sub sp, sp, #88\n\t"                                                                            \
  "str r0, [sp, #84]\n\t"                                                                          \
  "ldm r1, {r0, r2, r3, r4, r5, r6, r7, r8}\n\t"                                                   \
  "subs r6, r6, #1\n\t"                                                                            \
  "str r6, [sp, #52]\n\t"                                                                          \
  "add r9, sp, #56\n\t"                                                                            \
  "stm r9, {r0, r2, r3, r4, r5, r7, r8}\n\t"                                                       \
  "ldr r4, [r1, #32]\n\t"                                                                          \
  "vdup.32 q5, r4\n\t"                                                                             \
  "ldr r4, [r1, #36]\n\t"                                                                          \
  "vdup.32 q6, r4\n\t"                                                                             \
  "ldr r4, [r1, #40]\n\t"                                                                          \
  "vdup.32 q7, r4\n\t"                                                                             \
  /* The first pair: windows r9, r11; per-quad state {rq, out0, out1, channels, quads}. */         \
  "ldr r9, [sp, #84]\n\t"                                                                          \
  "add r11, r9, r7\n\t"                                                                            \
  "mov r1, r3\n\t"                                                                                 \
  "add r4, r3, r8\n\t"                                                                             \
  "mov r6, r8\n\t"                                                                                 \
  "mov r10, r5\n\t"                                                                                \
  "add lr, sp, #32\n\t"                                                                            \
  "stm lr, {r0, r1, r4, r6, r10}\n\t"                                                              \
  "mov r5, r2\n\t"                                                                                 \
  "1:\n\t"                                                                                         \
  "mov r1, r9\n\t"                                                                                 \
  "mov r3, r11\n\t"                                                                                \
  TINYRIG_MVE_CHUNK("vmladav.s8")                                                              \
  MORE_CHUNKS                                                                                      \
  TINYRIG_MVE_REQUANT_2X4                                                                          \
  STORES                                                                                           \
  "subs r8, r8, #1\n\t"                                                                            \
  "stm r7, {r0, r2, r4, r6, r8}\n\t"                                                               \
  "bne 1b\n\t"                                                                                     \
  /* The next pair: windows 2 steps on, outputs 2 pixels on, the quad state reset. */              \
  "ldr r1, [sp, #76]\n\t"                                                                          \
  "add r9, r11, r1\n\t"                                                                            \
  "add r11, r9, r1\n\t"                                                                            \
  "ldr r2, [sp, #64]\n\t"                                                                          \
  "ldr r6, [sp, #80]\n\t"                                                                          \
  "add r2, r2, r6, lsl #1\n\t"                                                                     \
  "str r2, [sp, #64]\n\t"                                                                          \
  "add r4, r2, r6\n\t"                                                                             \
  "ldr r0, [sp, #56]\n\t"                                                                          \
  "ldr r8, [sp, #72]\n\t"                                                                          \
  "stm r7, {r0, r2, r4, r6, r8}\n\t"                                                               \
  "ldr r5, [sp, #60]\n\t"                                                                          \
  "ldr r1, [sp, #68]\n\t"                                                                          \
  "subs r1, r1, #1\n\t"                                                                            \
  "str r1, [sp, #68]\n\t"                                                                          \
  "bne 1b\n\t"                                                                                     \
  "add sp, sp, #88\n\t"                                                                            \
  "vpop {d8-d15}\n\t"                                                                              \
  "pop {r4-r11, pc}\n\t"

extern "C" __attribute__((naked, noipa)) void tinyrig_mve_window_row_rq(const int8_t*, const WindowRowRun*) {
  __asm__ volatile(TINYRIG_MVE_WIN_ROW(TINYRIG_MVE_WIN_CHUNK_LOOP, TINYRIG_MVE_WIN_STORES_PREDICATED));
}

// The same for output_c % 4 == 0: every quad's stores are whole (no predication).
extern "C" __attribute__((naked, noipa)) void tinyrig_mve_window_row_rq_full(const int8_t*, const WindowRowRun*) {
  __asm__ volatile(TINYRIG_MVE_WIN_ROW(TINYRIG_MVE_WIN_CHUNK_LOOP, TINYRIG_MVE_WIN_STORES_WHOLE));
}

// The same again for a depth of two chunks (32 bytes): both unrolled, no chunk loop.
extern "C" __attribute__((naked, noipa)) void tinyrig_mve_window_row_rq_full2(const int8_t*, const WindowRowRun*) {
  __asm__ volatile(TINYRIG_MVE_WIN_ROW(TINYRIG_MVE_WIN_SECOND_CHUNK, TINYRIG_MVE_WIN_STORES_WHOLE));
}

#else  // host model of the same block

extern "C" void tinyrig_mve_window_row_rq(const int8_t* x0, const WindowRowRun* row) {
  ConvRun run = {row->requant, row->out, row->out + row->channels, row->channels, row->quads, row->chunks,
                 row->offset, row->lo, row->hi, 1, 0, 0};
  for (int32_t pair = 0; pair < row->pairs; ++pair, x0 += 2 * row->window_step) {
    tinyrig_mve_conv_2x4_rq(x0, x0 + row->window_step, row->weights, &run);
    run.out0 += 2 * row->channels;
    run.out1 += 2 * row->channels;
  }
}

extern "C" void tinyrig_mve_window_row_rq_full(const int8_t* x0, const WindowRowRun* row) {
  tinyrig_mve_window_row_rq(x0, row);
}

extern "C" void tinyrig_mve_window_row_rq_full2(const int8_t* x0, const WindowRowRun* row) {
  tinyrig_mve_window_row_rq(x0, row);
}

#endif

void conv2d_window_s8(const MveConvWindowParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  // Scratch: the re-laid line (line_bytes, a multiple of 4; two lines, for even and odd
  // output rows, when output_w is odd), then a dummy output row. The last pixels of two
  // rows make one pair (a lone one only in a last odd row).
  const bool odd = (p.window.output_w & 1) != 0;
  int8_t* const lines[2] = {reinterpret_cast<int8_t*>(scratch), reinterpret_cast<int8_t*>(scratch) + p.line_bytes};
  int8_t* dummy = lines[0] + (odd ? 2 : 1) * p.line_bytes;
  const int8_t zero_point = static_cast<int8_t>(p.input_zero_point);
  fill_bytes(lines[0], zero_point, (odd ? 2 : 1) * p.line_bytes);  // pad columns stay the zero point
  const int32_t ic = p.window.input_c, cb = p.column_bytes;
  const int32_t row_bytes = p.window.input_w * ic;
  const int32_t step_bytes = p.step_columns * ic;       // source bytes a step consumes
  const int32_t step_line = p.step_columns * cb;        // line bytes a step advances
  const int32_t window_step = p.window.stride_w * cb;
  // The last pixels of odd-width rows: the general conv's single-pair run.
  ConvRun run = {p.requant, output, dummy, p.window.output_c, p.channels_padded / 4, p.depth_padded / 16,
                 p.output_offset, p.activation_min, p.activation_max, 1, 0, 0};
  const int32_t pairs = p.window.output_w / 2;
  WindowRowRun row = {p.requant, p.weights, output, pairs, p.channels_padded / 4, p.depth_padded / 16,
                      window_step, p.window.output_c, p.output_offset, p.activation_min, p.activation_max};
#if TINYRIG_MVE_NATIVE
  // Lane j of 16 contiguous input bytes (column j / ic, channel j % ic) goes to
  // (j / ic) * column_bytes + j % ic (the code generator checked these fit a byte).
  uint8_t offsets[16];
  for (int32_t j = 0; j < 16; ++j) offsets[j] = static_cast<uint8_t>((j / ic) * cb + j % ic);
  const uint8x16_t lanes = vldrbq_u8(offsets);
  const int8x16_t zp = vdupq_n_s8(zero_point);
#endif
  // Ring (phases > 1): input row y lives in row slot y mod filter_h and is laid once;
  // the weights of phase y0 mod filter_h match the slots of an output row's window.
  int32_t next_row = -p.window.pad_top;  // the first row not yet laid (ring)
  for (int32_t oy = 0; oy < p.window.output_h; ++oy) {
    int8_t* const line = lines[odd ? (oy & 1) : 0];
    int8_t* const first_column = line + p.window.pad_left * cb;
    const int32_t y0 = oy * p.window.stride_h - p.window.pad_top;
    const int8_t* weights = p.weights;
    int32_t fy_first = 0, slot = 0;  // the first row to lay and its slot
    if (p.phases > 1) {
      const int32_t phase = ((y0 % p.window.filter_h) + p.window.filter_h) % p.window.filter_h;
      weights += phase * p.phase_bytes;
      fy_first = next_row > y0 ? next_row - y0 : 0;
      slot = (phase + fy_first) % p.window.filter_h;
      next_row = y0 + p.window.filter_h;
    }
    row.weights = weights;
    // Input row y (the zero point outside the image) into the row slot at dst.
    const auto lay = [&](int32_t y, int8_t* dst) __attribute__((always_inline)) {
      const bool inside = y >= 0 && y < p.window.input_h;
      const int8_t* src = input + (inside ? y : 0) * row_bytes;
#if TINYRIG_MVE_NATIVE
      if (inside) {  // 8 instructions a step: load 16 bytes, scatter step_columns columns
        int32_t n = row_bytes;
        __asm__ volatile(
            "vldrb.u8 q1, [%[offsets]]\n\t"
            "1:\n\t"
            "vctp.8 %[n]\n\t"
            "vpstt\n\t"
            "vldrbt.u8 q0, [%[src]]\n\t"
            "vstrbt.8 q0, [%[dst], q1]\n\t"
            "add %[src], %[src], %[step]\n\t"
            "add %[dst], %[dst], %[advance]\n\t"
            "subs %[n], %[n], %[step]\n\t"
            "bgt 1b\n\t"
            : [n] "+r"(n), [src] "+r"(src), [dst] "+r"(dst)
            : [offsets] "r"(offsets), [step] "r"(step_bytes), [advance] "r"(step_line)
            : "d0", "d1", "d2", "d3", "memory", "cc");
      } else {
        for (int32_t n = row_bytes; n > 0; n -= step_bytes, dst += step_line) {
          vstrbq_scatter_offset_p_s8(dst, lanes, zp, vctp8q(static_cast<uint32_t>(n)));
        }
      }
#else
      for (int32_t x = 0; x < p.window.input_w; ++x) {
        for (int32_t c = 0; c < ic; ++c) dst[x * cb + c] = inside ? src[x * ic + c] : zero_point;
      }
      (void)step_bytes;
      (void)step_line;
#endif
    };
    if (p.phases > 1) {
      for (int32_t fy = fy_first; fy < p.window.filter_h; ++fy, slot = slot + 1 == p.window.filter_h ? 0 : slot + 1) {
        lay(y0 + fy, first_column + slot * ic);
      }
    } else {
      for (int32_t fy = 0; fy < p.window.filter_h; ++fy) lay(y0 + fy, first_column + fy * ic);
    }
    int8_t* out = output + oy * p.window.output_w * p.window.output_c;
    if (pairs > 0) {
      row.out = out;
      if (p.window.output_c % 4 == 0 && p.depth_padded == 32) {
        tinyrig_mve_window_row_rq_full2(line, &row);
      } else if (p.window.output_c % 4 == 0) {
        tinyrig_mve_window_row_rq_full(line, &row);
      } else {
        tinyrig_mve_window_row_rq(line, &row);
      }
    }
    const int32_t last = (p.window.output_w - 1) * window_step;
    if (odd && (oy & 1)) {  // the last pixels of this row and the one above
      run.out0 = out - p.window.output_c;
      run.out1 = out + (p.window.output_w - 1) * p.window.output_c;
      tinyrig_mve_conv_2x4_rq(lines[0] + last, lines[1] + last, weights, &run);
    } else if (odd && oy == p.window.output_h - 1) {  // a lone last pixel: its twin's outputs go to the dummy row
      run.out0 = out + (p.window.output_w - 1) * p.window.output_c;
      run.out1 = dummy;
      tinyrig_mve_conv_2x4_rq(lines[0] + last, lines[0] + last, weights, &run);
    }
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
