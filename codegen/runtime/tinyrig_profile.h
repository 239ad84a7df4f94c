// tinyrig inference runtime: per-layer markers for profiling builds.
//
// Included by the generated model when TINYRIG_PROFILE is 1 (the firmware's
// `profile` PlatformIO environment). Each layer boundary then calls the board's
// board_pin_mark(), a store to the timestamp-pin register that leaves the pin's
// level alone. Under QEMU, tinyrig's pinwatch plugin logs the exact instruction
// count at every such store, so the difference between a layer's BEGIN and END
// stores is the layer's instruction count plus a constant call overhead, which
// the generated code measures once with an empty BEGIN/END pair (layer -1).
#ifndef TINYRIG_PROFILE_H_
#define TINYRIG_PROFILE_H_

extern "C" void board_pin_mark(void);

#define TINYRIG_LAYER_BEGIN(layer_index) board_pin_mark()
#define TINYRIG_LAYER_END(layer_index) board_pin_mark()

#endif  // TINYRIG_PROFILE_H_
