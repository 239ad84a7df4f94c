"""Hostile power monitors on real serial lines (ptys): an LPM01A streaming values that are not
energy (nan, inf, negative), a port that answers a PPK2's metadata request with random bytes.
Each is a PowerMonitorError in one line naming the instrument and the port, never a trace of
0 samples and 0 J passed off as a measurement, never an exception from the instrument library."""

from __future__ import annotations

import time

import numpy as np
import pytest
from tinyrig_testing.pty_sim import PtyInstrument
from tinyrig_testing.sim_lpm01a import LPM01ASim

from tinyrig.hil.instruments import GarbledDataError, PowerMonitorError
from tinyrig.hil.instruments.lpm01a import LPM01A

FREQ = 1000


def _waveform(n: int = 2600) -> np.ndarray:
    return np.full(n, 2e-3 * 1.8 / FREQ)


def _measure(sim) -> None:
    with LPM01A(sim.port, timeout_s=2.0, stop_timeout_s=2.0) as pm:
        pm.configure(voltage_v=1.8)
        pm.set_dut_power(True)
        pm.start()
        time.sleep(0.3)
        pm.stop(expect_events=None)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "-6409-07", "+6409-07", "6.409e-4", ".6409-07"])
def test_lpm01a_samples_that_are_not_energy(text):
    """From the first sample on, every value is `text`: the trace is refused, not 0 J."""
    sim = LPM01ASim(_waveform(), replace_from=0, replacement=text).start()
    try:
        with pytest.raises(GarbledDataError) as caught:
            _measure(sim)
    finally:
        sim.close()
    message = str(caught.value)
    assert "\n" not in message and "X-NUCLEO-LPM01A" in message and sim.port in message, message
    assert repr(text) in message, message


def test_lpm01a_bad_values_after_good_ones_keep_the_good_samples():
    sim = LPM01ASim(_waveform(), replace_from=50, replacement="nan").start()
    try:
        with pytest.raises(GarbledDataError) as caught:
            _measure(sim)
    finally:
        sim.close()
    assert "after 50 samples" in str(caught.value)
    assert caught.value.partial_trace is not None and len(caught.value.partial_trace) == 50


class RandomBytes(PtyInstrument):
    """A port with something else on it: random bytes whatever it is asked."""

    def __init__(self, seed: int):
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def serve(self) -> None:
        while not self.stopping:
            self.read_available(0.01)
            self.send(self.rng.integers(0, 256, 64, dtype=np.uint8).tobytes())


@pytest.mark.parametrize("seed", [1, 2])
def test_ppk2_port_with_random_bytes(seed):
    pytest.importorskip("ppk2_api.ppk2_api", reason="ppk2-api not installed")
    from tinyrig.hil.instruments.ppk2 import PPK2

    noise = RandomBytes(seed).start()
    try:
        with pytest.raises(PowerMonitorError) as caught:
            PPK2(noise.port).open()
    finally:
        noise.close()
    message = str(caught.value)
    assert "\n" not in message and "Nordic PPK2" in message and noise.port in message, message
    assert isinstance(caught.value, GarbledDataError) or "no calibration metadata" in message
