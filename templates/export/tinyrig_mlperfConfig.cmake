# find_package(tinyrig_mlperf CONFIG PATHS <this folder>): the tinyrig MLPerf Tiny library
# ({{ benchmark.id }}, {{ core }}) as target tinyrig::mlperf, compiled from source with the caller's
# toolchain, so one export serves every compiler and flag set.
include("${CMAKE_CURRENT_LIST_DIR}/cmake/tinyrig_mlperf.cmake")
tinyrig_mlperf_add_library()
set(tinyrig_mlperf_FOUND TRUE)
