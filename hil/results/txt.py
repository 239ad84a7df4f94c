"""results.txt in the layout the MLPerf Tiny open runner prints, so tools that scrape it keep working.

The runner prints, per mode (benchmark/runner/main.py in mlcommons/tiny):
  performance: `MMDD.HHMMSS ulp-mlperf: Median throughput is   NNNN.NNN inf./sec.` between rule lines,
               or `ERROR 1 – loop_count was not exactly 5.` / `ERROR 2 – loop exited before 10 seconds elapsed.`
  accuracy:    `MMDD.HHMMSS ulp-mlperf: Top 1% = NN.N` and `... ulp-mlperf: AUC = N.NNN`
  streaming:   per wav file `Accuracy: N True positives, N False negatives, N False positives`,
               `Average duty cycle: D`, `Average period: P s`, `Estimated throughput: T inf./sec.`
  energy:      `Power Edition Output`, then per window
               `N iterations. Elapsed time = S,total energy = J` / `Per inference: time = S, energy = J` /
               `Average Power = P mW.`
A session may hold several benchmarks: each gets its block, introduced by a `ulp-mlperf: Model = ID` line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

RULE = "---------------------------------------------------------"


def _stamp(iso: str | None) -> str:
    try:
        moment = datetime.fromisoformat(iso) if iso else datetime.now()
    except ValueError:
        moment = datetime.now()
    return moment.strftime("%m%d.%H%M%S ")


def streaming_lines(stream: dict) -> list[str]:
    """summarize_sww_result's lines for one wav file (a stream as hil/modes/streaming.py stores it)."""
    tp, fn, fp = (len(stream[k]) for k in ("true_positives", "false_negatives", "false_positives"))
    return [f"Accuracy: {tp} True positives, {fn} False negatives, {fp} False positives",
            f"Average duty cycle: {stream['duty_cycle']:1.5}",
            f"Average period: {stream['period_s']:1.5} s",
            f"Estimated throughput: {1.0 / stream['processing_s']:1.5} inf./sec."]


def render(results: dict) -> str:
    stamp = _stamp(results.get("finished") or results.get("created"))
    lines: list[str] = []
    for bid, entry in results.get("benchmarks", {}).items():
        lines.append(f"{stamp}ulp-mlperf: Model = {bid}")
        if entry.get("status") != "complete":
            lines.append(f"{stamp}ulp-mlperf: ERROR – {entry.get('status', 'not run')}: {entry.get('error', '')}".rstrip(": "))
            continue
        mode = results.get("mode")
        if mode == "performance":
            summary = entry["summary"]
            validity = summary.get("validity", {})
            if not validity.get("five_windows", True):
                lines.append(f"{stamp}ulp-mlperf: ERROR 1 – loop_count was not exactly 5.")
            elif not validity.get("each_window_at_least_10s", True) and not entry.get("emulated"):
                lines.append(f"{stamp}ulp-mlperf: ERROR 2 – loop exited before 10 seconds elapsed.")
            else:
                lines.append(f"{stamp}ulp-mlperf: {RULE}")
                lines.append(f"{stamp}ulp-mlperf: Median throughput is {summary['throughput_ips']:>10.3f} inf./sec.")
                lines.append(f"{stamp}ulp-mlperf: {RULE}")
        elif mode == "accuracy":
            summary = entry["accuracy"]["summary"]
            if summary.get("top1") is not None:
                lines.append(f"{stamp}ulp-mlperf: Top 1% = {100 * summary['top1']:2.1f}")
            if summary.get("auc") is not None:
                lines.append(f"{stamp}ulp-mlperf: AUC = {summary['auc']:.3f}")
        elif mode == "streaming":
            for stream in entry["streaming"]["streams"]:
                lines += streaming_lines(stream)
        elif mode == "energy":
            lines.append("Power Edition Output")
            for w in entry["energy"]["windows"]:
                lines.append(f"{w['iterations']} iterations. Elapsed time = {w['window_s']},"
                             f"total energy = {w['energy_j']}")
                lines.append(f"Per inference: time = {w['latency_s']}, energy = {w['energy_per_inference_j']}")
                lines.append(f"Average Power = {w['average_power_w'] * 1e3:5.2f} mW.")
    return "\n".join(lines) + "\n"


def write(session_dir: Path, results: dict) -> Path:
    path = Path(session_dir) / "results.txt"
    path.write_text(render(results))
    return path
