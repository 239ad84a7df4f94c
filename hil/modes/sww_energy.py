"""Energy mode of a streaming benchmark (sww01): the whole stream under one power trace.

The MLPerf Tiny runner measures sww01's energy over its `stream` step: the energy firmware pulses
the timestamp pin at `start` and at `stop`, the power monitor records in between, and
main.py prints one `Energy data for trial 0` block (req_cycles=1, `Inferences: 1`: the
stream is the unit) followed by the streaming accuracy and duty-cycle lines.

* On a bench the trace is the monitor's (LPM01A, JS220, PPK2), from before `start` to after
  `stop`, taken while the interface board plays the wav (sww_bench).
* Under QEMU it is **emulated**: each hop's processing (processing pin high to low) is timed by
  estimated cycles at the board clock (tinyrig's cycle model; instructions without it), the
  core draws the board's active current while it processes and its idle current otherwise, over
  the audio's duration: E = T x (d x P_active + (1 - d) x P_idle), sampled at 1 kHz so the trace
  plots like a monitor's. A hop that would outlast its 32 ms at the board clock is capped there
  (the core cannot keep up: the record says so).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from tinyrig.codegen.audio_frontend import SPEC
from tinyrig.hil.dut.audio_files import SAMPLE_RATE
from tinyrig.hil.instruments.energy_sources import CLOCK_MODEL, INSTRUCTION_CLOCK_MODEL
from tinyrig.hil.instruments.trace import PinEvent, PowerTrace
from tinyrig.hil.modes.sww_timeline import AUDIO_TICK, PROCESSING_HIGH, PROCESSING_LOW, PinFunctions
from tinyrig.hil.results.schema import (
    EnergyRecord,
    EnergySummary,
    EnergyValidity,
    EnergyWindow,
    PowerModelRecord,
)

if TYPE_CHECKING:
    from tinyrig.boards import Board
    from tinyrig.hil.instruments.energy_sources import TraceSource
    from tinyrig.hil.modes.base import ModeContext, ModeSettings
    from tinyrig.hil.targets.base import Target
    from tinyrig.hil.results.schema import StreamRecord
    from tinyrig.hil.targets.pinwatch import MarkerStore

HOP_S = SPEC.hop / SAMPLE_RATE  # 32 ms of audio per hop
SAMPLE_PERIOD_S = 1e-3  # the LPM01A's rate in the runner's set-up
REQUIRED_WINDOWS = 1  # main.py: print_energy_results(..., req_cycles=1) for sww01
MIN_WINDOW_S = 10.0


def busy_counts(stores: list[MarkerStore], functions: PinFunctions, cycles: bool) -> list[int]:
    """Each processed hop's length in estimated cycles (instructions when `cycles` is False):
    from its processing pin's rise to its fall, after the audio clock's first tick."""
    busy, rose, ticking = [], None, False
    for store in stores:
        kind = functions.classify(store.pc)
        ticking |= kind == AUDIO_TICK
        if not ticking:
            continue  # the start-of-stream pulse precedes the audio
        count = store.cycles if cycles else store.instructions
        if count is None:
            raise ValueError("processing-pin stores without estimated cycles: the target runs no cycle model")
        if kind == PROCESSING_HIGH:
            rose = count
        elif kind == PROCESSING_LOW and rose is not None:
            busy.append(count - rose)
            rose = None
    return busy


def estimated_duty_cycle(board: Board, busy: list[int]) -> float:
    """Mean processing time per hop at the board clock over the hop period (may exceed 1)."""
    return float(np.mean(busy)) / board.clock_hz / HOP_S


def emulated_stream_trace(board: Board, busy: list[int]) -> tuple[PowerTrace, bool]:
    """The stream's emulated power trace at 1 kHz, with timestamp edges at the start of the first
    hop and the end of the last; and whether every hop fits in its 32 ms at the board clock."""
    if not busy:
        raise ValueError("no processed hop in the stream: nothing to measure")
    clock, power, p = float(board.clock_hz), board.power, SAMPLE_PERIOD_S
    margin = HOP_S  # one hop of idle before `start` and after `stop`, as a monitor sees them
    span = len(busy) * HOP_S
    samples = int(round((span + 2 * margin) / p))
    busy_s = np.zeros(samples)
    keeps_up = True
    for k, count in enumerate(busy):
        on = count / clock
        keeps_up &= on <= HOP_S
        a = margin + k * HOP_S
        e = a + min(on, HOP_S)
        first, last = int(a / p + 1e-9), int(e / p + 1e-9)
        if first == last:
            busy_s[first] += e - a
            continue
        busy_s[first] += (first + 1) * p - a
        busy_s[first + 1:last] += p
        if last < samples:
            busy_s[last] += e - last * p
    current = power.idle_current_a + (power.active_current_a - power.idle_current_a) * np.minimum(busy_s / p, 1.0)
    trace = PowerTrace.from_current(
        current, sample_period_s=p, supply_voltage_v=power.supply_v,
        events=[PinEvent(margin, "falling"), PinEvent(margin + span, "falling")],
        source=f"emulated {board.name}",
        metadata={"clock_hz": board.clock_hz, "active_current_a": power.active_current_a,
                  "idle_current_a": power.idle_current_a, "power_model_source": power.source,
                  "hops": len(busy), "mean_busy_counts": float(np.mean(busy)), "keeps_up": keeps_up})
    return trace, keeps_up


def record_window(ctx: ModeContext, index: int, stream: StreamRecord, trace: PowerTrace, started: float) -> EnergyWindow:
    """The stream's trace saved as the runner names it (energy_inf_NNN.csv/.png), as one window
    of one "inference" (the runner's `Inferences: 1` for a stream)."""
    from tinyrig.hil.modes.energy import plot_trace, trace_name, window_title

    out_dir = ctx.session.result_dir(ctx.benchmark.id)
    window = trace.energy_window()
    csv_path, png_path = out_dir / f"{trace_name(index)}.csv", out_dir / f"{trace_name(index)}.png"
    trace.to_csv(csv_path)
    plot_trace(trace, 1, png_path, f"{window_title(ctx.benchmark.id, index, csv_path.name)}, {stream.wav_file}, "
                                   f"{trace.source}")
    return EnergyWindow(
        index=index, input=stream.wav_file, iterations=1, warmup=0, window_s=window.duration_s,
        energy_j=window.energy_j, energy_per_inference_j=window.energy_j, latency_s=window.duration_s,
        average_power_w=window.average_power_w, trace_csv=csv_path.relative_to(ctx.session.directory).as_posix(),
        trace_png=png_path.relative_to(ctx.session.directory).as_posix(), wall_s=time.monotonic() - started)


def summarize_stream_energy(windows: list[EnergyWindow], emulated: bool) -> EnergySummary:
    validity = EnergyValidity(five_windows=len(windows) == 5, required_windows=REQUIRED_WINDOWS,
                              each_window_at_least_10s=all(w.window_s >= MIN_WINDOW_S for w in windows))
    return EnergySummary(
        windows=len(windows),
        median_energy_per_inference_j=float(np.median([w.energy_per_inference_j for w in windows])),
        median_latency_s=float(np.median([w.latency_s for w in windows])),
        median_average_power_w=float(np.median([w.average_power_w for w in windows])),
        validity=validity,
        valid=len(windows) == REQUIRED_WINDOWS and validity.each_window_at_least_10s and not emulated)


def check_streaming_energy(settings: ModeSettings, target: type[Target]) -> None:
    """The streaming options, and on a board the interface board: the UART path times nothing."""
    from tinyrig.hil.modes.base import ModeOptionError
    from tinyrig.hil.modes.streaming import StreamingMode

    if not target.emulated and not settings.io_manager:
        raise ModeOptionError("sww01's energy on a board is measured over the interface board's stream: "
                              "--io-manager PORT (docs/streaming.md, 'On a bench')")
    StreamingMode().check(settings, target)


def run_streaming_energy(ctx: ModeContext, monitor: TraceSource | None) -> None:
    """Energy mode for sww01: a monitor's trace on a bench, the emulated one under QEMU."""
    from tinyrig.hil.modes.streaming import run_in_emulator
    from tinyrig.hil.modes.sww_board import run_on_bench

    energy = ctx.entry.energy = ctx.entry.energy or EnergyRecord()
    board = ctx.settings.board

    def add(window: EnergyWindow) -> None:
        energy.windows.append(window)
        ctx.progress.advance(ctx.benchmark.id, window.index + 1, window.index + 1,
                             f"{window.energy_j * 1e3:,.3f} mJ over {window.window_s:.1f} s")

    if monitor is not None:
        energy.power_monitor, energy.supply_v = ctx.settings.power_monitor, board.power.supply_v
        started = time.monotonic()

        def on_bench_stream(index: int, stream: StreamRecord, trace: PowerTrace | None) -> None:
            add(record_window(ctx, index, stream, trace, started))

        run_on_bench(ctx, power=monitor, on_stream=on_bench_stream)
    else:
        cycles = getattr(ctx.target, "cycle_model", None) is not None
        energy.clock_model, energy.clock_hz = (CLOCK_MODEL if cycles else INSTRUCTION_CLOCK_MODEL), board.clock_hz
        energy.power_model = PowerModelRecord.model_validate(asdict(board.power))
        functions = PinFunctions.from_elf(ctx.firmware.build.elf)

        def on_emulated_stream(index: int, stream: StreamRecord, stores: list[MarkerStore]) -> None:
            started = time.monotonic()
            busy = busy_counts(stores, functions, cycles)
            trace, keeps_up = emulated_stream_trace(board, busy)
            energy.estimated_duty_cycle = estimated_duty_cycle(board, busy)
            if not keeps_up:
                ctx.session.note(f"{stream.wav_file}: at {board.clock_hz / 1e6:g} MHz some hops take longer than "
                                 f"{HOP_S * 1e3:.0f} ms (estimated duty cycle {energy.estimated_duty_cycle:.3f}): "
                                 f"the emulated energy counts them as busy for the whole hop", ctx.benchmark.id)
            add(record_window(ctx, index, stream, trace, started))

        run_in_emulator(ctx, on_stream=on_emulated_stream)
    energy.summary = summarize_stream_energy(energy.windows, ctx.target.emulated)
    ctx.entry.summary = energy.summary.model_copy()
