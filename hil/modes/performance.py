"""Performance mode: 5 windows on 5 inputs, N timed inferences after W warm-ups each; median.

Latency per window = (end - start of `m-lap-us`) / N. Where the firmware offers tinyrig's
`ticks` extension, the window is also read in raw timer ticks, which under an emulator that
runs a fixed number of instructions per virtual second (QEMU `-icount shift=S`: 1e9 / 2**S;
Renode: the CPU's MIPS setting) are instruction counts: instructions = ticks * ips / timer_hz.
Where the target watches the window markers (tinyrig's QEMU plugin) the count is exact, and
with a cycle model (docs/cycle-model.md) each window also records estimated cycles per inference:
a model of the core's timing, exact and equal over reruns, turned into an estimated latency at
the clock of the board whose timing it models.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Callable

from tinyrig.benchmarks import Benchmark
from tinyrig.hil.dut.client import Dut, DutError
from tinyrig.hil.dut.inputs import Input
from tinyrig.hil.dut.reference import ReferenceModel
from tinyrig.hil.modes.base import Mode, ModeContext
from tinyrig.hil.modes.deadline import InferDeadline
from tinyrig.hil.modes.window_length import calibrate
from tinyrig.hil.results.schema import PerformanceSummary, PerformanceValidity, PerformanceWindow

if TYPE_CHECKING:  # annotations only
    from tinyrig.hil.targets.cycle_model import CycleModel

WINDOWS = 5
MIN_WINDOW_S = 10.0
MIN_ITERATIONS = 10


# The records are the results schema's (hil/results/schema.py): a mode fills them, results.json keeps them.
Window = PerformanceWindow


MarkSource = Callable[[], list]


def run_window(dut: Dut, index: int, item: Input, *, iterations: int, warmup: int,
               instructions_per_second: float | None, reference: ReferenceModel | None, infer_timeout_s: float,
               marks: MarkSource | None = None, load: Callable[[Dut, bytes], None] | None = None,
               deadline: InferDeadline | None = None) -> Window:
    started = time.monotonic()
    if marks is not None:
        marks()  # drop anything stored before this window
    (load or Dut.load)(dut, item.data)
    result = (deadline or InferDeadline(infer_timeout_s)).infer(dut, iterations, warmup)
    if result.window_us is None:
        raise DutError("the answer had no pair of m-lap-us timestamps (is this an energy-mode build?)",
                       f"infer {iterations} {warmup}", result.lines)
    results_line = next(line for line in result.lines if line.startswith("m-results-"))
    scores = results_line[results_line.index("[") + 1 : results_line.rindex("]")].split(",")
    window = Window(index=index, input=item.name, iterations=iterations, warmup=warmup,
                    lap_us=list(result.lap_us[-2:]), latency_us=result.window_us / iterations, scores=scores)
    caps = dut.capabilities()
    if "ticks" in caps:
        start, end, hz = dut.window_ticks()
        window.ticks, window.timer_hz = end - start, hz
        if instructions_per_second is not None:
            window.instructions = window.ticks * instructions_per_second / hz / iterations
            window.instructions_source = "timer"
    if marks is not None:
        stored = marks()
        if len(stored) != 2:
            raise DutError(f"expected 2 window markers from the QEMU plugin, saw {len(stored)}",
                           f"infer {iterations} {warmup}", result.lines)
        window.instructions = (stored[1].instructions - stored[0].instructions) / iterations
        window.instructions_source = "markers"
        if stored[0].cycles is not None and stored[1].cycles is not None:
            window.estimated_cycles = (stored[1].cycles - stored[0].cycles) / iterations
            split = stored[1].cycle_split - stored[0].cycle_split
            window.cycle_split = {k: v / iterations for k, v in asdict(split).items()}
    if reference is not None:
        expected = reference.run(item.data)
        window.expected_scores = expected.scores
        if "raw" in caps:
            window.bit_exact = dut.raw_output() == expected.raw
    window.wall_s = time.monotonic() - started
    return window


def summarize(windows: list[Window], total_macs: int | None, emulated: bool,
              cycle_model: CycleModel | None = None) -> PerformanceSummary:
    latency = statistics.median(w.latency_us for w in windows)
    instructions = [w.instructions for w in windows if w.instructions is not None]
    median_instr = statistics.median(instructions) if instructions else None
    cycles = [w.estimated_cycles for w in windows if w.estimated_cycles is not None]
    median_cycles = statistics.median(cycles) if cycles else None
    estimated = {}
    if median_cycles is not None and cycle_model is not None:
        estimated = dict(median_estimated_cycles=median_cycles,
                         estimated_cycles_per_mac=median_cycles / total_macs if total_macs else None,
                         estimated_latency_us=cycle_model.seconds(median_cycles) * 1e6,
                         estimated_clock_hz=cycle_model.clock_hz, cycle_model=cycle_model.describe())
    validity = PerformanceValidity(
        five_windows=len(windows) == WINDOWS,
        each_window_at_least_10s=all(w.window_s >= MIN_WINDOW_S for w in windows),
        each_window_at_least_10_inferences=all(w.iterations >= MIN_ITERATIONS for w in windows),
    )
    checked = [w for w in windows if w.expected_scores is not None]
    return PerformanceSummary(
        windows=len(windows),
        median_latency_us=latency,
        throughput_ips=1e6 / latency if latency else 0.0,
        median_instructions=median_instr,
        instructions_per_mac=(median_instr / total_macs) if (median_instr and total_macs) else None,
        valid=all(dict(validity).values()) and not emulated,
        validity=validity,
        scores_match_reference=all(w.scores == w.expected_scores for w in checked) if checked else None,
        **estimated,
    )


def run_performance(dut: Dut, benchmark: Benchmark, inputs: list[Input], *, iterations: int, warmup: int,
                    instructions_per_second: float | None = None, reference: ReferenceModel | None = None,
                    done: list[Window] | None = None, on_window: Callable[[Window], None] | None = None,
                    infer_timeout_s: float = 600.0, marks: MarkSource | None = None,
                    load: Callable[[Dut, bytes], None] | None = None) -> list[Window]:
    """Runs the windows not yet in `done` (so a resumed session continues where it stopped)."""
    windows = list(done or [])
    deadline = InferDeadline(infer_timeout_s)  # after the first window, derived from the last one
    for index in range(len(windows), len(inputs)):
        window = run_window(dut, index, inputs[index], iterations=iterations, warmup=warmup,
                            instructions_per_second=instructions_per_second, reference=reference,
                            infer_timeout_s=infer_timeout_s,
                            marks=marks, load=load, deadline=deadline)
        windows.append(window)
        if on_window is not None:
            on_window(window)
    return windows


class PerformanceMode(Mode):
    """MLPerf Tiny performance mode: median latency (and, in emulation, exact instructions)."""

    name = "performance"

    def run(self, ctx: ModeContext) -> None:
        entry, bid = ctx.entry, ctx.benchmark.id
        inputs = ctx.perf_inputs()
        entry.inputs = "dataset" if ctx.settings.dataset else f"random (seed {ctx.settings.seed})"
        if ctx.scale_windows and not entry.windows:
            ctx.iterations = calibrate(entry, ctx.iterations, ctx.warmup, lambda n, w: self._trial(ctx, inputs[0], n, w),
                                       lambda text: ctx.progress.stage(bid, text))
            ctx.session.save()

        def on_window(window: Window) -> None:
            entry.windows.append(window)
            ctx.session.save()
            detail = f"{window.latency_us:,.1f} us/inference"
            if window.instructions is not None:
                detail += f", {window.instructions:,.0f} instructions"
            if window.estimated_cycles is not None:
                detail += f", {window.estimated_cycles:,.0f} est. cycles"
            ctx.progress.advance(bid, window.index + 1, len(inputs), detail)

        emulated = ctx.target.emulated
        has_marks = getattr(ctx.run, "markers", None) is not None
        windows = run_performance(
            ctx.dut, ctx.benchmark, inputs, iterations=ctx.iterations, warmup=ctx.warmup,
            instructions_per_second=ctx.target.instructions_per_second if emulated else None,
            reference=ctx.reference if ctx.settings.check_reference else None, done=list(entry.windows),
            on_window=on_window, infer_timeout_s=ctx.settings.infer_timeout_s,
            marks=ctx.run.new_window_marks if has_marks else None, load=ctx.load)
        entry.summary = summarize(windows, ctx.firmware.project.total_macs, emulated,
                                  getattr(ctx.target, "cycle_model", None))

    @staticmethod
    def _trial(ctx: ModeContext, item: Input, iterations: int, warmup: int) -> float:
        """One unrecorded window: its length in device seconds, from the firmware's `m-lap-us`."""
        ctx.load(ctx.dut, item.data)
        result = ctx.dut.infer(iterations, warmup, timeout_s=ctx.settings.infer_timeout_s)
        if result.window_us is None:
            raise DutError("the trial window's answer had no pair of m-lap-us timestamps",
                           f"infer {iterations} {warmup}", result.lines)
        return result.window_us / 1e6
