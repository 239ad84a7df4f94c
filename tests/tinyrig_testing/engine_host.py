"""Build many engine-compiled models into ONE host executable and run them.

Compiling one executable per model costs a kernel-runtime compile, a link and a
process start per model; the fuzz suite runs hundreds, so this harness links a whole
batch together:

* the kernel runtime files (identical for every model; checked) are compiled once
  per batch, or once per process when the same ``obj_cache`` dir is reused;
* each model's ``tinyrig_model.cc`` is compiled in its own directory (it includes
  its own ``tinyrig_model.h``) with its public ``extern "C"`` functions renamed by
  ``-D`` to ``<prefix>_<name>``, so the models' symbols do not clash (everything
  else in a generated model has internal linkage);
* a generated ``main`` reads requests ``(model index, count, inputs...)`` on stdin
  and writes the outputs on stdout.

A model whose code crashes the executable is reported as crashed and the batch goes
on without it.  Because models share one process, a mismatch found here is
confirmed by rebuilding that model alone (``HostBatch([m])``), optionally with
sanitizers.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

DEFAULT_CFLAGS = ("-O2", "-std=c++17", "-Wall", "-Wextra")
SANITIZE_FLAGS = ("-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer")


class HostBuildError(RuntimeError):
    pass


def _model_functions(header: str) -> dict[str, str]:
    """The generated API's functions, by role (input / output / invoke)."""
    names = re.findall(r"^[\w\s\*]*?\b(\w+)\s*\(\s*void\s*\)\s*;", header, re.M)
    roles = {}
    for role in ("input", "output", "invoke"):
        found = [n for n in names if n.endswith(role)]
        if len(found) != 1:
            raise HostBuildError(f"cannot find the model's {role} function in tinyrig_model.h: {names}")
        roles[role] = found[0]
    return roles


class HostBatch:
    """Several ``CompiledModel`` objects linked into one host executable."""

    def __init__(self, compiled: list, workdir: str | os.PathLike | None = None, *,
                 cc: str = "g++", cflags=DEFAULT_CFLAGS, jobs: int | None = None,
                 obj_cache: str | os.PathLike | None = None):
        self.compiled = list(compiled)
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tinyrig_hostbatch_")
            workdir = self._tmp.name
        self.dir = Path(workdir)
        self.cc = cc
        self.cflags = list(cflags)
        self.jobs = jobs or os.cpu_count() or 1
        self.obj_cache = Path(obj_cache) if obj_cache else self.dir / "objcache"
        self.exe: Path | None = None

    # -- build ---------------------------------------------------------------------------
    def _compile(self, src: Path, obj: Path, extra=()) -> None:
        cmd = [self.cc, *self.cflags, *extra, "-c", str(src), "-o", str(obj)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise HostBuildError(f"{' '.join(cmd)}\n{r.stderr[-4000:]}")
        # Issue 4 §4: generated code builds warning-free with -Wall -Wextra.
        self.warnings.extend(line for line in r.stderr.splitlines() if "warning:" in line)

    def build(self) -> "HostBatch":
        self.warnings: list[str] = []
        self._runtime_objs: list[Path] = []
        rt = self.dir / "runtime"
        rt.mkdir(parents=True, exist_ok=True)
        self.obj_cache.mkdir(parents=True, exist_ok=True)
        runtime: dict[str, str] = {}
        for cm in self.compiled:
            for name, text in cm.files.items():
                if name.startswith("tinyrig_model."):
                    continue
                if runtime.setdefault(name, text) != text:
                    raise HostBuildError(f"runtime file {name} differs between models; "
                                         "cannot link them into one executable")
        for name, text in runtime.items():
            (rt / name).write_text(text)

        jobs = []  # (src, obj, extra flags)
        flags_key = " ".join([self.cc, *self.cflags])
        for name, text in runtime.items():
            if name.endswith(".cc"):
                h = hashlib.sha256((flags_key + "\0" + "".join(
                    runtime[n] for n in sorted(runtime) if n.endswith(".h")) + text).encode()).hexdigest()[:20]
                obj = self.obj_cache / f"{Path(name).stem}-{h}.o"
                if not obj.exists():
                    jobs.append((rt / name, obj, ()))
                self._runtime_objs.append(obj)
        self.functions = []
        for i, cm in enumerate(self.compiled):
            md = self.dir / f"m{i}"
            md.mkdir(exist_ok=True)
            (md / "tinyrig_model.h").write_text(cm.files["tinyrig_model.h"])
            (md / "tinyrig_model.cc").write_text(cm.files["tinyrig_model.cc"])
            roles = _model_functions(cm.files["tinyrig_model.h"])
            renames = {name: f"m{i}_{role}" for role, name in roles.items()}
            self.functions.append({role: renames[name] for role, name in roles.items()})
            defs = [f"-D{old}={new}" for old, new in renames.items()]
            jobs.append((md / "tinyrig_model.cc", md / "model.o", ("-I", str(md), "-I", str(rt), *defs)))
        with cf.ThreadPoolExecutor(self.jobs) as ex:
            for f in [ex.submit(self._compile, *j) for j in jobs]:
                f.result()

        main = self.dir / "main.cc"
        main.write_text(self._driver())
        self.exe = self.dir / "fuzz_batch"
        objs = [str(self.dir / f"m{i}" / "model.o") for i in range(len(self.compiled))]
        cmd = [self.cc, *self.cflags, str(main), *objs, *map(str, self._runtime_objs),
               "-o", str(self.exe)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise HostBuildError(f"link failed:\n{r.stderr[-4000:]}")
        return self

    def _driver(self) -> str:
        decls, rows = [], []
        for i, (fn, cm) in enumerate(zip(self.functions, self.compiled)):
            decls.append(f'extern "C" void* {fn["input"]}(void);\n'
                         f'extern "C" const void* {fn["output"]}(void);\n'
                         f'extern "C" void {fn["invoke"]}(void);')
            rows.append(f'  {{{fn["input"]}, {fn["output"]}, {fn["invoke"]}, '
                        f'{cm.input.nbytes}u, {cm.output.nbytes}u}},')
        return f"""// Generated by tests/tinyrig_testing/engine_host.py: runs a batch of compiled models.
#include <cstdint>
#include <cstdio>

{chr(10).join(decls)}

struct Model {{
  void* (*input)(void);
  const void* (*output)(void);
  void (*invoke)(void);
  unsigned in_bytes, out_bytes;
}};

static const Model kModels[] = {{
{chr(10).join(rows)}
}};

// Requests on stdin: uint32 model index, uint32 count, then count inputs; each
// output is written to stdout as soon as it is computed.
int main() {{
  uint32_t header[2];
  while (std::fread(header, sizeof(uint32_t), 2, stdin) == 2) {{
    if (header[0] >= sizeof(kModels) / sizeof(kModels[0])) return 3;
    const Model& m = kModels[header[0]];
    for (uint32_t k = 0; k < header[1]; ++k) {{
      if (std::fread(m.input(), 1, m.in_bytes, stdin) != m.in_bytes) return 2;
      m.invoke();
      if (std::fwrite(m.output(), 1, m.out_bytes, stdout) != m.out_bytes) return 4;
    }}
    std::fflush(stdout);
  }}
  return 0;
}}
"""

    # -- run ---------------------------------------------------------------------------
    def run(self, requests: list[tuple[int, np.ndarray]], timeout: float = 120.0):
        """Run ``[(model index, inputs [K, *input_shape])]``.

        Returns one entry per request: the outputs ``[K, *output_shape]``, or a string
        saying why there are none (the executable crashed or hung on that model).
        """
        if self.exe is None:
            self.build()
        results: list = [None] * len(requests)
        pending = list(range(len(requests)))
        while pending:
            payload = bytearray()
            for r in pending:
                idx, batch = requests[r]
                cm = self.compiled[idx]
                arr = np.ascontiguousarray(batch, dtype=np.dtype(cm.input.dtype))
                assert arr.shape[1:] == tuple(cm.input.shape), (arr.shape, cm.input.shape)
                payload += struct.pack("<II", idx, arr.shape[0]) + arr.tobytes()
            try:
                p = subprocess.run([str(self.exe)], input=bytes(payload), capture_output=True,
                                   timeout=timeout)
                out, rc = p.stdout, p.returncode
                err = p.stderr.decode(errors="replace")[-2000:]
            except subprocess.TimeoutExpired as e:
                out, rc, err = e.stdout or b"", "timeout", ""
            pos, done = 0, 0
            for r in pending:
                idx, batch = requests[r]
                cm = self.compiled[idx]
                n = batch.shape[0] * cm.output.nbytes
                if pos + n > len(out):
                    break
                arr = np.frombuffer(out[pos:pos + n], dtype=np.dtype(cm.output.dtype))
                results[r] = arr.reshape((batch.shape[0], *cm.output.shape)).copy()
                pos += n
                done += 1
            if done == len(pending):
                if rc not in (0,):
                    raise HostBuildError(f"fuzz executable exited with {rc} after all outputs: {err}")
                break
            # The request after the last complete one crashed (or hung): record it, go on.
            bad = pending[done]
            results[bad] = f"host executable died on this model (exit {rc}){': ' + err if err else ''}"
            pending = pending[done + 1:]
        return results

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()


def run_alone(compiled, inputs: np.ndarray, *, sanitize: bool = False, cc: str = "g++"):
    """Build ``compiled`` into its own executable and run it (used to confirm a batch
    mismatch, and with ``sanitize`` to look for memory errors and undefined behaviour)."""
    hb = HostBatch([compiled], cc=cc, cflags=SANITIZE_FLAGS if sanitize else DEFAULT_CFLAGS)
    try:
        return hb.build().run([(0, inputs)])[0]
    finally:
        hb.close()
