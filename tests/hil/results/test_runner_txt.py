"""results.txt line for line against the MLPerf Tiny runner's layout, for every mode and benchmark.

Each case builds typed session results with chosen figures and compares tinyrig's results.txt
with a transcript in data/runner/ written by hand from the runner's print statements (see its
README). The accuracy cases are small file sets whose runner figures follow by hand:

- kws01: 12 files, one per class, each scoring 1.0 on one class; file 0 (label 0) scores on
  class 1. Top 1% = 11/12 = 91.7. AUC, one-vs-rest: class 0 has its positive tied with every
  negative at 0 (0.5), class 1 has one negative tied with its positive (10.5/11), the other ten
  classes 1.0: (0.5 + 10.5/11 + 10) / 12 = 0.955.
- vww01: class-1 probabilities 0.2, 0.6 (labels 0) and 0.55, 0.9 (labels 1); argmaxes 0, 1, 1, 1:
  Top 1% = 3/4 = 75.0, AUC = 3 of 4 pairs ordered = 0.750.
- ic01: 10 files, one per class; file 1 scores 0.5 on class 1 and 0.5 on class 9 (argmax 1,
  the first maximum), file 9 (label 9) scores 0.6 on class 0 and 0.4 on class 9. Top 1% = 9/10 =
  90.0; AUC: class 9's positive (0.4) loses to one of 9 negatives (0.5): (9 + 8/9) / 10 = 0.989.
- ad01: mean errors 10, 12, 30 (normal) and 20, 40, 50 (anomalous): AUC = 8/9 = 0.889; the best
  of the runner's thresholds (10 + 0.4 k) lies in [12, 20): precision 3/4, recall 1, so
  Top 1% = 87.5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyrig.hil.modes.accuracy import summarize as summarize_accuracy
from tinyrig.hil.modes.energy import summarize_energy
from tinyrig.hil.modes.performance import summarize as summarize_performance
from tinyrig.benchmarks import get_benchmark
from tinyrig.hil.results import txt
from tinyrig.hil.results.folders import write_result_folders
from tinyrig.hil.results.schema import (
    AccuracyFile,
    AccuracyHeadline,
    AccuracyRecord,
    BenchmarkEntry,
    EnergyRecord,
    EnergyWindow,
    PerformanceWindow,
    SessionResults,
    StreamingRecord,
    StreamRecord,
)

TRANSCRIPTS = Path(__file__).parent / "data" / "runner"
FINISHED = "2026-07-26T01:02:45+00:00"  # the runner's stamp: 0726.010245

# N and the windows' lengths in us (performance) or (seconds, joules) (energy): hardware-like runs.
PERFORMANCE = {"kws01": (250, [10_871_330, 10_869_912, 10_873_004, 10_870_118, 10_868_765]),
               "vww01": (40, [10_412_006, 10_409_871, 10_415_332, 10_410_540, 10_411_998]),
               "ic01": (60, [10_033_418, 10_031_277, 10_036_090, 10_032_954, 10_034_401]),
               "ad01": (2734, [10_503_650, 10_503_651, 10_503_651, 10_503_651, 10_503_651])}
ENERGY = {"kws01": (250, [(10.912, 0.35811), (10.904, 0.35795), (10.921, 0.35837), (10.907, 0.35802), (10.915, 0.35829)]),
          "vww01": (40, [(10.433, 0.61204), (10.428, 0.61177), (10.437, 0.61231), (10.431, 0.61195), (10.429, 0.61188)]),
          "ic01": (60, [(10.051, 0.49312), (10.049, 0.49301), (10.055, 0.49334), (10.052, 0.49318), (10.048, 0.49297)]),
          "ad01": (2734, [(10.507, 0.10311), (10.506, 0.10309), (10.508, 0.10314), (10.507, 0.10312), (10.505, 0.10306)])}


def one_hot(classes: int, at: dict[int, float]) -> list[float]:
    return [at.get(c, 0.0) for c in range(classes)]


def accuracy_files(bid: str) -> list[AccuracyFile]:
    """(label, score vector) per file, as the module docstring describes."""
    if bid == "kws01":
        rows = [(c, one_hot(12, {1 if c == 0 else c: 1.0})) for c in range(12)]
    elif bid == "vww01":
        rows = [(0, [0.8, 0.2]), (0, [0.4, 0.6]), (1, [0.45, 0.55]), (1, [0.1, 0.9])]
    elif bid == "ic01":
        vectors = {1: {1: 0.5, 9: 0.5}, 9: {0: 0.6, 9: 0.4}}
        rows = [(c, one_hot(10, vectors.get(c, {c: 1.0}))) for c in range(10)]
    else:
        rows = [(0, [10.0]), (0, [12.0]), (0, [30.0]), (1, [20.0]), (1, [40.0]), (1, [50.0])]
    return [AccuracyFile(index=i, file=f"f{i}.bin", label=label, windows=1, score=score,
                         predicted=max(range(len(score)), key=score.__getitem__) if len(score) > 1 else None)
            for i, (label, score) in enumerate(rows)]


def performance_entry(iterations: int, elapsed_us: list[int], warmup: int = 0, emulated: bool = False) -> BenchmarkEntry:
    windows = [PerformanceWindow(index=i, input=f"in{i}", iterations=iterations, warmup=warmup,
                                 lap_us=[1_000_000 * (i + 1), 1_000_000 * (i + 1) + e], latency_us=e / iterations)
               for i, e in enumerate(elapsed_us)]
    return BenchmarkEntry(status="complete", iterations=iterations, warmup=warmup, emulated=emulated, windows=windows,
                          summary=summarize_performance(windows, None, emulated))


def energy_entry(iterations: int, windows: list[tuple[float, float]], emulated: bool = False) -> BenchmarkEntry:
    records = [EnergyWindow(index=i, input=f"in{i}", iterations=iterations, warmup=0, window_s=t, energy_j=e,
                            energy_per_inference_j=e / iterations, latency_s=t / iterations, average_power_w=e / t,
                            trace_csv=f"x/energy_inf_{i:03d}.csv", trace_png=f"x/energy_inf_{i:03d}.png")
               for i, (t, e) in enumerate(windows)]
    summary = summarize_energy(records, emulated)
    return BenchmarkEntry(status="complete", iterations=iterations, emulated=emulated,
                          energy=EnergyRecord(windows=records, summary=summary), summary=summary)


def accuracy_entry(bid: str, emulated: bool = False) -> BenchmarkEntry:
    files = accuracy_files(bid)
    summary = summarize_accuracy(get_benchmark(bid), files, len(files[0].score) if len(files[0].score) > 1 else 2)
    return BenchmarkEntry(status="complete", emulated=emulated,
                          accuracy=AccuracyRecord(files=files, summary=summary),
                          summary=AccuracyHeadline(accuracy=summary.top1, auc=summary.auc, files=summary.files,
                                                   inputs=summary.inputs))


def session(mode: str, entries: dict[str, BenchmarkEntry], target: str = "hardware") -> SessionResults:
    return SessionResults(created="2026-07-26T00:40:00+00:00", finished=FINISHED, board="nucleo-l4r5zi"
                          if target == "hardware" else "qemu-mps2-an386", target=target, mode=mode,
                          status="complete", benchmarks=entries)


def transcript(name: str) -> list[str]:
    return (TRANSCRIPTS / f"{name}.txt").read_text().splitlines()


def rendered(results: SessionResults, bid: str) -> list[str]:
    return txt.render(results, bid).splitlines()


@pytest.mark.parametrize("bid", ["kws01", "vww01", "ic01", "ad01"])
def test_performance_matches_the_runner_line_for_line(bid):
    iterations, elapsed = PERFORMANCE[bid]
    results = session("performance", {bid: performance_entry(iterations, elapsed)})
    assert rendered(results, bid) == transcript(f"performance-{bid}")


@pytest.mark.parametrize("bid", ["kws01", "vww01", "ic01", "ad01"])
def test_accuracy_matches_the_runner_line_for_line(bid):
    results = session("accuracy", {bid: accuracy_entry(bid)})
    assert rendered(results, bid) == transcript(f"accuracy-{bid}")


@pytest.mark.parametrize("bid", ["kws01", "vww01", "ic01", "ad01"])
def test_energy_matches_the_runner_line_for_line(bid):
    iterations, windows = ENERGY[bid]
    results = session("energy", {bid: energy_entry(iterations, windows)})
    assert rendered(results, bid) == transcript(f"energy-{bid}")


def test_results_that_are_not_valid_carry_the_runner_error_lines_and_no_median():
    emulated = session("performance", {"ad01": performance_entry(3, [720] * 5, warmup=1, emulated=True)}, "qemu")
    assert rendered(emulated, "ad01") == transcript("performance-ad01-emulated")
    iterations, elapsed = PERFORMANCE["kws01"]
    four = session("performance", {"kws01": performance_entry(iterations, elapsed[:4])})
    assert rendered(four, "kws01") == transcript("performance-kws01-four-windows")
    energy = session("energy", {"ad01": energy_entry(3, [(0.17231536, 0.0014216017199999997)] * 5, emulated=True)},
                     "qemu")
    assert rendered(energy, "ad01") == transcript("energy-ad01-emulated")
    accuracy = session("accuracy", {"vww01": accuracy_entry("vww01", emulated=True)}, "qemu")
    assert rendered(accuracy, "vww01") == transcript("accuracy-vww01-emulated")
    # A hardware window one microsecond short of 10 s: no median, the runner's ERROR 2.
    short = session("performance", {"ic01": performance_entry(60, [10_033_418] * 4 + [9_999_999])})
    lines = rendered(short, "ic01")
    assert lines[-1] == "0726.010245 ulp-mlperf: ERROR 2 - loop exited before 10 seconds elapsed."
    assert not any("Median" in line for line in lines)


def test_every_file_is_ascii():
    for name in TRANSCRIPTS.glob("*.txt"):
        name.read_text(encoding="ascii")
    emulated = session("performance", {"ad01": performance_entry(3, [720] * 5, emulated=True)}, "qemu")
    txt.render(emulated, "ad01").encode("ascii")


def test_a_session_over_several_benchmarks_writes_one_folder_each(tmp_path):
    """`--benchmark all`: one results.txt per benchmark and mode, so the checker cannot read
    one benchmark's `Top 1%` as another's."""
    results = session("accuracy", {bid: accuracy_entry(bid) for bid in ("kws01", "vww01", "ic01", "ad01")})
    (tmp_path / "log.txt").write_text("04:39:39.087     10.917 [vww01] > infer 1 0\n"
                                      "04:39:39.187     11.017 [kws01] > infer 1 0\n"
                                      "04:39:39.287     11.117 # a session note\n")
    folders = write_result_folders(tmp_path, results)
    assert [f.relative_to(tmp_path).as_posix() for f in folders] == [f"{b}/accuracy" for b in results.benchmarks]
    for bid in results.benchmarks:
        assert (tmp_path / bid / "accuracy" / "results.txt").read_text().splitlines() == transcript(f"accuracy-{bid}")
    assert (tmp_path / "vww01" / "accuracy" / "log.txt").read_text() == "04:39:39.087     10.917 [vww01] > infer 1 0\n"
    assert not (tmp_path / "results.txt").exists()


def test_a_failed_benchmark_says_so_in_one_ascii_line():
    results = session("performance", {"vww01": BenchmarkEntry(status="failed", error="model does not fit\ndetail")})
    assert rendered(results, "vww01") == ["0726.010245 ulp-mlperf: ERROR - failed: model does not fit"]


def stream(tp: int, fn: int, fp: int, duty: float, processing_s: float) -> StreamRecord:
    return StreamRecord(wav_file="long_wav.wav", length_s=1200.0, audio_hops=37500, hops=37500, lost=0,
                        detections_ms=[0], true_positives=[float(i) for i in range(tp)],
                        false_negatives=[float(i) for i in range(fn)], false_positives=[float(i) for i in range(fp)],
                        duty_cycle=duty, period_s=0.032, processing_s=processing_s, throughput=1 / processing_s,
                        activations=[], features_equal=37500, checked_hops=37500, wall_s=1.0)


def test_streaming_matches_the_runner_and_withholds_emulated_throughput():
    """summarize_sww_result's lines per wav file (streaming_ww_utils.py): `{:1.5}` formats."""
    entry = BenchmarkEntry(status="complete", emulated=False,
                           streaming=StreamingRecord(streams=[stream(48, 2, 3, 0.28103125, 0.008993)]))
    assert rendered(session("streaming", {"sww01": entry}), "sww01") == [
        "Accuracy: 48 True positives, 2 False negatives, 3 False positives",
        "Average duty cycle: 0.28103",
        "Average period: 0.032 s",
        "Estimated throughput: 111.2 inf./sec.",  # 111.1976...: 5 significant digits, zeros trimmed
    ]
    entry.emulated = True
    lines = rendered(session("streaming", {"sww01": entry}, "qemu"), "sww01")
    assert lines[:3] == ["Accuracy: 48 True positives, 2 False negatives, 3 False positives",
                         "Average duty cycle: 0.28103", "Average period: 0.032 s"]
    assert lines[3:] == ["0726.010245 ulp-mlperf: ERROR - emulated on qemu (board qemu-mps2-an386): detections and duty "
                         "cycle in virtual time, not a measurement of hardware; not valid for submission."]
