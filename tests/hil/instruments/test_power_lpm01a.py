"""LPM01A driver against the pty simulator: energy, and every bad case."""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig_testing.sim_lpm01a import LPM01ASim, encode

from tinyrig.hil.instruments import (
    CommandRejectedError,
    DeviceVanishedError,
    GarbledDataError,
    MissingEventError,
    MonitorTimeoutError,
    get_monitor,
)
from tinyrig.hil.instruments.lpm01a import LPM01A, parse_values

FREQ = 1000
V = 1.8
START, END = 500, 2100  # sample indices the timestamp-pin events precede


def waveform(n: int = 2600) -> np.ndarray:
    """Idle 2 mA, 'inference' bursts of 12 mA and 7 mA, at 1.8 V and 1 kHz (J/sample)."""
    i = np.full(n, 2e-3)
    i[START:END] = 7e-3
    i[START + 100 : START + 600] = 12e-3
    return i * V / FREQ


@pytest.fixture
def sim_factory():
    sims = []

    def make(*args, **kwargs):
        sim = LPM01ASim(*args, **kwargs).start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.close()


def run(sim, *, wait_events=2, expect_events=2, timeout_s=5.0):
    with LPM01A(sim.port, timeout_s=2.0, stop_timeout_s=2.0) as pm:
        pm.configure(voltage_v=V)
        pm.set_dut_power(True)
        pm.start()
        pm.wait_for_events(wait_events, timeout_s=timeout_s)
        return pm.stop(expect_events=expect_events)


def test_encode_parse_round_trip():
    for v in (3.0e-5, 6.409e-4, 1.23456e-9, 9.99996e-6):
        text, exact = encode(v)
        assert parse_values(text)[0] == pytest.approx(exact, rel=1e-15)
        assert exact == pytest.approx(v, rel=5e-4)
    assert list(parse_values("6409-071000+00")) == pytest.approx([6.409e-4, 1000.0])


def test_energy_window_matches_the_simulated_waveform(sim_factory):
    wf = waveform()
    sim = sim_factory(wf, events=(START, END))
    trace = run(sim)
    win = trace.energy_window()
    assert win.start_s == pytest.approx(START / FREQ)
    assert win.end_s == pytest.approx(END / FREQ)
    # Exactly the samples the instrument sent between the events ...
    assert win.energy_j == pytest.approx(sum(sim.sent[START:END]), rel=1e-12)
    # ... which is the true waveform to within the 4-digit ASCII rounding.
    assert win.energy_j == pytest.approx(wf[START:END].sum(), rel=5e-4)
    assert trace.complete and trace.source == "lpm01a"
    assert trace.sample_period_s == pytest.approx(1e-3)
    assert trace.metadata["board_id"] == "540554545-1430736921-1900587"
    # The runner's configuration reached the instrument.
    for cmd in ("htc", "eventsrc d7 fal", "output energy", "format ascii_dec",
                "freq 1k", "volt 1800m", "acqtime inf", "trigsrc sw", "pwr on nostatus", "start", "stop"):
        assert cmd in sim.commands
    assert sim.commands[-2:] == ["pwr off", "hrc"]


def test_several_values_on_one_line(sim_factory):
    wf = waveform()
    sim = sim_factory(wf, events=(START, END), values_per_line=7)
    win = run(sim).energy_window()
    assert win.energy_j == pytest.approx(sum(sim.sent[START:END]), rel=1e-12)
    assert win.start_s == pytest.approx(START / FREQ)


def test_registry_builds_the_driver(sim_factory):
    sim = sim_factory(waveform(), events=(START, END))
    pm = get_monitor("lpm01a", port=sim.port)
    assert isinstance(pm, LPM01A)


def test_device_vanishes_mid_run_keeps_samples(sim_factory):
    sim = sim_factory(waveform(), events=(START, END), vanish_after=1200)
    pm = LPM01A(sim.port, timeout_s=2.0)
    pm.open()
    pm.configure(voltage_v=V)
    pm.start()
    with pytest.raises(DeviceVanishedError) as ei:
        pm.wait_for_events(2, timeout_s=5.0)
    err = ei.value
    assert sim.port in str(err) and "X-NUCLEO-LPM01A" in str(err)
    part = err.partial_trace
    assert part is not None and not part.complete
    # Whatever reached the host before the hang-up is kept, event included.
    assert len(part) == 1200
    assert [e.time_s for e in part.falling_edges()] == pytest.approx([START / FREQ])
    assert part.energy_j.sum() == pytest.approx(sum(sim.sent[:1200]), rel=1e-12)
    pm.close()  # must not hang or raise on a dead port


def test_garbled_line_is_an_error_with_the_samples_before_it(sim_factory):
    sim = sim_factory(waveform(), events=(START, END), garble_at=800)
    pm = LPM01A(sim.port, timeout_s=2.0)
    with pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(GarbledDataError) as ei:
            pm.wait_for_events(2, timeout_s=5.0)
    err = ei.value
    assert "64#9-07" in str(err)
    assert len(err.partial_trace) == 800
    assert [e.time_s for e in err.partial_trace.events] == pytest.approx([START / FREQ])


def test_missing_event(sim_factory):
    sim = sim_factory(waveform(), events=(START, END), drop_events=(END,))
    with LPM01A(sim.port, timeout_s=2.0, stop_timeout_s=2.0) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(MonitorTimeoutError) as ei:
            pm.wait_for_events(2, timeout_s=0.5)
        assert "expected 2 falling edges, saw 1" in str(ei.value)
        with pytest.raises(MissingEventError) as ei2:
            pm.stop(expect_events=2)
    part = ei2.value.partial_trace
    assert len(part.falling_edges()) == 1 and len(part) >= len(sim.script)
    with pytest.raises(MissingEventError, match=r"saw 1 \(0.5 s\)"):
        part.energy_window()


def test_no_end_marker_after_stop_times_out(sim_factory):
    sim = sim_factory(waveform(), events=(START, END), no_end_marker=True)
    with LPM01A(sim.port, timeout_s=2.0, stop_timeout_s=0.5) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        pm.wait_for_events(2, timeout_s=5.0)
        with pytest.raises(MonitorTimeoutError, match="Acquisition completed") as ei:
            pm.stop()
    assert len(ei.value.partial_trace) >= len(sim.script)
    assert len(ei.value.partial_trace.falling_edges()) == 2


def test_silent_instrument_times_out_naming_the_command(sim_factory):
    sim = sim_factory([], mute=True)
    pm = LPM01A(sim.port, timeout_s=0.3)
    with pytest.raises(MonitorTimeoutError, match=r"no answer to 'htc'"):
        pm.open()
    pm.close()


def test_rejected_voltage_carries_the_instrument_detail(sim_factory):
    sim = sim_factory([])
    with LPM01A(sim.port, timeout_s=2.0) as pm:
        with pytest.raises(CommandRejectedError, match=r"volt 5000m.*out of range"):
            pm.configure(voltage_v=5.0)


def test_unopenable_port():
    with pytest.raises(DeviceVanishedError, match="cannot open"):
        LPM01A("/dev/nonexistent-lpm01a").open()


def test_frequency_too_high_for_ascii_energy():
    with pytest.raises(ValueError, match="5000 Hz"):
        LPM01A("/dev/null", freq="10k")
