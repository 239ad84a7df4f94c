"""Streaming wakeword scoring, as the MLPerf Tiny runner and its interface board do it.

Pure functions over detection times and processing-pin edges (mlcommons/tiny benchmark/runner:
streaming_ww_utils.py `calc_detection_stats`, `process_dutycycle`, `summarize_sww_result`;
the interface board's DeviceUnderTest::RecordDetection):

* the interface board timestamps each falling edge of the detection pin in whole milliseconds
  since it started recording, and ignores an edge within 10 ms of the last one it kept;
* the first detection is the DUT's first-frame pulse: the time origin of all the others;
* wakeword i counts as found (true positive) when any detection falls in
  [t_start, t_stop + 2 x 1 s] -- the runner adds its 1 s false-positive suppression delay to
  t_stop twice, and tinyrig scores as the runner does -- and every detection in that span is
  used up; a wakeword with none is a false negative;
* the detections left are false positives, each one silencing the next 1 s (debounce);
* duty cycle = mean processing time / mean period between processing starts; throughput =
  1 / mean processing time (inferences per second).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

SUPPRESSION_S = 1.0  # calc_detection_stats' false_pos_suppresion_delay_sec
DEBOUNCE_S = 1.0  # calc_detection_stats' debounce_time_sec
INTERFACE_LOCKOUT_MS = 10  # the interface board drops detections within 10 ms of the last
# Closed division limits on the official 20-minute test (MLPerf Tiny v1.3 rules).
MAX_FALSE_POSITIVES = 8
MAX_FALSE_NEGATIVES = 8


class TruthError(ValueError):
    """A truth file that is not a list of {"wav_file", "detection_windows"} entries."""


@dataclass(frozen=True)
class TruthEntry:
    wav_file: str
    windows: tuple[tuple[float, float], ...]
    length_s: float | None = None


@dataclass(frozen=True)
class DetectionScore:
    true_positives: tuple[float, ...]  # window starts of the wakewords found (s)
    false_negatives: tuple[float, ...]  # window starts of the wakewords missed (s)
    false_positives: tuple[float, ...]  # detection times left after matching and debounce (s)

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.true_positives), len(self.false_negatives), len(self.false_positives)


@dataclass(frozen=True)
class DutyCycle:
    duty_cycle: float
    period_s: float
    processing_s: float
    pulses: int

    @property
    def throughput(self) -> float:
        return 1.0 / self.processing_s


def load_truth(path: Path) -> list[TruthEntry]:
    """The runner's truth JSON (e.g. sww_long_test.json): one entry per wav file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise TruthError(f"{path}: no such truth file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TruthError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise TruthError(f"{path}: expected a non-empty list of {{\"wav_file\", \"detection_windows\"}} entries")
    entries = []
    for n, item in enumerate(data):
        where = f"{path}: entry {n}"
        if not isinstance(item, dict) or "wav_file" not in item or "detection_windows" not in item:
            raise TruthError(f"{where}: needs keys 'wav_file' and 'detection_windows'")
        windows = []
        for w, window in enumerate(item["detection_windows"]):
            if (not isinstance(window, (list, tuple)) or len(window) != 2
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in window)
                    or window[1] < window[0]):
                raise TruthError(f"{where}: detection_windows[{w}] must be [start_s, stop_s] with stop >= start, "
                                 f"got {window!r}")
            windows.append((float(window[0]), float(window[1])))
        length = item.get("length_sec")
        if length is not None and not isinstance(length, (int, float)):
            raise TruthError(f"{where}: length_sec must be a number, got {length!r}")
        entries.append(TruthEntry(str(item["wav_file"]), tuple(windows), None if length is None else float(length)))
    return entries


def interface_timestamps_ms(edge_times_s: list[float]) -> list[int]:
    """What the interface board records: whole ms since recording began, 10 ms lock-out."""
    kept: list[int] = []
    for t in edge_times_s:
        ms = int(math.floor(t * 1000.0))
        if not kept or ms > kept[-1] + INTERFACE_LOCKOUT_MS or ms < kept[-1]:
            kept.append(ms)
    return kept


def score_detections(timestamps_ms: list[int], windows: tuple[tuple[float, float], ...] | list,
                     suppression_s: float = SUPPRESSION_S, debounce_s: float = DEBOUNCE_S) -> DetectionScore:
    """calc_detection_stats: true positives, false negatives and false positives."""
    if not timestamps_ms:
        raise ValueError("no detections captured: the first one (the DUT's first-frame pulse) marks the start")
    origin = timestamps_ms[0]
    left = [t - origin for t in timestamps_ms[1:]]
    true_positives, false_negatives = [], []
    for t_start, t_stop in windows:
        t_stop += suppression_s
        hits = [t for t in left if t_start <= t / 1000 <= t_stop + suppression_s]
        if hits:
            true_positives.append(t_start)
            left = [t for t in left if t not in hits]
        else:
            false_negatives.append(t_start)
    i = 0
    while i < len(left):  # each false positive silences the detections in the next debounce_s
        current = left[i]
        left = left[: i + 1] + [t for t in left[i + 1 :] if not current < t <= current + int(debounce_s * 1000)]
        i += 1
    return DetectionScore(tuple(true_positives), tuple(false_negatives), tuple(t / 1000 for t in left))


def duty_cycle(starts_s: list[float], stops_s: list[float]) -> DutyCycle:
    """process_dutycycle: mean on-time over mean period between starts."""
    pulses = min(len(starts_s), len(stops_s))
    if pulses < 2:
        raise ValueError(f"a duty cycle needs at least 2 processing pulses, got {pulses}")
    starts, stops = starts_s[:pulses], stops_s[:pulses]
    on = sum(b - a for a, b in zip(starts, stops)) / pulses
    period = (starts[-1] - starts[0]) / (pulses - 1)
    return DutyCycle(on / period, period, on, pulses)
