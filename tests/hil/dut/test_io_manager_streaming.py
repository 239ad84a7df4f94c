"""The interface board's streaming commands as the runner reads them (streaming_ww_utils.py):
`print_detections` in ms, `print_dutycycle` in 10 us ticks with the board's odd line layout (8 a
line, m-ready straight after the last stop time), `play` blocking and its error. The board is the
pty simulation speaking the board firmware's formats (InterfaceMenu.cpp)."""

from __future__ import annotations

import pytest

from tinyrig.hil.dut.io_manager import TICK_S, IoManager, IoManagerError
from tinyrig_testing.sim_io_manager import MAX_FRAMES, BoardRecording, IoManagerSim


def _board(recording: BoardRecording) -> IoManagerSim:
    return IoManagerSim("socket://127.0.0.1:9", recordings={"s.wav": recording}, play_s=0.1).start()


@pytest.mark.parametrize("pulses", [3, 8, 13, 16, 250], ids=lambda n: f"{n}-pulses")
def test_dutycycle_edges_in_seconds_whatever_the_line_layout(pulses):
    edges = [(3200 * k + 7, 3200 * k + 7 + 91 + k) for k in range(pulses)]
    sim = _board(BoardRecording([12, 900], edges))
    try:
        with IoManager(sim.port) as io:
            io.record_detections()
            io.play("s.wav", timeout_s=5)
            starts, stops = io.print_dutycycle()
            detections = io.print_detections()
    finally:
        sim.close()
    kept = edges[:MAX_FRAMES]  # the board keeps its first 100 edges of each kind
    assert starts == pytest.approx([a * TICK_S for a, _ in kept], abs=0)
    assert stops == pytest.approx([b * TICK_S for _, b in kept], abs=0)
    assert TICK_S == pytest.approx(1e-5)
    assert detections == [12, 900]


def test_a_wav_the_board_does_not_have_is_one_clear_error():
    sim = _board(BoardRecording([1], []))
    try:
        with IoManager(sim.port) as io, pytest.raises(IoManagerError, match=r"could not play 'missing\.wav'.*SD card"):
            io.play("missing.wav", timeout_s=5)
    finally:
        sim.close()


def test_record_detections_clears_the_last_record():
    sim = _board(BoardRecording([5, 60], [(10, 20), (3210, 3220)]))
    try:
        with IoManager(sim.port) as io:
            io.record_detections()
            io.play("s.wav", timeout_s=5)
            assert io.print_detections() == [5, 60]
            io.record_detections()
            assert io.print_detections() == []
            assert io.print_dutycycle() == ([], [])
    finally:
        sim.close()
