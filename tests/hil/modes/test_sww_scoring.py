"""Streaming wakeword scoring and the pin timeline: pure functions, hand-worked cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyrig.hil.modes import sww_scoring as S
from tinyrig.hil.modes.streaming import Trace, parse_activations
from tinyrig.hil.results.schema import StreamRecord
from tinyrig.hil.results.txt import streaming_lines
from tinyrig.hil.modes.sww_timeline import PinFunctions, TimelineError, build_timeline
from tinyrig.hil.targets.pinwatch import MarkerStore


def test_interface_board_keeps_whole_ms_and_drops_edges_within_10_ms():
    # 0.0321 s -> 32 ms; 41.9 ms is within 10 ms of 32 (dropped); 42.5 ms is 10 ms later: dropped
    # too (the board keeps an edge only when it is MORE than 10 ms after the last one kept).
    assert S.interface_timestamps_ms([0.0321, 0.0419, 0.0425, 0.0431, 1.0]) == [32, 43, 1000]


def test_true_positive_window_reaches_two_suppression_delays_past_the_end():
    windows = [(5.0, 5.5)]
    origin = 100
    # At t_stop + 1.99 s: inside [t_start, t_stop + 1 + 1] (the runner adds the 1 s delay twice).
    assert S.score_detections([origin, origin + 7490], windows).counts == (1, 0, 0)
    assert S.score_detections([origin, origin + 7510], windows).counts == (0, 1, 1)
    assert S.score_detections([origin, origin + 4990], windows).counts == (0, 1, 1)


def test_every_detection_in_a_window_is_used_up_and_false_positives_debounce():
    windows = [(2.0, 2.6), (10.0, 10.5)]
    t = [0, 2100, 2132, 2164, 2900,  # four detections for the first keyword
         6000, 6032, 6900, 7000, 8100]  # false positives: 6.0 (6.032, 6.9 and 7.0, 1 s on, debounced), 8.1
    score = S.score_detections(t, windows)
    assert score.true_positives == (2.0,)
    assert score.false_negatives == (10.0,)
    assert score.false_positives == (6.0, 8.1)


def test_no_detection_at_all_is_an_error():
    with pytest.raises(ValueError, match="first-frame pulse"):
        S.score_detections([], [(1.0, 2.0)])


def test_duty_cycle_and_runner_lines():
    starts = [0.000, 0.032, 0.064, 0.096]
    stops = [0.002, 0.034, 0.066, 0.098]
    duty = S.duty_cycle(starts, stops)
    assert duty.period_s == pytest.approx(0.032) and duty.processing_s == pytest.approx(0.002)
    assert duty.duty_cycle == pytest.approx(0.0625) and duty.throughput == pytest.approx(500.0)
    stream = StreamRecord(wav_file="a.wav", length_s=10.0, audio_hops=312, hops=312, lost=0, detections_ms=[0],
                          true_positives=[1.0, 4.0], false_negatives=[7.0], false_positives=[], duty_cycle=0.0625,
                          period_s=0.032, processing_s=0.002, throughput=500.0, activations=[], features_equal=312,
                          checked_hops=312, wall_s=1.0)
    assert streaming_lines(stream) == [
        "Accuracy: 2 True positives, 1 False negatives, 0 False positives",
        "Average duty cycle: 0.0625",
        "Average period: 0.032 s",
        "Estimated throughput: 500.0 inf./sec.",
    ]


def test_truth_file_errors_name_the_place(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"wav_file": "a.wav", "detection_windows": [[1.0, 0.5]]}]))
    with pytest.raises(S.TruthError, match=r"t.json: entry 0: detection_windows\[0\]"):
        S.load_truth(path)
    path.write_text("{")
    with pytest.raises(S.TruthError, match="not valid JSON"):
        S.load_truth(path)
    path.write_text(json.dumps([{"wav_file": "a.wav", "detection_windows": [[1, 2]], "length_sec": 12}]))
    assert S.load_truth(path) == [S.TruthEntry("a.wav", ((1.0, 2.0),), 12.0)]


FUNCTIONS = PinFunctions({"board_audio_clock_mark": (0x100, 0x110), "board_detect_pin_pulse": (0x200, 0x240),
                          "board_processing_pin_high": (0x300, 0x310), "board_processing_pin_low": (0x310, 0x320),
                          "board_pin_mark": (0x400, 0x410)})


def store(count, pc):
    return MarkerStore(count, pc, 0x40028000)


def test_timeline_places_edges_from_the_last_audio_tick():
    hop = 32_000_000
    stores = [
        store(10, 0x300), store(16, 0x310),  # start-of-stream pulse: before the audio clock, ignored
        store(100, 0x104),  # tick 0 (audio time 0)
        store(150, 0x104),  # tick 1 (the DUT slept in between: only 50 instructions later)
        store(170, 0x300), store(190, 0x204), store(194, 0x230), store(2170, 0x310),  # hop 0
        store(2300, 0x104),  # tick 2
        store(2320, 0x300), store(4320, 0x310),  # hop 1
        store(4400, 0x400),  # end of audio
    ]
    timeline = build_timeline(stores, FUNCTIONS, hop, ns_per_instruction=2)
    assert timeline.ticks == 3 and timeline.ended
    assert timeline.processing_starts_ns == [hop + 40, 2 * hop + 40]
    assert timeline.processing_stops_ns == [hop + 4040, 2 * hop + 4040]
    assert timeline.detections_ns == [hop + 80]  # the pulse's first store; the second returns to idle


def test_timeline_rejects_unpaired_processing_edges():
    with pytest.raises(TimelineError, match="processing starts"):
        build_timeline([store(1, 0x104), store(5, 0x310)], FUNCTIONS, 32_000_000, 1)


def test_stop_answer_and_trace_parsing(tmp_path):
    lines = ["Streaming stopped.", "m-stream-[hops=18,lost=0,detections=1,audio_hops=18]", "target activations: ",
             "[-128, -128, -127, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,", "18, 127]"]  # the DUT ends lines with ","
    assert parse_activations(lines) == [-128, -128, -127] + list(range(5, 19)) + [127]
    record = bytes([3, 0, 0, 0]) + bytes(range(40)) + bytes([0x80, 0x7F, 0x00, 0])
    (tmp_path / "t.bin").write_bytes(record * 2)
    trace = Trace.read(tmp_path / "t.bin")
    assert trace.hops.tolist() == [3, 3] and trace.outputs[0].tolist() == [-128, 127, 0]


def test_a_stream_shorter_than_two_hops_is_refused(tmp_path):
    from tinyrig.hil.modes.streaming import StreamingError, run_stream

    with pytest.raises(StreamingError, match="at least 2 hops"):
        run_stream(None, list, lambda: True, None, np.zeros(1000, np.int16), S.TruthEntry("tiny.wav", ()), tmp_path,
                   ns_per_instruction=1, tables=None, reference=None)
