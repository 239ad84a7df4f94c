"""Exact instruction counts between firmware "marker" stores, from a QEMU TCG plugin.

The MLPerf Tiny timestamp pin writes (energy mode: low then high; performance mode on emulated
boards: one store) go to one register. The plugin in qemu_plugin/pinwatch.c counts every guest
instruction inline and appends `<instructions> <pc> <address>` to a file at each store to that
register, so differences between lines are run-to-run identical instruction counts, free of the
SysTick phase jitter that timer readings have.

    plugin = build_plugin()
    lo, hi = symbol_range(elf, "th_timestamp")
    cmd = qemu_command(board, elf, plugin_args=plugin_args(plugin, 0x40028000, log_path, (lo, hi)))
    ...
    marks = MarkerLog(log_path).read_new()
    window = marks[1].instructions - marks[0].instructions

Cost (QEMU 7.2, -icount shift=0, int8 MAC loop of 1.57 G instructions, host CPU time): 0.81 s
without the plugin, 1.04 s with it and the memory callback limited to the marker function
(+28%, the per-instruction counting), 1.35 s with the callback on every instruction (+66%).

With a cycle model (tinyrig.hil.targets.cycle_model, `cycles=` argument) each line also carries the
estimated cycles so far and their split (MarkerStore.cycles, MarkerStore.cycle_split).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Sequence

from tinyrig.hil.targets.processes import LineTail
from tinyrig.paths import cache_dir as default_cache_dir
from tinyrig.hil.targets.base import TargetError

PLUGIN_DIR = Path(__file__).parent / "qemu_plugin"
# The plugin's translation units; every .h next to them is hashed too (they are included).
PLUGIN_SOURCES = ("pinwatch.c", "cycle_model.c", "thumb_decode.c")
CFLAGS = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra"]


class PinwatchError(TargetError):
    """The plugin could not be built, or an ELF symbol could not be found."""


def _plugin_files(plugin_dir: Path) -> dict[str, bytes]:
    names = sorted({*PLUGIN_SOURCES, *(p.name for p in plugin_dir.glob("*.h"))})
    try:
        return {name: (plugin_dir / name).read_bytes() for name in names}
    except FileNotFoundError as exc:
        raise PinwatchError(f"QEMU plugin source missing: {exc.filename}") from None


def build_plugin(cache_dir: Path | None = None, plugin_dir: Path | None = None) -> Path:
    """Compile the plugin with the host gcc into the cache and return the .so path.

    The file name carries a hash of the sources, headers and flags, so it is rebuilt only when
    they change. The hashed bytes are compiled from a private copy (not whatever the files hold
    by then), and the library is written to a temporary name and renamed into place, so
    concurrent builders never see (or load) a half-written file.
    """
    plugin_dir = Path(plugin_dir) if plugin_dir is not None else PLUGIN_DIR
    files = _plugin_files(plugin_dir)
    digest = hashlib.sha256(" ".join(CFLAGS).encode())
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    key = digest.hexdigest()[:16]
    out_dir = (cache_dir if cache_dir is not None else default_cache_dir()) / "qemu_plugin"
    target = out_dir / f"pinwatch-{key}.so"
    if target.exists():
        return target
    gcc = shutil.which("gcc")
    if gcc is None:
        raise PinwatchError("host C compiler 'gcc' not found on PATH (Debian package: gcc); "
                            "it is needed to build the QEMU pinwatch plugin")
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".pinwatch-", suffix=".so", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(prefix="tinyrig-plugin-") as src:
            for name, data in files.items():
                (Path(src) / name).write_bytes(data)
            proc = subprocess.run([gcc, *CFLAGS, *(str(Path(src) / n) for n in PLUGIN_SOURCES), "-o", str(tmp)],
                                  capture_output=True)
            if proc.returncode != 0:
                errors = proc.stderr.decode(errors="replace").replace(src, str(plugin_dir))
                raise PinwatchError(f"gcc failed to compile the QEMU plugin in {plugin_dir}:\n{errors}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _qemu_opt(value: object) -> str:
    # QEMU option values are comma-separated; a literal comma is written twice.
    return str(value).replace(",", ",,")


MAX_REGISTERS = 4  # MAX_ADDRS in pinwatch.c


def plugin_args(plugin: Path, register: int | Sequence[int], out: Path, pc_range: tuple[int, int] | None = None,
                skip_range: tuple[int, int] | None = None, cycles: Path | None = None) -> list[str]:
    """QEMU command-line arguments that load the plugin watching stores to `register` (one
    address or several: each 4-byte register is watched).

    QEMU 7.2 takes plugin arguments as `key=value` after the file (`arg=` is deprecated), and the
    plugin writes `out` itself, so no `-d plugin` is needed. The plugin appends to `out`: give
    each run a fresh file. `pc_range` = [lo, hi) limits the costly per-store callback to the code
    that writes the marker (see symbol_range); every instruction is counted regardless.
    `cycles` is a cycle-model parameter file (CycleModel.write) that turns on estimated cycles.
    """
    registers = list(dict.fromkeys([register] if isinstance(register, int) else register))
    if not 1 <= len(registers) <= MAX_REGISTERS:
        raise ValueError(f"pinwatch watches 1 to {MAX_REGISTERS} registers, got {len(registers)}")
    opts = [f"file={_qemu_opt(Path(plugin).resolve())}", *(f"addr={r:#x}" for r in registers),
            f"out={_qemu_opt(Path(out).resolve())}"]
    if pc_range is not None:
        lo, hi = pc_range
        if not 0 <= lo < hi:
            raise ValueError(f"empty pc range [{lo:#x}, {hi:#x})")
        opts += [f"pc_lo={lo:#x}", f"pc_hi={hi:#x}"]
    if skip_range is not None:
        # Instructions in [lo, hi) are not counted (the timer's wrap interrupt handler).
        lo, hi = skip_range
        opts += [f"skip_lo={lo:#x}", f"skip_hi={hi:#x}"]
    if cycles is not None:
        opts.append(f"cycles={_qemu_opt(Path(cycles).resolve())}")
    return ["-plugin", ",".join(opts)]


def symbol_range(elf: Path, *names: str) -> tuple[int, int]:
    """[lo, hi) covering the named functions (raw, unmangled-as-linked names) in `elf`.

    Uses `arm-none-eabi-nm -S` for address and size. With several names (or several local
    symbols of one name) the range spans everything between them, so pass functions that are
    the ones doing the marker stores and ideally adjacent.
    """
    if not names:
        raise ValueError("symbol_range needs at least one symbol name")
    nm = shutil.which("arm-none-eabi-nm")
    if nm is None:
        raise PinwatchError("arm-none-eabi-nm not found on PATH (Debian package: binutils-arm-none-eabi)")
    proc = subprocess.run([nm, "-S", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PinwatchError(f"arm-none-eabi-nm -S {elf} failed: {proc.stderr.strip()}")
    spans: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for line in proc.stdout.splitlines():
        fields = line.split()
        # Only symbols with a size have four fields: address size type name.
        if len(fields) == 4 and fields[3] in spans:
            start = int(fields[0], 16) & ~1  # drop the Thumb bit if the tool kept it
            spans[fields[3]].append((start, start + int(fields[1], 16)))
    missing = [name for name, found in spans.items() if not found]
    if missing:
        raise PinwatchError(f"no sized symbol {', '.join(missing)} in {elf} (nm -S lists functions with their size)")
    found = [span for spans_of_name in spans.values() for span in spans_of_name]
    return min(lo for lo, _ in found), max(hi for _, hi in found)


@dataclass(frozen=True)
class CycleSplit:
    """Where estimated cycles went: loads/stores (with their unaligned and flash-data stalls),
    multiplies (MUL/MLA/SMLAD..., FP and Helium multiply-accumulates), branches (with the
    pipeline refills), flash instruction-fetch stalls, and everything else."""

    load_store: int
    multiply: int
    branch: int
    fetch: int
    other: int

    def __sub__(self, before: "CycleSplit") -> "CycleSplit":
        return CycleSplit(*(a - b for a, b in zip(astuple(self), astuple(before))))


@dataclass(frozen=True)
class MarkerStore:
    """One store to the marker register: instructions executed so far (this store included),
    and with a cycle model the estimated cycles so far and their split."""

    instructions: int
    pc: int
    address: int
    cycles: int | None = None
    cycle_split: CycleSplit | None = None


class MarkerLog:
    """Tails the plugin's output file, returning only stores not returned before.

    QEMU may be mid-way through writing a line when we read, so an unterminated last line is
    kept back until its newline arrives. A file that does not exist yet reads as empty.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._tail = LineTail(self.path)

    def read_new(self) -> list[MarkerStore]:
        lines = self._tail.read_new_lines()
        stores = []
        for line in lines:
            fields = line.split()
            try:
                if len(fields) == 3:
                    count, pc, address = fields
                    stores.append(MarkerStore(int(count), int(pc, 16), int(address, 16)))
                elif len(fields) == 8:
                    count, pc, address, cycles, *split = fields
                    parts = [int(v) for v in split]
                    total = int(cycles)
                    stores.append(MarkerStore(int(count), int(pc, 16), int(address, 16), total,
                                              CycleSplit(*parts, other=total - sum(parts))))
                else:
                    raise ValueError
            except ValueError:
                raise PinwatchError(f"{self.path}: malformed pinwatch line {line!r}") from None
        return stores
