"""PPK2 driver, through the real ppk2-api, against the pty simulator."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ppk2_api.ppk2_api", reason="ppk2-api not installed (pip install ppk2-api)")

from tinyrig_testing.sim_ppk2 import PPK2Sim, encode, metadata_text  # noqa: E402

from tinyrig.hil.instruments import (  # noqa: E402
    CommandRejectedError,
    DeviceVanishedError,
    GarbledDataError,
    MissingEventError,
    MonitorTimeoutError,
    get_monitor,
)
from tinyrig.hil.instruments.ppk2 import PPK2, calibration_arrays, decode_words  # noqa: E402

FS = 100_000
V = 3.0
START, END = 5_000, 25_000
PULSE = 40  # samples the timestamp pin stays low


def waveform(n: int = 30_000, pin: int = 3, drop_second_pulse: bool = False):
    t = np.arange(n)
    cur = 50e-6 + 10e-6 * np.sin(t / 300)  # sleep-ish, range 0
    cur[START:END] = 4e-3  # inference, range 1
    cur[START + 2000 : START + 9000] = 18e-3  # a burst, range 2
    logic = np.full(n, 0xFF, dtype=np.uint8)
    # Other inputs toggle, so listening to the wrong one is caught.
    logic[(t // 250) % 2 == 1] &= ~np.uint8(1 << ((pin + 1) % 8))
    for k in (START,) if drop_second_pulse else (START, END):
        logic[k : k + PULSE] &= ~np.uint8(1 << pin)
    return cur, logic


@pytest.fixture
def sims():
    made = []

    def make(*args, **kwargs):
        sim = PPK2Sim(*args, **kwargs).start()
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.close()


def test_energy_window_through_ppk2_api(sims):
    cur, logic = waveform()
    sim = sims(cur, logic)
    with get_monitor("ppk2", port=sim.port, pin=3) as pm:
        pm.configure(voltage_v=V)
        pm.set_dut_power(True)
        pm.start()
        pm.wait_for_events(2, timeout_s=5)
        trace = pm.stop(expect_events=2)
    assert sim.mode == "source" and sim.vdd_mv == 3000 and sim.dut_power
    win = trace.energy_window()
    assert win.start_s == pytest.approx(START / FS)
    assert win.end_s == pytest.approx(END / FS)
    exact = sim.sent[START:END].sum() * V / FS
    assert win.energy_j == pytest.approx(exact, rel=1e-12)
    # The true waveform, to within the ADC quantisation of the ranges used.
    assert win.energy_j == pytest.approx(cur[START:END].sum() * V / FS, rel=1e-3)
    rising = [e.time_s for e in trace.events if e.edge == "rising"]
    assert rising == pytest.approx([(START + PULSE) / FS, (END + PULSE) / FS])
    assert trace.metadata["pin"] == "D3" and trace.metadata["hw"] == "9173"
    assert len(trace) >= cur.size


def test_decoder_matches_ppk2_api_sample_by_sample():
    """Our vectorised decode == ppk2-api's own get_samples (one range, so its
    spike filter, which only acts after range switches, is inactive)."""
    import os

    from ppk2_api.ppk2_api import PPK2_API

    master, slave = os.openpty()  # any tty will do: only the decoding is used
    try:
        api = PPK2_API(os.ttyname(slave))
        assert api._parse_metadata(metadata_text())
        api.current_vdd = 3000
        cur = np.linspace(1e-3, 6e-3, 257)
        count, rng, _ = encode(cur, 3.0)
        assert (rng == 1).all()
        counter = np.arange(cur.size) & 0x3F
        words = (count | (rng << 14) | (counter << 18) | (0xA5 << 24)).astype("<u4")
        ref_ua, ref_bits = api.get_samples(words.tobytes())
        ours, logic, ctr = decode_words(words, calibration_arrays(api.modifiers, 3000))
        np.testing.assert_allclose(ours * 1e6, ref_ua, rtol=1e-12)
        assert list(logic) == ref_bits and (logic == 0xA5).all()
        assert list(ctr) == list(counter)
        api.ser.close()
    finally:
        os.close(master)
        os.close(slave)


def test_device_vanishes_mid_run(sims):
    cur, logic = waveform()
    sim = sims(cur, logic, vanish_after=12_000)
    pm = PPK2(sim.port, pin=3)
    pm.open()
    pm.configure(voltage_v=V)
    pm.start()
    with pytest.raises(DeviceVanishedError) as ei:
        pm.wait_for_events(2, timeout_s=5)
        pm.stop()
    err = ei.value
    assert "Nordic PPK2" in str(err) and sim.port in str(err)
    part = err.partial_trace
    assert len(part) == 12_000 and not part.complete
    assert [e.time_s for e in part.falling_edges()] == pytest.approx([START / FS])
    assert part.energy_j.sum() == pytest.approx(sim.sent[:12_000].sum() * V / FS, rel=1e-12)
    pm.close()


def test_stray_byte_breaks_the_sample_counter(sims):
    cur, logic = waveform()
    sim = sims(cur, logic, garble_at=15_000)
    with PPK2(sim.port, pin=3) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(GarbledDataError, match=r"counter broke after 150\d\d samples") as ei:
            pm.wait_for_events(2, timeout_s=5)
            pm.stop()
    part = ei.value.partial_trace
    # A slipped word passes the 6-bit counter check by chance 1 time in 64,
    # so the break is caught at the stray byte or within a few samples.
    assert 15_000 <= len(part) <= 15_003
    assert part.energy_j[:15_000].sum() == pytest.approx(sim.sent[:15_000].sum() * V / FS, rel=1e-12)


def test_missing_event(sims):
    cur, logic = waveform(drop_second_pulse=True)
    sim = sims(cur, logic)
    with PPK2(sim.port, pin=3) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(MonitorTimeoutError, match="expected 2 falling edges, saw 1"):
            pm.wait_for_events(2, timeout_s=0.5)
        with pytest.raises(MissingEventError) as ei:
            pm.stop(expect_events=2)
    assert len(ei.value.partial_trace.falling_edges()) == 1


def test_silent_device_gives_no_metadata(sims):
    sim = sims([], [], mute=True)
    with pytest.raises(MonitorTimeoutError, match="no calibration metadata.*END"):
        PPK2(sim.port).open()


def test_device_that_keeps_streaming_after_stop(sims):
    cur, logic = waveform()
    sim = sims(cur, logic, ignore_stop=True)
    with PPK2(sim.port, pin=3, timeout_s=0.5) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        pm.wait_for_events(2, timeout_s=5)
        with pytest.raises(MonitorTimeoutError, match="still streaming") as ei:
            pm.stop()
        assert len(ei.value.partial_trace.falling_edges()) == 2


def test_ampere_mode_cannot_switch_dut_power(sims):
    sim = sims([], [])
    with PPK2(sim.port, mode="ampere") as pm:
        pm.configure(voltage_v=1.8)
        assert sim.mode is None or sim.mode == "ampere"
        with pytest.raises(CommandRejectedError, match="cannot switch DUT power"):
            pm.set_dut_power(True)
