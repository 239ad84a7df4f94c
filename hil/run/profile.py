"""`tinyrig profile`: exact instructions per layer, measured under QEMU.

The firmware is built in its `profile` environment (TINYRIG_PROFILE=1), where the
generated model calls board_pin_mark() before and after every layer, plus one
empty BEGIN/END pair first. QEMU runs with -icount and tinyrig's pinwatch plugin,
which logs the exact number of executed instructions at each of those stores. For
one inference (`infer 1 0`) the marker log is then

    th_pre | calibration BEGIN, END | layer 0 BEGIN, END | ... | th_post

and a layer's instructions are its END - BEGIN minus the calibration pair's
END - BEGIN (the markers' own call and return), so the counts are the kernel's. The board's
cycle model (docs/cycle-model.md) logs estimated cycles at the same stores, attributed the same
way: per layer its estimated cycles, CPI (cycles per instruction) and share of the layers' cycles.

    report = profile_benchmark(load_board("qemu-mps2-an386"), get_benchmark("kws01"), model_path)
    print(report.render_text())
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.codegen.engine import CompiledModel, compile_model
from tinyrig.hil.dut.client import Dut, DutError, input_file_bytes
from tinyrig.hil.dut.inputs import random_inputs
from tinyrig.hil.run.bench import Bench
from tinyrig.hil.targets.base import Target, TargetSettings
from tinyrig.hil.targets.cycle_model import cycle_model_for, has_core_timing
from tinyrig.hil.targets.registry import choose_target, make_target

if TYPE_CHECKING:  # annotations only
    from tinyrig.hil.targets.cycle_model import CycleModel
    from tinyrig.hil.targets.pinwatch import CycleSplit

PROFILE_ENV = "profile"


class ProfileError(RuntimeError):
    """The profiling run did not produce the expected layer markers."""


@dataclass
class LayerProfile:
    index: int
    op: str
    input_shapes: list[tuple[int, ...]]
    output_shapes: list[tuple[int, ...]]
    macs: int
    instructions: int
    variant: str | None
    note: str = ""
    cycles: int | None = None  # estimated, with the board's cycle model
    # Of `cycles`, instruction fetch waiting on flash: timed as a board whose flash has wait states.
    fetch_stalls: int | None = None
    # Where the layer's constants live in the firmware timed ("RAM": copied at reset, "flash", "-": none),
    # when it was built as a board whose flash has wait states (codegen/firmware.py place_constants).
    constants_in: str | None = None

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    @property
    def cpi(self) -> float | None:
        return self.cycles / self.instructions if self.cycles is not None and self.instructions else None


@dataclass
class ProfileReport:
    board: str
    benchmark: str
    core: str
    layers: list[LayerProfile]
    marker_overhead: int  # instructions of one empty BEGIN/END pair, subtracted from every layer
    window_instructions: int  # th_pre..th_post of the profiling build, markers included
    scratch_bytes: int = 0
    arena_bytes: int = 0
    raw_output: bytes = field(default=b"", repr=False)
    marker_overhead_cycles: int | None = None
    window_cycles: int | None = None
    cycle_model: str | None = None  # whose timing the estimated cycles are
    flash_wait_states: int = 0  # of the board the cycles are timed as

    @property
    def has_cycles(self) -> bool:
        return self.window_cycles is not None

    @property
    def has_fetch_stalls(self) -> bool:
        """Timed as a board whose flash has wait states: each layer's instruction-fetch stalls are shown."""
        return self.has_cycles and self.flash_wait_states > 0 and all(
            layer.fetch_stalls is not None for layer in self.layers)

    @property
    def layer_cycles(self) -> int | None:
        return sum(layer.cycles for layer in self.layers) if self.has_cycles else None

    @property
    def inference_cycles(self) -> int | None:
        if not self.has_cycles:
            return None
        return self.window_cycles - (len(self.layers) + 1) * self.marker_overhead_cycles

    def cycle_share(self, layer: LayerProfile) -> float | None:
        """The layer's part of all layers' estimated cycles."""
        total = self.layer_cycles
        return layer.cycles / total if total and layer.cycles is not None else None

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def layer_instructions(self) -> int:
        return sum(layer.instructions for layer in self.layers)

    @property
    def inference_instructions(self) -> int:
        """The window without the markers: what the same inference costs in a perf build."""
        return self.window_instructions - (len(self.layers) + 1) * self.marker_overhead

    @property
    def instructions_per_mac(self) -> float:
        return self.inference_instructions / self.total_macs if self.total_macs else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("raw_output")
        data.update(total_macs=self.total_macs, layer_instructions=self.layer_instructions,
                    inference_instructions=self.inference_instructions, layer_cycles=self.layer_cycles,
                    inference_cycles=self.inference_cycles)
        for layer, out in zip(self.layers, data["layers"]):
            out.update(cpi=layer.cpi, cycle_share=self.cycle_share(layer))
        return data

    def rows(self) -> list[list[str]]:
        """Table rows (strings): one per layer, then the totals; estimated cycles, CPI and share
        of cycles after instr/MAC when the run had a cycle model."""
        def shapes(items) -> str:
            return ", ".join("x".join(map(str, s)) for s in items)

        def cycle_cells(cycles: int | None, instructions: int, share: float | None,
                        fetch: int | None = None) -> list[str]:
            if not self.has_cycles:
                return []
            cells = [f"{cycles:,}", f"{cycles / instructions:.3f}" if instructions else "-",
                     f"{share:.1%}" if share is not None else ""]
            if self.has_fetch_stalls:
                cells.append(f"{fetch:,}" if fetch is not None else "")
            return cells

        def placement(layer: LayerProfile | None) -> list[str]:
            return [(layer.constants_in or "") if layer else ""] if self.shows_placement else []

        out = []
        for layer in self.layers:
            ipm = layer.instructions_per_mac
            out.append([str(layer.index), layer.op, shapes(layer.input_shapes), shapes(layer.output_shapes),
                        f"{layer.macs:,}", f"{layer.instructions:,}", f"{ipm:.3f}" if ipm is not None else "-",
                        *cycle_cells(layer.cycles, layer.instructions, self.cycle_share(layer), layer.fetch_stalls),
                        *placement(layer), layer.variant or "-"])
        out.append(["", "layers total", "", "", f"{self.total_macs:,}", f"{self.layer_instructions:,}",
                    f"{self.layer_instructions / self.total_macs:.3f}" if self.total_macs else "-",
                    *cycle_cells(self.layer_cycles, self.layer_instructions, 1.0, self.layer_fetch_stalls),
                    *placement(None), ""])
        out.append(["", "inference", "", "", f"{self.total_macs:,}", f"{self.inference_instructions:,}",
                    f"{self.instructions_per_mac:.3f}",
                    *cycle_cells(self.inference_cycles, self.inference_instructions, None), *placement(None),
                    "(window minus markers)"])
        return out

    BASE_HEADERS = ["#", "op", "input", "output", "MACs", "instructions", "instr/MAC"]
    CYCLE_HEADERS = ["est. cycles", "CPI", "share of cycles"]
    FETCH_HEADER = "flash fetch stalls"
    PLACEMENT_HEADER = "constants"
    HEADERS = BASE_HEADERS + ["kernel"]

    @property
    def shows_placement(self) -> bool:
        """Timed as a board whose flash has wait states, with each layer's constants placement known."""
        return self.has_fetch_stalls and all(layer.constants_in is not None for layer in self.layers)

    def headers(self) -> list[str]:
        return (self.BASE_HEADERS + (self.CYCLE_HEADERS if self.has_cycles else [])
                + ([self.FETCH_HEADER] if self.has_fetch_stalls else [])
                + ([self.PLACEMENT_HEADER] if self.shows_placement else []) + ["kernel"])

    NUMERIC = {"#", "MACs", "instructions", "instr/MAC", "est. cycles", "CPI", "share of cycles", FETCH_HEADER}

    @property
    def layer_fetch_stalls(self) -> int | None:
        return sum(layer.fetch_stalls for layer in self.layers) if self.has_fetch_stalls else None

    def render_text(self) -> str:
        headers = self.headers()
        rows = [headers] + self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
        lines = [f"{self.benchmark} on {self.board} ({self.core}): exact instructions under QEMU -icount"]
        for n, row in enumerate(rows):
            lines.append("  ".join(cell.rjust(w) if headers[i] in self.NUMERIC and i else cell.ljust(w)
                                   for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
            if n == 0 or n == len(rows) - 3:
                lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        if self.has_cycles:
            lines.append(f"est. cycles: {self.cycle_model}")
        lines.append(f"marker overhead per layer: {self.marker_overhead} instructions (subtracted); "
                     f"scratch {self.scratch_bytes:,} B beside a {self.arena_bytes:,} B arena")
        return "\n".join(lines)


@dataclass
class Inference:
    raw_output: bytes  # the output tensor's bytes (`tinyrig raw`)
    instructions: int  # th_pre..th_post: exactly one inference (plus the input staging copy)
    cycles: int | None = None  # th_pre..th_post estimated cycles, with a cycle model
    cycle_split: CycleSplit | None = None


def _load(dut: Dut, data: bytes, folder: Path, name: str) -> None:
    """Semihosting file load when the firmware offers it (fast), else `db` commands."""
    if "load" in dut.capabilities():
        path = folder / name
        path.write_bytes(input_file_bytes(data))
        dut.fast_load(str(path))
    else:
        dut.load(data)


def _profiling_target(board: Board, folder: Path, cycle_model: CycleModel | None = None) -> Target:
    """The board's own emulator from the registry; profiling needs its instruction-exact markers."""
    return make_target(board, None, TargetSettings(marker_log=folder / "markers.txt", workdir=folder / "target",
                                                   cycle_model=cycle_model))


def run_inferences(board: Board, elf: Path, inputs: list[bytes], *, timeout_s: float = 600.0,
                   cycle_model: CycleModel | None = None) -> list[Inference]:
    """Runs `infer 1 0` once per input under the board's emulator; raw outputs and exact instruction
    counts, and estimated cycles with a `cycle_model` (tinyrig.hil.targets.cycle_model, QEMU)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="tinyrig-infer-") as tmp:
        folder = Path(tmp)
        with Bench(_profiling_target(board, folder, cycle_model), elf) as bench:
            run, dut = bench.run, bench.dut
            try:
                bench.handshake()
                for n, data in enumerate(inputs):
                    _load(dut, data, folder, f"input-{n}.bin")
                    run.new_window_marks()
                    dut.infer(1, 0, timeout_s=timeout_s)
                    marks = run.new_window_marks() if run.markers else []
                    result = Inference(dut.raw_output(),
                                       marks[-1].instructions - marks[0].instructions if len(marks) >= 2 else -1)
                    if cycle_model is not None and len(marks) >= 2:
                        result.cycles = marks[-1].cycles - marks[0].cycles
                        result.cycle_split = marks[-1].cycle_split - marks[0].cycle_split
                    results.append(result)
            except DutError as exc:
                raise bench.explain(exc) from None
    return results


def layer_counts(marks: list[int], layer_count: int) -> tuple[list[int], int, int]:
    """Per-layer instructions, the marker overhead and the window, from the instruction
    counts of the marker stores of one profiled inference (see the module docstring)."""
    expected = 4 + 2 * layer_count
    if len(marks) != expected:
        raise ProfileError(f"{len(marks)} marker stores for one inference, expected {expected} "
                           f"(th_pre, a calibration pair, {layer_count} layer pairs, th_post); "
                           "was the firmware built with TINYRIG_PROFILE=1?")
    overhead = marks[2] - marks[1]
    pairs = marks[3:-1]
    # A layer with no code (RESHAPE aliases its input) can come out a count or two under the
    # calibration pair, whose stores the compiler schedules slightly differently: never below 0.
    counts = [max(0, pairs[2 * i + 1] - pairs[2 * i] - overhead) for i in range(layer_count)]
    return counts, overhead, marks[-1] - marks[0]


def profile_elf(board: Board, benchmark: Benchmark, elf: Path, compiled: CompiledModel, *,
                input_data: bytes | None = None, timeout_s: float = 600.0,
                cycle_model: CycleModel | None = None) -> ProfileReport:
    """Runs one inference of a profiling build under QEMU and attributes its instructions (and,
    with a `cycle_model`, its estimated cycles)."""
    if input_data is None:
        input_data = random_inputs(benchmark, 1, seed=0, input_scale=compiled.input.scale,
                                   input_zero_point=compiled.input.zero_point)[0].data
    with tempfile.TemporaryDirectory(prefix="tinyrig-profile-") as tmp:
        with Bench(_profiling_target(board, Path(tmp), cycle_model), elf) as bench:
            run, dut = bench.run, bench.dut
            if getattr(run, "markers", None) is None:
                raise ProfileError(f"{board.name} has no timestamp pin to carry layer markers")
            try:
                bench.handshake()
                _load(dut, input_data, Path(tmp), "input.bin")
                run.new_window_marks()  # drop anything stored before this inference
                dut.infer(1, 0, timeout_s=timeout_s)
                raw = dut.raw_output() if "raw" in dut.capabilities() else b""
            except DutError as exc:
                raise bench.explain(exc) from None
            stores = run.new_window_marks()
    counts, overhead, window = layer_counts([m.instructions for m in stores], len(compiled.layers))
    # Cycles are attributed exactly as instructions are: the same stores, the same subtraction.
    cycles: tuple[list, int | None, int | None] = ([None] * len(counts), None, None)
    fetch: list[int | None] = [None] * len(counts)
    if cycle_model is not None and all(m.cycles is not None for m in stores):
        cycles = layer_counts([m.cycles for m in stores], len(compiled.layers))
        if all(m.cycle_split is not None for m in stores):
            fetch = layer_counts([m.cycle_split.fetch for m in stores], len(compiled.layers))[0]
    layers = [
        LayerProfile(index=info.index, op=info.op, input_shapes=info.input_shapes, output_shapes=info.output_shapes,
                     macs=info.macs, instructions=count, variant=info.variant, note=info.note, cycles=layer_cycles,
                     fetch_stalls=layer_fetch)
        for info, count, layer_cycles, layer_fetch in zip(compiled.layers, counts, cycles[0], fetch)
    ]
    return ProfileReport(board=board.name, benchmark=benchmark.id, core=compiled.core, layers=layers,
                         marker_overhead=overhead, window_instructions=window, scratch_bytes=compiled.scratch_bytes,
                         arena_bytes=compiled.arena_bytes, raw_output=raw, marker_overhead_cycles=cycles[1],
                         window_cycles=cycles[2],
                         cycle_model=cycle_model.describe() if cycles[2] is not None else None,
                         flash_wait_states=cycle_model.flash_wait_states if cycle_model is not None else 0)


def profile_benchmark(board: Board, benchmark: Benchmark, model_path: Path, *,
                      input_data: bytes | None = None, cycles: bool = True,
                      timing: CycleModel | None = None, code_for: Board | None = None) -> ProfileReport:
    """Generates and builds the profiling firmware for `benchmark` on `board`, then profiles it;
    with `cycles` (QEMU boards) the board's cycle model estimates cycles per layer too. `timing`
    (cycle_model_for(board, timing=mcu): a real MCU of the same core) times the layers as that MCU
    instead: its clock, flash wait states and accelerator; `code_for` builds the firmware as that
    board would (hil/run/predict.py firmware_for decides it)."""
    from tinyrig.build.firmware_cache import prepare_firmware  # builds with PlatformIO: import on use

    model = timing
    if model is None and cycles and choose_target(board).kind == "qemu" and has_core_timing(board.core):
        model = cycle_model_for(board)  # else instructions only, as with --no-cycles
    firmware = prepare_firmware(board, benchmark, Path(model_path), env_name=PROFILE_ENV, code_for=code_for)
    # The same compile the firmware generator ran (codegen/firmware.py), for layer facts.
    compiled = compile_model(Path(model_path).read_bytes(), core=board.core)
    report = profile_elf(board, benchmark, firmware.build.elf, compiled, input_data=input_data, cycle_model=model)
    if report.flash_wait_states:
        project = firmware.project
        for layer, info in zip(report.layers, compiled.layers, strict=True):  # profile_elf's order
            moved = project.constants_in_ram or layer.index in project.ram_constant_layers
            layer.constants_in = "-" if not info.param_bytes else "RAM" if moved else "flash"
    return report
