// tinyrig kernels: the sliding-window geometry CONV_2D, DEPTHWISE_CONV_2D and the 2-D
// pools share, embedded as `window` in each of their parameter blocks (every family's),
// so it is described, filled (codegen/layer.py window_param) and read the same way.
#ifndef TINYRIG_WINDOW_H_
#define TINYRIG_WINDOW_H_

#include <cstdint>

namespace tinyrig {

struct Window2D {
  int32_t input_h, input_w, input_c;
  int32_t output_h, output_w, output_c;  // a pool's output_c is its input_c
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;        // 1 for pools
  int32_t pad_top, pad_left;             // TFLite puts any odd padding pixel at the bottom/right
};

}  // namespace tinyrig

#endif  // TINYRIG_WINDOW_H_
