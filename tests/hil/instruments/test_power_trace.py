"""PowerTrace, the registry and the error family: no instrument needed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tinyrig.hil.instruments import (
    DriverUnavailableError,
    MissingEventError,
    PinEvent,
    PowerMonitorError,
    PowerTrace,
    UnknownMonitorError,
    available_monitors,
    get_monitor,
)


def trace(**kw) -> PowerTrace:
    energy = np.arange(1, 11, dtype=float) * 1e-6  # sample i holds (i+1) µJ
    return PowerTrace(
        sample_period_s=1e-3, supply_voltage_v=2.0, energy_j=energy,
        events=[PinEvent(0.007, "falling"), PinEvent(0.002, "falling"), PinEvent(0.003, "rising")],
        source="test", metadata={"k": 1}, **kw,
    )


def test_energy_between_whole_and_partial_samples():
    t = trace()
    assert t.energy_between(0.002, 0.007) == pytest.approx((3 + 4 + 5 + 6 + 7) * 1e-6)
    # half of sample 2 (3 µJ) and a quarter of sample 7 (8 µJ)
    assert t.energy_between(0.0025, 0.00725) == pytest.approx((1.5 + 4 + 5 + 6 + 7 + 2) * 1e-6)
    assert t.energy_between(0.0031, 0.0036) == pytest.approx(0.5 * 4e-6)
    assert t.energy_between(-1.0, 1.0) == pytest.approx(t.total_energy_j)  # clamped to the record
    with pytest.raises(ValueError):
        t.energy_between(0.005, 0.001)


def test_energy_window_uses_the_last_two_falling_edges():
    t = trace()
    t = PowerTrace(t.sample_period_s, t.supply_voltage_v, t.energy_j,
                   events=t.events + [PinEvent(0.009, "falling")])
    win = t.energy_window()
    assert (win.start_s, win.end_s) == (0.007, 0.009)
    assert win.energy_j == pytest.approx((8 + 9) * 1e-6)
    assert win.per_inference_j(17) == pytest.approx(1e-6)
    assert win.average_power_w == pytest.approx(17e-6 / 0.002)


def test_window_with_too_few_edges_says_how_many():
    t = PowerTrace(1e-3, 2.0, np.ones(5), events=[PinEvent(0.001), PinEvent(0.002, "rising")], source="lpm01a")
    with pytest.raises(MissingEventError, match=r"lpm01a.*expected at least 2 falling edges.*saw 1 \(0.001 s\)") as ei:
        t.energy_window()
    assert ei.value.partial_trace is t
    with pytest.raises(MissingEventError, match=r"saw 0 \(none\)"):
        PowerTrace(1e-3, 2.0, []).energy_window()


def test_current_and_from_current_agree():
    cur = np.array([1e-3, 2e-3, 4e-3])
    t = PowerTrace.from_current(cur, sample_period_s=1e-5, supply_voltage_v=3.0)
    np.testing.assert_allclose(t.current_a, cur, rtol=1e-15)
    assert t.total_energy_j == pytest.approx(7e-3 * 3.0 * 1e-5)
    assert t.duration_s == pytest.approx(3e-5)


def test_csv_round_trip_is_exact(tmp_path):
    t = trace(complete=False, error="device vanished")
    t.energy_j[3] = 1 / 3  # a value that only survives with repr()
    path = tmp_path / "trace.csv"
    text = t.to_csv(path)
    assert text.startswith("# tinyrig power trace v1\n")
    assert "index,time_s,energy_j,current_a" in text
    back = PowerTrace.from_csv(path)
    assert np.array_equal(back.energy_j, t.energy_j)
    assert back.events == t.events
    assert (back.sample_period_s, back.supply_voltage_v) == (1e-3, 2.0)
    assert (back.source, back.metadata, back.complete, back.error) == ("test", {"k": 1}, False, "device vanished")
    assert PowerTrace.from_csv(text).energy_j.tolist() == t.energy_j.tolist()


def test_csv_rejects_other_files(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a tinyrig power trace"):
        PowerTrace.from_csv(p)


def test_partial_trace_is_a_marked_copy():
    t = trace()
    p = t.as_partial("boom")
    assert not p.complete and p.error == "boom" and len(p) == len(t)
    p.energy_j[0] = 99
    assert t.energy_j[0] != 99


def test_error_message_names_instrument_port_expected_seen_and_partial():
    err = PowerMonitorError("x failed", instrument="PPK2", port="/dev/ttyACM3",
                            expected="A", seen="B", partial_trace=trace())
    s = str(err)
    assert s.startswith("PPK2 on /dev/ttyACM3: x failed; expected A, saw B")
    assert "kept 10 samples (0.01 s) and 3 pin events" in s


def test_registry():
    assert {"lpm01a", "js220", "ppk2"} <= set(available_monitors())
    with pytest.raises(UnknownMonitorError, match=r"'nope'.*expected one of js220, lpm01a, ppk2"):
        get_monitor("nope")


def test_missing_optional_library_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyjoulescope_driver", None)
    monkeypatch.setitem(sys.modules, "ppk2_api", None)
    monkeypatch.setitem(sys.modules, "ppk2_api.ppk2_api", None)
    with pytest.raises(DriverUnavailableError, match="pip install pyjoulescope_driver"):
        get_monitor("js220").open()
    with pytest.raises(DriverUnavailableError, match="pip install ppk2-api"):
        get_monitor("ppk2", port="/dev/null").open()


def test_package_imports_without_optional_libraries():
    code = (
        "import sys\n"
        "sys.modules['ppk2_api'] = None; sys.modules['pyjoulescope_driver'] = None\n"
        "import tinyrig.hil.instruments as p, tinyrig.hil.instruments.lpm01a, tinyrig.hil.instruments.ppk2, "
        "tinyrig.hil.instruments.joulescope\n"
        "print(sorted(p.available_monitors()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "lpm01a" in out.stdout
