// tinyrig Helium kernel: CONV_2D (int8) as 2-pixel x 4-filter VMLADAVA blocks.
//
// A 1x1 convolution without padding whose depth is a multiple of 16 reads its
// columns straight from the input; other shapes gather the window (taps outside
// the image read the input zero point, as the host-folded bias expects) into a
// zero-padded int8 column in scratch.
#include "tinyrig_mve_common.h"
#include "tinyrig_mve_kernels.h"

namespace tinyrig {
namespace arm_mve {
namespace {

void gather(const MveConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* column) {
  const int32_t out_y = pixel / p.output_w;
  const int32_t out_x = pixel - out_y * p.output_w;
  const int32_t y0 = out_y * p.stride_h - p.pad_top;
  const int32_t x0 = out_x * p.stride_w - p.pad_left;
  int8_t* c = column;
  for (int32_t fy = 0; fy < p.filter_h; ++fy) {
    const int32_t y = y0 + fy * p.dilation_h;
    for (int32_t fx = 0; fx < p.filter_w; ++fx, c += p.input_c) {
      const int32_t x = x0 + fx * p.dilation_w;
      const bool inside = y >= 0 && y < p.input_h && x >= 0 && x < p.input_w;
      const int8_t* src = input + (y * p.input_w + x) * p.input_c;
      for (int32_t i = 0; i < p.input_c; ++i) c[i] = inside ? src[i] : static_cast<int8_t>(p.input_zero_point);
    }
  }
  for (int32_t i = p.depth; i < p.depth_padded; ++i) column[i] = 0;
}

const int8_t* column_of(const MveConv2DParams& p, const int8_t* input, int32_t pixel, int8_t* scratch) {
  if (p.direct) {
    const int32_t out_y = pixel / p.output_w;
    const int32_t out_x = pixel - out_y * p.output_w;
    return input + (out_y * p.stride_h * p.input_w + out_x * p.stride_w) * p.input_c;
  }
  gather(p, input, pixel, scratch);
  return scratch;
}

}  // namespace

void conv2d_s8(const MveConv2DParams& p, const int8_t* input, int8_t* output, int32_t* scratch) {
  int8_t* columns = reinterpret_cast<int8_t*>(scratch);  // two gathered columns
  const int32_t pixels = p.output_h * p.output_w;
  for (int32_t first = 0; first < pixels; first += 2) {
    const bool pair = first + 1 < pixels;
    const int8_t* x0 = column_of(p, input, first, columns);
    const int8_t* x1 = pair ? column_of(p, input, first + 1, columns + p.depth_padded) : x0;
    for (int32_t filter = 0; filter < p.channels_padded; filter += 4) {
      const int32_t* b = p.bias + filter;
      int32_t acc[8] = {b[0], b[1], b[2], b[3], b[0], b[1], b[2], b[3]};
      dot_2x4(x0, x1, p.weights + filter * p.depth_padded, p.depth_padded, acc);
      const int32_t count = p.output_c - filter < 4 ? p.output_c - filter : 4;
      for (int32_t column = 0; column < (pair ? 2 : 1); ++column) {
        int8_t* out = output + (first + column) * p.output_c + filter;
        for (int32_t i = 0; i < count; ++i) {
          out[i] = requantize_output(acc[4 * column + i], p.requant + 4 * (filter + i), p.clamp, p.activation_min,
                                     p.activation_max);
        }
      }
    }
  }
}

}  // namespace arm_mve
}  // namespace tinyrig
