// tinyrig kernels: a CONV_2D some of whose filters have all-zero weights, run as the same
// convolution over its live filters only (codegen/kernels/live_filters.py). Every family's
// conv kernel header wraps its own parameter block `Inner` in LiveFiltersParams<Inner>:
// `conv` is the live layer (its window.output_c is `live`), which writes a compact
// [pixel][live] tensor at the start of scratch (the inner kernel's scratch follows it); each
// pixel's output row is then constant_row (the zero filters' outputs, 0 at live channels)
// with the live outputs stored at live_channels[j]. The zero filters' MACs, weights and
// epilogue constants are gone, for about one row copy per pixel.
#ifndef TINYRIG_LIVE_FILTERS_H_
#define TINYRIG_LIVE_FILTERS_H_

#include <cstdint>
#include <cstring>

namespace tinyrig {

template <class Inner>
struct LiveFiltersParams {
  Inner conv;
  int32_t pixels;         // the layer's output pixels (the inner kernel may see them packed differently)
  int32_t output_c;
  int32_t live;           // filters in conv (0: conv is never run)
  int32_t compact_bytes;  // the compact tensor, rounded up to whole words
  const int8_t* constant_row;      // [output_c]
  const uint16_t* live_channels;   // [live]
};

// Runs `inner(conv, input, compact, scratch after it)`, then spreads the compact rows.
template <class Inner, class InnerKernel>
inline void run_live_filters(const LiveFiltersParams<Inner>& s, const int8_t* input, int8_t* output,
                             int32_t* scratch, InnerKernel inner) {
  int8_t* const compact = reinterpret_cast<int8_t*>(scratch);
  if (s.live > 0) inner(s.conv, input, compact, scratch + s.compact_bytes / 4);
  const int8_t* from = compact;
  int8_t* row = output;
  for (int32_t pixel = 0; pixel < s.pixels; ++pixel, row += s.output_c, from += s.live) {
    std::memcpy(row, s.constant_row, static_cast<size_t>(s.output_c));
    for (int32_t j = 0; j < s.live; ++j) row[s.live_channels[j]] = from[j];
  }
}

}  // namespace tinyrig

#endif  // TINYRIG_LIVE_FILTERS_H_
