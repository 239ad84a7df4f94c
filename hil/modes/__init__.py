"""The MLPerf Tiny measurement modes: performance, accuracy, energy."""
