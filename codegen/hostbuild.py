"""Build a compiled model for the host and run batches through it.

    host = HostModel.build("model.tflite")
    outputs = host.run(inputs)  # inputs shaped [K, *input_shape]

The executable is the generated model plus a small batch harness that reads raw
inputs from stdin until EOF and writes each raw output to stdout. It is compiled
with -O2 -Wall -Wextra -Werror, so a warning in generated code fails the build.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import CompiledModel, compile_model

HOST_CXXFLAGS = ("-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror")

BATCH_HARNESS_NAME = "tinyrig_host_harness.cc"

# Host-only: stdio is fine here, it never reaches a device build.
BATCH_HARNESS = r"""// tinyrig host batch harness: raw inputs on stdin, raw outputs on stdout.
#include <cstdio>
#include <cstring>

#include "tinyrig_model.h"

int main() {
  static unsigned char input[TINYRIG_MODEL_INPUT_BYTES];
  for (;;) {
    const size_t got = std::fread(input, 1, sizeof(input), stdin);
    if (got == 0) break;
    if (got != sizeof(input)) {
      std::fprintf(stderr, "truncated input: %u of %u bytes\n", static_cast<unsigned>(got),
                   static_cast<unsigned>(sizeof(input)));
      return 2;
    }
    std::memcpy(tinyrig_model_input(), input, sizeof(input));
    tinyrig_model_invoke();
    if (std::fwrite(tinyrig_model_output(), 1, TINYRIG_MODEL_OUTPUT_BYTES, stdout) !=
        TINYRIG_MODEL_OUTPUT_BYTES) {
      return 3;
    }
  }
  return 0;
}
"""


class HostBuildError(RuntimeError):
    pass


@dataclass
class HostModel:
    compiled: CompiledModel
    executable: Path
    workdir: Path

    @classmethod
    def build(cls, model, workdir: str | os.PathLike | None = None, cc: str = "g++",
              extra_flags: tuple[str, ...] = ()) -> "HostModel":
        """Compile `model` (path, bytes, IR graph or an existing CompiledModel) for the host."""
        compiled = model if isinstance(model, CompiledModel) else compile_model(model)
        directory = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="tinyrig-host-"))
        compiled.write(directory)
        (directory / BATCH_HARNESS_NAME).write_text(BATCH_HARNESS, encoding="utf-8")
        sources = sorted(name for name in compiled.files if name.endswith(".cc")) + [BATCH_HARNESS_NAME]
        executable = directory / "tinyrig_host_model"
        command = [cc, *HOST_CXXFLAGS, *extra_flags, "-I.", "-o", executable.name, *sources]
        result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        if result.returncode != 0:
            raise HostBuildError(f"{' '.join(command)} failed in {directory}:\n{result.stderr}")
        return cls(compiled=compiled, executable=executable, workdir=directory)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.compiled.input.shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.compiled.output.shape

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run a batch shaped [K, *input_shape]; returns [K, *output_shape]."""
        info_in, info_out = self.compiled.input, self.compiled.output
        batch = np.ascontiguousarray(np.asarray(inputs), dtype=np.dtype(info_in.dtype).newbyteorder("<"))
        if batch.shape[1:] != tuple(info_in.shape) and batch.reshape(batch.shape[0], -1).shape[1] != info_in.elements:
            raise ValueError(f"inputs shaped {batch.shape} do not hold [K, {list(info_in.shape)}]")
        count = batch.shape[0]
        result = subprocess.run([str(self.executable)], input=batch.tobytes(), capture_output=True)
        if result.returncode != 0:
            raise RuntimeError(f"{self.executable} exited with {result.returncode}: {result.stderr.decode(errors='replace')}")
        expected = count * info_out.nbytes
        if len(result.stdout) != expected:
            raise RuntimeError(f"{self.executable} wrote {len(result.stdout)} bytes, expected {expected}")
        out = np.frombuffer(result.stdout, dtype=np.dtype(info_out.dtype).newbyteorder("<"))
        return out.astype(np.dtype(info_out.dtype)).reshape((count, *info_out.shape))
