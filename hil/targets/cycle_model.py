"""Estimated cycles under QEMU: the core and board data behind the pinwatch plugin's cycle model.

QEMU counts instructions; the plugin (qemu_plugin/cycle_model.c) also charges each executed
instruction by its core's documented timing and logs estimated cycles at every marker store,
beside the instruction count. The numbers come from data files, each value with its source:
the core's in qemu_plugin/cores/<core>.toml, the flash's (wait states, accelerator) in the
board's `[timing]` table. This module turns them into the plugin's parameter file.

    model = cycle_model_for(load_board("qemu-mps2-an386"))                  # zero wait states
    target = QemuTarget(board, marker_log=log, cycle_model=model)
    marks = run.new_window_marks()
    cycles = marks[1].cycles - marks[0].cycles

    # the same emulated run timed as a real MCU: its clock, flash wait states and accelerator
    predicted = cycle_model_for(load_board("qemu-mps2-an386"), timing=load_board("nucleo-l4r5zi"))
    predicted.seconds(cycles)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tinyrig.boards import Board

CORES_DIR = Path(__file__).parent / "qemu_plugin" / "cores"

# The instruction kinds of qemu_plugin/thumb_decode.h, as the plugin names them (a test keeps the
# two lists equal).
KINDS = (
    "alu", "mul", "mul_long", "div", "nop", "it", "load", "store", "load_dual", "store_dual",
    "load_multi", "store_multi", "branch", "branch_cond", "cbz", "branch_reg", "table_branch",
    "preload", "barrier", "sysreg", "wait", "exception", "fp_alu", "fp_mac", "fp_div", "fp_load",
    "fp_store", "fp_load_multi", "fp_store_multi", "fp_mov_core", "fp_mov_core2", "mve_load_store",
    "mve_int", "mve_mul", "mve_sys", "loop_start", "loop_end", "unknown",
)
# The pipeline rules of qemu_plugin/cycle_model.h (cm_params).
PIPELINE = (
    "branch_refill", "load_pipelining", "agu_stall", "load_use_stall", "mul_use_stall", "it_folding",
    "unaligned_two_part", "unaligned_three_part", "literal_load_extra", "fp_double_extra",
    "mve_beat_cycles", "dual_issue", "loop_end_cached",
)


class CycleModelError(ValueError):
    """A core data file or a board's timing is missing or invalid."""


@dataclass(frozen=True)
class CoreTiming:
    """One core's data file: cycles per instruction kind and pipeline rule, each with its source."""

    core: str
    description: str
    cycles: dict[str, int]  # "cost.<kind>" and the pipeline keys
    sources: dict[str, str]
    path: Path


def has_core_timing(core: str, cores_dir: Path = CORES_DIR) -> bool:
    """Whether the cycle model has timing data for `core`. A board of a core without it (a
    Cortex-M3 on mps2-an385 is a valid board) runs and profiles with instruction counts only, as
    under --no-cycles, instead of failing for want of an estimate nobody asked for by name."""
    return (Path(cores_dir) / f"{core}.toml").is_file()


def timed_cores(cores_dir: Path = CORES_DIR) -> list[str]:
    """The cores the cycle model has timing data for, e.g. ['cortex-m33', 'cortex-m4', ...]."""
    return sorted(p.stem for p in Path(cores_dir).glob("*.toml"))


def _read_core_file(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        timed = ", ".join(timed_cores(path.parent))
        raise CycleModelError(f"{path.stem}: the cycle model has no timing data for this core (it has: {timed}; "
                              f"no {path})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CycleModelError(f"{path}: not valid TOML: {exc}") from None


def _entries(path: Path, data: dict, table: str, allowed: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    section = data.get(table, {})
    if not isinstance(section, dict):
        raise CycleModelError(f"{path}: [{table}] must be a table")
    out = {}
    for key, entry in section.items():
        where = f"{path}: field '{table}.{key}'"
        if key not in allowed:
            raise CycleModelError(f"{where}: unknown; allowed: {', '.join(allowed)}")
        if not isinstance(entry, dict) or set(entry) != {"cycles", "source"}:
            raise CycleModelError(f"{where}: must be {{ cycles = n, source = \"...\" }}")
        cycles, source = entry["cycles"], entry["source"]
        if isinstance(cycles, bool) or not isinstance(cycles, int) or not 0 <= cycles <= 0xFFFF:
            raise CycleModelError(f"{where}: cycles must be an integer 0..65535, got {cycles!r}")
        if not isinstance(source, str) or not source.strip():
            raise CycleModelError(f"{where}: source must name where the value comes from")
        out[key] = (cycles, source)
    return out


def load_core_timing(core: str, cores_dir: Path = CORES_DIR, _seen: tuple[str, ...] = ()) -> CoreTiming:
    """Reads cores/<core>.toml, on top of the file it names in `inherit` if any."""
    path = Path(cores_dir) / f"{core}.toml"
    if core in _seen:
        raise CycleModelError(f"{path}: 'inherit' loops back to {core}")
    data = _read_core_file(path)
    unknown = sorted(set(data) - {"core", "description", "inherit", "cost", "pipeline"})
    if unknown:
        raise CycleModelError(f"{path}: unknown field '{unknown[0]}'; allowed: core, description, inherit, cost, pipeline")
    if data.get("core") != core:
        raise CycleModelError(f"{path}: field 'core' is {data.get('core')!r} but the file is named {core}.toml")
    cycles: dict[str, int] = {}
    sources: dict[str, str] = {}
    if "inherit" in data:
        base = load_core_timing(str(data["inherit"]), cores_dir, _seen + (core,))
        cycles.update(base.cycles)
        sources.update({key: f"{base.core}: {text}" for key, text in base.sources.items()})
    for table, allowed, prefix in (("cost", KINDS, "cost."), ("pipeline", PIPELINE, "")):
        for key, (value, source) in _entries(path, data, table, allowed).items():
            cycles[prefix + key] = value
            sources[prefix + key] = source
    missing = [f"cost.{k}" for k in KINDS if f"cost.{k}" not in cycles] + [k for k in PIPELINE if k not in cycles]
    if missing:
        raise CycleModelError(f"{path}: no value for '{missing[0]}' (every kind and pipeline rule needs one, or an 'inherit')")
    return CoreTiming(core=core, description=str(data.get("description", "")), cycles=cycles, sources=sources, path=path)


@dataclass(frozen=True)
class CycleModel:
    """The parameters of one estimate: a core's timing, the clock and flash of the board whose
    timing is modelled, and the address range (the emulated board's flash) that flash timing
    applies to."""

    core: CoreTiming
    clock_hz: int
    timing_board: str
    flash_region: tuple[int, int]
    flash_wait_states: int = 0
    flash_read_bytes: int = 8
    flash_prefetch: bool = False
    icache: tuple[int, int] = (0, 0)  # lines (sets), ways
    dcache: tuple[int, int] = (0, 0)
    cache_unified: bool = False  # constant reads share the instruction cache (then no dcache)
    # False: the instruction cache is filled on misses only (the literal reading of RM0432 3.3.4);
    # True: lines taken from the prefetch buffer enter it too. The board's [timing] says which
    # (flash_icache_fills_on_prefetch); --predict also reports the other reading as a bound.
    cache_prefetched: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)

    def params(self) -> dict[str, int]:
        """The plugin's `key value` parameters (cm_params in qemu_plugin/cycle_model.h)."""
        out = dict(self.core.cycles)
        if self.flash_wait_states:
            lo, hi = self.flash_region
            out.update(flash_lo=lo, flash_hi=hi, flash_wait_states=self.flash_wait_states,
                       flash_read_bytes=self.flash_read_bytes, flash_prefetch=int(self.flash_prefetch),
                       flash_cache_prefetched=int(self.cache_prefetched),
                       icache_sets=self.icache[0], icache_ways=self.icache[1],
                       dcache_sets=self.dcache[0], dcache_ways=self.dcache[1],
                       cache_unified=int(self.cache_unified))
        return out

    def write(self, path: Path) -> Path:
        """Writes the parameter file the plugin reads (cycles=PATH), with where each value came from."""
        path = Path(path)
        lines = [f"# tinyrig cycle model: {self.core.core} timed as {self.timing_board} at {self.clock_hz} Hz",
                 f"# core data: {self.core.path}", *(f"# {note}" for note in self.notes)]
        for key, value in self.params().items():
            source = self.core.sources.get(key, "board [timing]")
            lines.append(f"{key} {value}  # {source}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def describe(self) -> str:
        """One line saying whose timing the estimate is (stored beside estimated cycles)."""
        text = (f"{self.core.core} timed as {self.timing_board} at {self.clock_hz / 1e6:g} MHz, "
                f"{self.flash_wait_states} flash wait state{'s' if self.flash_wait_states != 1 else ''}")
        if self.prefetch_reading_matters:
            text += f", prefetched lines {'' if self.cache_prefetched else 'not '}cached"
        return text

    @property
    def prefetch_reading_matters(self) -> bool:
        """Whether cache_prefetched changes anything: flash with wait states, prefetch and an
        instruction cache."""
        return bool(self.flash_wait_states and self.flash_prefetch and self.icache[0])

    def seconds(self, cycles: float) -> float:
        """Cycles as time at the modelled board's clock."""
        return cycles / self.clock_hz


def cycle_model_for(board: Board, timing: Board | None = None, cores_dir: Path = CORES_DIR) -> CycleModel:
    """The cycle model for firmware running on `board` (under QEMU), timed as `timing` (default:
    the board itself): the timing board's clock, flash wait states and accelerator, applied to
    `board`'s flash region, where the firmware's code and constants live."""
    timing = timing or board
    if timing.core != board.core:
        raise CycleModelError(f"board {timing.name} has a {timing.core} but the firmware runs on {board.name}'s "
                              f"{board.core}: time it with a board of the same core")
    flash = timing.timing
    if flash is None:
        if not timing.is_emulated:
            raise CycleModelError(f"board {timing.name} has no [timing] table: its flash wait states are unknown "
                                  f"(add one to {timing.path or timing.name + '.toml'})")
        notes: tuple[str, ...] = ("flash: emulated board without [timing], zero wait states",)
        return CycleModel(core=load_core_timing(board.core, cores_dir), clock_hz=timing.clock_hz,
                          timing_board=timing.name, flash_region=(board.flash.base, board.flash.end), notes=notes)
    return CycleModel(
        core=load_core_timing(board.core, cores_dir), clock_hz=timing.clock_hz, timing_board=timing.name,
        flash_region=(board.flash.base, board.flash.end), flash_wait_states=flash.flash_wait_states,
        flash_read_bytes=flash.flash_read_bytes, flash_prefetch=flash.flash_prefetch,
        icache=(flash.flash_icache_lines, flash.flash_icache_ways),
        dcache=(flash.flash_dcache_lines, flash.flash_dcache_ways), cache_unified=flash.flash_cache_unified,
        cache_prefetched=flash.flash_icache_fills_on_prefetch,
        notes=(f"flash: {flash.source}",))
