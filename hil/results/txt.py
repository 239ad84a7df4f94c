"""results.txt of one benchmark in one mode, line for line in the MLPerf Tiny runner's layout.

The runner (benchmark/runner/main.py and script.py in mlcommons/tiny) writes, per mode:

performance  per window:
                 Performance results for window N
                     # Inferences : N
                     Runtime: S sec.
                     Throughput: T inf./sec.
                     Runtime requirements have been met.        (only for windows over 10 s)
             then `MMDD.HHMMSS ulp-mlperf: Median throughput is   NNNN.NNN inf./sec.` between rule
             lines, or instead `... ulp-mlperf: ERROR 1 - loop_count was not exactly 5.` or
             `... ulp-mlperf: ERROR 2 - loop exited before 10 seconds elapsed.`
accuracy     `... ulp-mlperf: Top 1% = NN.N` and `... ulp-mlperf: AUC = N.NNN` (runner_metrics.py)
energy       `Power Edition Output`, per window an `Energy data for trial N` block (elapsed time,
             flagged `<<<< below minimum duration` under 10 s; inferences; power; total energy;
             energy per inference), then `Median energy cost is X uJ/inf.` between rule lines.
streaming    (sww01, streaming_ww_utils.py) per wav file `Accuracy: N True positives, N False
             negatives, N False positives`, `Average duty cycle: D`, `Average period: P s`,
             `Estimated throughput: T inf./sec.`

The submission checker takes the median lines as the result. So that no tool can take a result
that is not a valid measurement for one, a result that breaks a rule or comes from an emulator
has no median line: the runner's ERROR lines stand in its place (for energy the runner prints its
`ERROR: Not valid for submission. ...` lines only to the console; here they go into the file),
and an emulated result also carries an ERROR line saying `emulated on <target>`. For streaming,
where the checker reads the `Estimated throughput:` line, an emulated stream keeps its accuracy
and duty-cycle lines but not that one. results.json keeps every figure.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime

from tinyrig.hil.results.schema import (
    AccuracySummary,
    BenchmarkEntry,
    EnergySummary,
    PerformanceSummary,
    SessionResults,
    StreamRecord,
)

RULE = "---------------------------------------------------------"
MIN_WINDOW_S = 10.0
WINDOWS = 5
ERROR_1 = "ERROR 1 - loop_count was not exactly 5."
ERROR_2 = "ERROR 2 - loop exited before 10 seconds elapsed."
ENERGY_ERROR_DURATION = "ERROR: Not valid for submission.  All inference times must be at least 10 seconds."
ENERGY_ERROR_COUNT = f"ERROR: Not valid for submission.  Energy mode must include exactly {WINDOWS} measurements."
# How an emulated result says so in every results.txt (the checker looks for it, see submission/check.py).
EMULATED_RE = re.compile(r"\bERROR\b.*\bemulated on\b", re.IGNORECASE)


def stamp(iso: str | None) -> str:
    """The runner's `MMDD.HHMMSS ` prefix, from when the session finished (or began)."""
    try:
        moment = datetime.fromisoformat(iso) if iso else datetime.now()
    except ValueError:
        moment = datetime.now()
    return moment.strftime("%m%d.%H%M%S ")


def emulated_reason(results: SessionResults, what: str) -> str:
    return (f"emulated on {results.target} (board {results.board}): {what}, not a measurement of hardware; "
            "not valid for submission.")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def performance(entry: BenchmarkEntry, when: str, emulated: str | None) -> list[str]:
    lines: list[str] = []
    for number, w in enumerate(entry.windows, 1):
        runtime_s = w.elapsed_us / 1e6
        lines += [f"Performance results for window {number}",
                  f"    # Inferences : {w.iterations}",
                  f"    Runtime: {runtime_s} sec.",
                  f"    Throughput: {w.throughput} inf./sec."]
        if runtime_s > MIN_WINDOW_S:
            lines.append("    Runtime requirements have been met.")
    summary = entry.summary if isinstance(entry.summary, PerformanceSummary) else None
    validity = summary.validity if summary else None
    errors = []
    if len(entry.windows) != WINDOWS:
        errors.append(ERROR_1)
    elif validity is not None and not validity.each_window_at_least_10s:
        errors.append(ERROR_2)
    if validity is not None and not validity.each_window_at_least_10_inferences:
        errors.append("ERROR - a window ran fewer than 10 inferences.")
    if emulated:
        errors.append(f"ERROR - {emulated}")
    if errors or summary is None or not summary.valid:
        return lines + [f"{when}ulp-mlperf: {e}" for e in errors or ["ERROR - not a valid performance result."]]
    median = statistics.median(w.throughput for w in entry.windows)
    return lines + [f"{when}ulp-mlperf: {RULE}",
                    f"{when}ulp-mlperf: Median throughput is {median:>10.3f} inf./sec.",
                    f"{when}ulp-mlperf: {RULE}"]


def accuracy(entry: BenchmarkEntry, when: str, emulated: str | None) -> list[str]:
    summary = entry.accuracy.summary if entry.accuracy else None
    lines = []
    if not isinstance(summary, AccuracySummary) or summary.runner_top1_percent is None:
        lines.append(f"{when}ulp-mlperf: ERROR - no dataset file was measured.")
    else:
        lines.append(f"{when}ulp-mlperf: Top 1% = {summary.runner_top1_percent:2.1f}")
        if summary.runner_auc is not None:
            lines.append(f"{when}ulp-mlperf: AUC = {summary.runner_auc:.3f}")
    if emulated:
        lines.append(f"{when}ulp-mlperf: ERROR - {emulated}")
    return lines


def energy(entry: BenchmarkEntry, emulated: str | None) -> list[str]:
    windows = entry.energy.windows if entry.energy else []
    lines = ["Power Edition Output"]
    for trial, w in enumerate(windows):
        short = "" if w.window_s >= MIN_WINDOW_S else "  <<<< below minimum duration"
        lines += [f"Energy data for trial {trial}",
                  f"  Elapsed time  : {w.window_s}{short}",
                  f"  Inferences    : {w.iterations}",
                  f"  Power         : {1e3 * w.energy_j / w.window_s:5.4f} mW.",
                  f"  Total Energy  : {w.energy_j * 1e6:.3f} uJ",
                  f"  Energy/Inf    : {w.energy_per_inference_j * 1e6:.3f} uJ/inf"]
    # A stream is one measurement (main.py: req_cycles=1 for sww01), followed by its accuracy and
    # duty-cycle lines (summarize_sww_result).
    streams = entry.streaming.streams if entry.streaming else []
    required = 1 if entry.streaming is not None else WINDOWS
    after = [line for s in streams for line in streaming_lines(s, throughput=not emulated)]
    errors = []
    if any(w.window_s < MIN_WINDOW_S for w in windows):
        errors.append(ENERGY_ERROR_DURATION)
    if len(windows) != required:
        errors.append(ENERGY_ERROR_COUNT.replace(f"exactly {WINDOWS} ", f"exactly {required} "))
    if emulated:
        errors.append(f"ERROR: Not valid for submission.  {emulated[0].upper()}{emulated[1:]}")
    summary = entry.summary if isinstance(entry.summary, EnergySummary) else None
    if errors or summary is None or not summary.valid:
        return lines + (errors or ["ERROR: Not valid for submission."]) + after
    median = statistics.median(w.energy_per_inference_j for w in windows)
    return lines + [RULE, f"Median energy cost is {1e6 * median:5.4f} uJ/inf.", RULE] + after


def streaming_lines(stream: StreamRecord, *, throughput: bool = True) -> list[str]:
    """summarize_sww_result's lines for one wav file."""
    tp, fn, fp = stream.counts
    lines = [f"Accuracy: {tp} True positives, {fn} False negatives, {fp} False positives"]
    if stream.duty_cycle is None:  # untimed (the UART path): the runner prints no duty-cycle lines to the file
        return lines
    lines += [f"Average duty cycle: {stream.duty_cycle:1.5}",
              f"Average period: {stream.period_s:1.5} s"]
    if throughput:
        lines.append(f"Estimated throughput: {1.0 / stream.processing_s:1.5} inf./sec.")
    return lines


def streaming(entry: BenchmarkEntry, when: str, emulated: str | None) -> list[str]:
    streams = entry.streaming.streams if entry.streaming else []
    lines = [line for s in streams for line in streaming_lines(s, throughput=not emulated)]
    if not streams:
        lines.append(f"{when}ulp-mlperf: ERROR - no stream was played.")
    if emulated:
        lines.append(f"{when}ulp-mlperf: ERROR - {emulated}")
    return lines


WHAT_EMULATION_GIVES = {
    "performance": "virtual time",
    "energy": "energy from the board's power model over virtual time",
    "accuracy": "scores from the emulated core",
    "streaming": "detections and duty cycle in virtual time",
}


def render(results: SessionResults, benchmark_id: str) -> str | None:
    """The benchmark's results.txt, or None for a mode the runner has no layout for."""
    mode = results.mode
    if mode not in WHAT_EMULATION_GIVES:
        return None
    entry = results.benchmarks[benchmark_id]
    when = stamp(results.finished or results.created)
    if entry.status != "complete":
        error = _first_line(entry.error)
        return f"{when}ulp-mlperf: ERROR - {entry.status}" + (f": {error}" if error else "") + "\n"
    is_emulated = entry.emulated if entry.emulated is not None else results.emulated
    emulated = emulated_reason(results, WHAT_EMULATION_GIVES[mode]) if is_emulated else None
    lines = {"performance": lambda: performance(entry, when, emulated),
             "accuracy": lambda: accuracy(entry, when, emulated),
             "energy": lambda: energy(entry, emulated),
             "streaming": lambda: streaming(entry, when, emulated)}[mode]()
    return "\n".join(lines) + "\n"
