"""The DUT client against a scripted device on a loopback socket: garbage, silence, hang-ups.

The device here is a test double speaking the protocol's framing (commands end in '%', answers end
with m-ready); the firmware itself is exercised under QEMU in test_firmware_protocol.py.
"""

from __future__ import annotations

import threading

import pytest

from tinyrig.hil.dut.client import Dut, DutDisconnected, DutError, DutTimeout
from tinyrig_testing.scripted_device import ScriptedDevice


IDENTITY = {
    "": b"m-ready\r\n",
    "name": b"m-name-dut-[scripted]\r\nm-ready\r\n",
    "profile": b"m-profile-[fw 1.0]\r\nm-model-[kws01]\r\nm-ready\r\n",
}


def test_open_survives_a_garbled_banner():
    device = ScriptedDevice(b"\xff\xfe\x00noise without end\r\n\x1b[0mm-timestamp-mode-performance\r\nm-init-d",
                            IDENTITY)
    with Dut(device.url, timeout_s=2) as dut:
        profile = dut.open(boot_timeout_s=0.5)
    assert (profile.name, profile.firmware, profile.model) == ("scripted", "fw 1.0", "kws01")


def test_timeout_names_the_command_and_shows_what_came():
    device = ScriptedDevice(b"m-init-done\r\nm-ready\r\n", {**IDENTITY, "infer 1 0": b"m-warmup-start-0\r\n"})
    with Dut(device.url, timeout_s=2) as dut:
        dut.open(boot_timeout_s=1)
        with pytest.raises(DutTimeout) as info:
            dut.command("infer 1 0", timeout_s=0.5)
    message = str(info.value)
    assert "'infer 1 0'" in message and "no m-ready" in message and "m-warmup-start-0" in message


def test_device_errors_are_raised_with_context():
    device = ScriptedDevice(b"m-ready\r\n", IDENTITY)
    with Dut(device.url, timeout_s=2) as dut:
        dut.open(boot_timeout_s=1)
        with pytest.raises(DutError) as info:
            dut.command("bogus")
        assert "e-[Unknown command: bogus]" in str(info.value)
        assert dut.command("bogus", allow_error=True) == ["e-[Unknown command: bogus]"]


def test_hang_up_mid_answer_is_a_disconnect():
    device = ScriptedDevice(b"m-ready\r\n", IDENTITY, hang_up_on="results")
    with Dut(device.url, timeout_s=2) as dut:
        dut.open(boot_timeout_s=1)
        with pytest.raises(DutDisconnected) as info:
            dut.results()
    assert "'results'" in str(info.value)


def test_profile_retried_after_a_lost_answer():
    """The first `name` goes unanswered (a device still booting): open() resyncs and asks again."""
    answers = dict(IDENTITY)
    device = ScriptedDevice(b"", answers)
    answers["name"] = None
    unanswered = threading.Timer(0.3, lambda: answers.__setitem__("name", IDENTITY["name"]))
    unanswered.start()
    with Dut(device.url, timeout_s=0.5) as dut:
        assert dut.open(boot_timeout_s=0.2).model == "kws01"
    assert device.received.count("name") >= 2 and "" in device.received


def test_unreachable_port():
    with pytest.raises(DutDisconnected, match="cannot open"):
        Dut("socket://127.0.0.1:1").open()


def test_batch_waits_by_silence_and_checks_the_count():
    line = b"m-results-[0.500,0.500]\r\n"
    device = ScriptedDevice(b"m-ready\r\n", {**IDENTITY,
                                            "tinyrig batch /t/ok": line * 3 + b"m-batch-done-3\r\nm-ready\r\n",
                                            "tinyrig batch /t/short": line * 2 + b"m-batch-done-2\r\nm-ready\r\n",
                                            "tinyrig batch /t/stuck": line * 2})
    with Dut(device.url, timeout_s=2) as dut:
        dut.open(boot_timeout_s=1)
        assert dut.batch("/t/ok", 3, silence_s=1) == [line.decode().strip()] * 3
        with pytest.raises(DutError, match="expected 3 inputs and m-batch-done-3, got 2 result lines and m-batch-done-2"):
            dut.batch("/t/short", 3, silence_s=1)
        with pytest.raises(DutTimeout, match="no line within 1 s after 2 of 3 inputs"):
            dut.batch("/t/stuck", 3, silence_s=1)
