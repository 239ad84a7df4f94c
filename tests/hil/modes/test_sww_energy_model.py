"""The emulated energy of a stream: each hop's processing timed by its estimated cycles at the
board clock, active current while it processes, idle current otherwise (hil/modes/sww_energy.py).
Pin stores are built by hand here; the QEMU run is in test_sww_energy_qemu.py."""

from __future__ import annotations

import pytest

from tinyrig.boards import load_board
from tinyrig.hil.modes.sww_energy import HOP_S, busy_counts, emulated_stream_trace, estimated_duty_cycle
from tinyrig.hil.modes.sww_timeline import AUDIO_TICK, PROCESSING_HIGH, PROCESSING_LOW, PinFunctions
from tinyrig.hil.targets.pinwatch import MarkerStore

FUNCTIONS = PinFunctions({AUDIO_TICK: (0x100, 0x110), PROCESSING_HIGH: (0x200, 0x210), PROCESSING_LOW: (0x300, 0x310)})


def stores_for(busy_cycles: list[int]) -> list[MarkerStore]:
    """The start-of-stream pulse (before the audio clock, left out), then per hop a tick and a
    processing pulse of the given estimated cycles (instructions: half of them)."""
    stores = [MarkerStore(10, 0x200, 0, cycles=10), MarkerStore(20, 0x300, 0, cycles=20)]
    at = 1000
    for cycles in busy_cycles:
        stores += [MarkerStore(at, 0x100, 0, cycles=at), MarkerStore(at + 5, 0x200, 0, cycles=at + 5),
                   MarkerStore(at + 5 + cycles // 2, 0x300, 0, cycles=at + 5 + cycles)]
        at += 10 * cycles
    return stores


def test_busy_counts_skip_the_start_pulse_and_use_cycles_or_instructions():
    stores = stores_for([400, 800, 600])
    assert busy_counts(stores, FUNCTIONS, cycles=True) == [400, 800, 600]
    assert busy_counts(stores, FUNCTIONS, cycles=False) == [200, 400, 300]


def test_energy_is_duty_cycle_times_active_plus_idle_power():
    board = load_board("qemu-mps2-an386")  # 25 MHz, 2.75 mA active, 50 uA idle at 3.0 V
    hop_cycles = int(0.25 * HOP_S * board.clock_hz)  # a quarter of each 32 ms hop
    busy = [hop_cycles, hop_cycles // 2, hop_cycles * 3 // 2] * 100
    trace, keeps_up = emulated_stream_trace(board, busy)
    window = trace.energy_window()
    assert keeps_up
    assert window.duration_s == pytest.approx(len(busy) * HOP_S)
    p = board.power
    duty = estimated_duty_cycle(board, busy)
    assert duty == pytest.approx(0.25, rel=1e-6)
    expected = window.duration_s * p.supply_v * (duty * p.active_current_a + (1 - duty) * p.idle_current_a)
    assert window.energy_j == pytest.approx(expected, rel=1e-9)


def test_a_core_that_cannot_keep_up_is_busy_for_the_whole_hop():
    board = load_board("qemu-mps2-an386")
    busy = [int(1.7 * HOP_S * board.clock_hz)] * 50  # 54 ms of work per 32 ms hop at 25 MHz
    trace, keeps_up = emulated_stream_trace(board, busy)
    window = trace.energy_window()
    assert not keeps_up and estimated_duty_cycle(board, busy) == pytest.approx(1.7, rel=1e-6)
    p = board.power
    assert window.energy_j == pytest.approx(window.duration_s * p.supply_v * p.active_current_a, rel=1e-9)


def test_a_stream_without_processed_hops_is_an_error():
    with pytest.raises(ValueError, match="no processed hop"):
        emulated_stream_trace(load_board("qemu-mps2-an386"), [])
