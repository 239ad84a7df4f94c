"""JS220 driver against a fake pyjoulescope_driver.Driver (the library is USB-only)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyrig_testing.fake_js220 import PATH, FakeDriver

from tinyrig.hil.instruments import (
    DeviceVanishedError,
    GarbledDataError,
    MissingEventError,
    MonitorTimeoutError,
    PowerMonitorError,
    get_monitor,
)
from tinyrig.hil.instruments.joulescope import JS220

FS = 1_000_000
V = 1.8
E0, E1 = 100_250, 500_750  # falling edges of GPI0, in 1 MS/s samples (mid-block)
PULSE = 30


def script(n=600_000, drop_second=False):
    t = np.arange(n)
    cur = np.full(n, 2e-3)
    cur[100_000:501_000] = 9e-3  # block-aligned: the edge blocks are flat
    cur[200_000:300_000] = 15e-3 + 3e-3 * np.sin(t[200_000:300_000] / 37.0)  # ripple inside
    gpi = np.ones(n, np.uint8)
    for e in (E0,) if drop_second else (E0, E1):
        gpi[e : e + PULSE] = 0
    return cur, gpi


def measure(fake, **kw):
    with JS220(driver=fake, **kw) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        pm.wait_for_events(2, timeout_s=5)
        return pm.stop(expect_events=2)


def test_energy_window_from_instrument_statistics():
    cur, gpi = script()
    fake = FakeDriver(cur, gpi, voltage_v=V)
    trace = measure(fake)
    win = trace.energy_window()
    assert win.start_s == pytest.approx(E0 / FS, abs=1e-12)
    assert win.end_s == pytest.approx(E1 / FS, abs=1e-12)
    exact = (cur[E0:E1] * V).sum() / FS
    assert win.energy_j == pytest.approx(exact, rel=1e-9)
    # One trace sample per 1 ms statistics block, equal to the block energies.
    assert trace.sample_period_s == pytest.approx(1e-3)
    blocks = fake.expected_block_energy()
    n = min(len(trace), blocks.size)
    assert n > E1 // 1000  # stop() came after the second edge
    np.testing.assert_allclose(trace.energy_j[:n], blocks[:n], rtol=1e-12)
    rising = [e.time_s for e in trace.events if e.edge == "rising"]
    assert rising == pytest.approx([(E0 + PULSE) / FS, (E1 + PULSE) / FS])
    pub = dict(fake.published)
    assert pub[f"{PATH}/s/stats/scnt"] == 1000
    assert pub[f"{PATH}/s/i/range/mode"] == "auto"
    assert pub[f"{PATH}/s/extio/voltage"] == 1800
    assert pub[f"{PATH}/s/gpi/0/ctrl"] == 0 and pub[f"{PATH}/s/stats/ctrl"] == 0  # stopped
    assert fake.opened == [] and not fake.finalized  # an injected driver is not finalised


def test_registry_and_device_selection():
    fake = FakeDriver(*script())
    pm = get_monitor("js220", driver=fake, device="004079")
    pm.open()
    assert pm.port == PATH
    pm.close()
    with pytest.raises(PowerMonitorError, match=r"exactly one JS220 matching '999999'.*saw none"):
        JS220(driver=fake, device="999999").open()


def test_device_removed_mid_run_keeps_blocks():
    cur, gpi = script()
    fake = FakeDriver(cur, gpi, vanish_at_block=300)
    pm = JS220(driver=fake)
    pm.open()
    pm.configure(voltage_v=V)
    pm.start()
    with pytest.raises(DeviceVanishedError, match="removed") as ei:
        pm.wait_for_events(2, timeout_s=5)
        pm.stop()
    part = ei.value.partial_trace
    assert len(part) == 300 and not part.complete
    assert [e.time_s for e in part.falling_edges()] == pytest.approx([E0 / FS])
    np.testing.assert_allclose(part.energy_j, fake.expected_block_energy()[:300], rtol=1e-12)
    pm.close()


def test_garbled_statistics_message():
    cur, gpi = script()
    fake = FakeDriver(cur, gpi, garble_at_block=250)
    with JS220(driver=fake) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(GarbledDataError, match="malformed statistics message after 250 blocks") as ei:
            pm.wait_for_events(2, timeout_s=5)
            pm.stop()
    assert len(ei.value.partial_trace) == 250


def test_missing_event():
    cur, gpi = script(drop_second=True)
    fake = FakeDriver(cur, gpi)
    with JS220(driver=fake) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(MonitorTimeoutError, match="expected 2 falling edges, saw 1"):
            pm.wait_for_events(2, timeout_s=0.5)
        with pytest.raises(MissingEventError) as ei:
            pm.stop(expect_events=2)
    assert len(ei.value.partial_trace.falling_edges()) == 1


def test_stalled_stream_times_out():
    cur, gpi = script()
    fake = FakeDriver(cur, gpi, stall_at_block=50)
    with JS220(driver=fake) as pm:
        pm.configure(voltage_v=V)
        pm.start()
        with pytest.raises(MonitorTimeoutError) as ei:
            pm.wait_for_events(2, timeout_s=0.5)
    assert len(ei.value.partial_trace) == 50


def test_real_library_without_a_device():
    """The real pyjoulescope_driver, if installed: no JS220 attached is a clear error."""
    pytest.importorskip("pyjoulescope_driver", reason="pyjoulescope_driver not installed")
    pm = JS220()
    with pytest.raises(PowerMonitorError, match="exactly one JS220 attached.*saw none"):
        pm.open()
    pm.close()
