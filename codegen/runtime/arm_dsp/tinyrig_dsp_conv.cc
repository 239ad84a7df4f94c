// tinyrig DSP-extension kernel: CONV_2D (int8), as a matrix product in 3x2 blocks.
//
// For each run of 3 output pixels the kernel builds their 3 input columns once,
// widened to int16 pairs and interleaved [step][pixel] for the block's LDM, and
// then sweeps all filters two at a time. A 1x1 convolution without padding reads
// each column straight from the input pixel (no im2col); any other shape gathers
// the filter window first, taps outside the image reading the input zero point
// (the value the host-folded bias expects, as in the reference kernel).
// A missing third pixel at the end is a zero column whose outputs are dropped.
// For 3 full pixels, every full filter pair runs in one assembly call that also
// requantises, clamps and stores (tinyrig_dsp_conv_3x2_run); a last odd filter
// and a last partial run of pixels requantise in C.
#include "tinyrig_dsp_common.h"
#include "tinyrig_dsp_kernels.h"

namespace tinyrig {
namespace arm_dsp {
namespace {

constexpr int32_t kPixels = 3;

void gather_window(const DspConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* column) {
  const int32_t out_y = pixel / p.output_w;
  const int32_t out_x = pixel - out_y * p.output_w;
  const int32_t y0 = out_y * p.stride_h - p.pad_top;
  const int32_t x0 = out_x * p.stride_w - p.pad_left;
  const int8_t pad = static_cast<int8_t>(p.input_zero_point);
  for (int32_t fy = 0; fy < p.filter_h; ++fy) {
    const int32_t y = y0 + fy * p.dilation_h;
    for (int32_t fx = 0; fx < p.filter_w; ++fx, column += p.input_c) {
      const int32_t x = x0 + fx * p.dilation_w;
      if (y >= 0 && y < p.input_h && x >= 0 && x < p.input_w) {
        memcpy(column, input + (y * p.input_w + x) * p.input_c, p.input_c);
      } else {
        memset(column, pad, p.input_c);
      }
    }
  }
}

// Builds pixel's widened column at dst (one word every kPixels words, zero steps up to
// `steps`). A window wholly inside the image is read as filter_h contiguous strips of
// filter_w * input_c bytes (dilation_w 1): widened straight from the input when a strip
// is a whole number of 4-byte groups, else copied into `window` first. Windows that
// touch the padding go through gather_window.
void build_column(const DspConv2DParams& p, const int8_t* input, int32_t pixel, int32_t steps, uint32_t* dst,
                  int8_t* window) {
  const int32_t out_y = pixel / p.output_w;
  const int32_t out_x = pixel - out_y * p.output_w;
  const int32_t y0 = out_y * p.stride_h - p.pad_top;
  const int32_t x0 = out_x * p.stride_w - p.pad_left;
  const bool inside = y0 >= 0 && y0 + (p.filter_h - 1) * p.dilation_h < p.input_h && x0 >= 0 &&
                      x0 + p.filter_w - 1 < p.input_w && p.dilation_w == 1;
  if (!inside) {
    gather_window(p, input, pixel, window);
    widen(window, p.depth, steps, kPixels, dst);
    return;
  }
  const int32_t strip = p.filter_w * p.input_c;
  const int8_t* src = input + (y0 * p.input_w + x0) * p.input_c;
  const int32_t row_bytes = p.dilation_h * p.input_w * p.input_c;
  if ((strip & 3) == 0) {
    const int32_t strip_steps = strip / 2;
    for (int32_t fy = 0; fy < p.filter_h; ++fy, src += row_bytes) {
      widen(src, strip, strip_steps, kPixels, dst + fy * strip_steps * kPixels);
    }
    for (int32_t step = p.filter_h * strip_steps; step < steps; ++step) dst[step * kPixels] = 0;
    return;
  }
  int8_t* column = window;
  for (int32_t fy = 0; fy < p.filter_h; ++fy, src += row_bytes, column += strip) memcpy(column, src, strip);
  widen(window, p.depth, steps, kPixels, dst);
}

const int8_t* pointwise_source(const DspConv2DParams& p, const int8_t* input, int32_t pixel) {
  const int32_t out_y = pixel / p.output_w;
  const int32_t out_x = pixel - out_y * p.output_w;
  return input + (out_y * p.stride_h * p.input_w + out_x * p.stride_w) * p.input_c;
}

}  // namespace

void conv2d_s8(const DspConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  const int32_t steps = p.depth_padded / 2;
  uint32_t* columns = reinterpret_cast<uint32_t*>(scratch);  // [steps][kPixels]
  int8_t* window = reinterpret_cast<int8_t*>(columns + steps * kPixels);
  const int32_t pixels = p.output_h * p.output_w;
  for (int32_t first = 0; first < pixels; first += kPixels) {
    const int32_t valid = pixels - first < kPixels ? pixels - first : kPixels;
    for (int32_t slot = 0; slot < kPixels; ++slot) {
      if (slot >= valid) {
        widen(nullptr, 0, steps, kPixels, columns + slot);
      } else if (p.pointwise) {
        widen(pointwise_source(p, input, first + slot), p.depth, steps, kPixels, columns + slot);
      } else {
        build_column(p, input, first + slot, steps, columns + slot, window);
      }
    }
    int8_t* out = output + first * p.output_c;
    int32_t filter = 0;
    if (valid == kPixels && p.output_c >= 2) {  // every full filter pair in assembly
      Conv3x2Run run;
      run.x = columns;
      run.weights = p.weights;
      run.trips = steps / 4;
      run.bias = p.bias;
      run.requant = p.requant;
      run.out = out;
      run.out_c = p.output_c;
      run.pairs = p.output_c / 2;
      run.clamp = p.clamp;
      run.lo4 = static_cast<uint8_t>(p.activation_min) * 0x01010101u;
      run.hi4 = static_cast<uint8_t>(p.activation_max) * 0x01010101u;
      run.unused = 0;
      tinyrig_dsp_conv_3x2_run(&run);
      filter = 2 * run.pairs;
    }
    const int32_t* weights = p.weights + filter * steps;
    for (; filter < p.channels_padded; filter += 2, weights += 2 * steps) {
      int32_t acc[2 * kPixels];
      tinyrig_dsp_block_3x2(columns, weights, steps / 4, p.bias + filter, acc);
      const int32_t* rq = p.requant + 3 * filter;
      const bool second = filter + 1 < p.output_c;
      for (int32_t slot = 0; slot < valid; ++slot) {
        int8_t* o = out + slot * p.output_c + filter;
        o[0] = clamp_output(requantize(acc[2 * slot], rq), p.clamp, p.activation_min, p.activation_max);
        if (second) {
          o[1] = clamp_output(requantize(acc[2 * slot + 1], rq + 3), p.clamp, p.activation_min, p.activation_max);
        }
      }
    }
  }
}

}  // namespace arm_dsp
}  // namespace tinyrig
