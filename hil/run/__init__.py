"""Orchestration: `tinyrig run` (runner), per-layer profiling and the pytest plugin."""
