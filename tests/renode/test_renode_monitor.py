"""MonitorClient against FakeMonitor in-process, which replays a real Renode's bytes (telnet
negotiation, colours, prompts, echo, errors; tests/tinyrig_testing/renode_transcripts/renode-1.16.0.json)."""

from __future__ import annotations

import pytest
from tinyrig_testing.fake_renode import FakeMonitor, load_transcript

from tinyrig.hil.targets.renode import MonitorClient, MonitorError, MonitorTimeout, RenodeError, _has_red, _split_echo


@pytest.fixture
def monitor():
    servers = []

    def make(script=None, plain=True) -> tuple[FakeMonitor, MonitorClient]:
        server = FakeMonitor(script=script, plain=plain).start()
        servers.append(server)
        client = MonitorClient("127.0.0.1", server.port, timeout_s=2)
        client.connect(5)
        return server, client

    yield make
    for server in servers:
        server.close()


@pytest.mark.parametrize("plain", [True, False])
def test_prompts_echo_and_output(monitor, plain):
    server, client = monitor(plain=plain)
    assert client.prompt == "monitor"
    assert client.execute('mach create "tinyrig"') == ""
    assert client.prompt == "tinyrig"  # the prompt follows the current machine
    long = 'sysbus SetHookBeforePeripheralWrite sysbus.gpioPortD "' + "x = 1; " * 80 + '"'
    assert client.execute(long) == ""  # a 570-character echo is not mistaken for output
    assert client.execute("version") == "Renode, version 1.16.0 (-202612060353)"  # recorded output
    # Nothing but the commands: the connection sent no telnet option that 1.16.0 would take for typing.
    assert server.commands == ['mach create "tinyrig"', long, "version"]
    assert b"\xff" not in server.received
    assert client.transcript[0] == ("sent", 'mach create "tinyrig"')


def test_recorded_output_is_parsed_as_renode_wrote_it(monitor):
    _, client = monitor()
    client.execute('mach create "tinyrig"')
    assert client.execute("sysbus ReadDoubleWord 0x20000004") == "0x00000010"  # "0x...\r\r\n" then the prompt
    assert client.execute("start") == "Starting emulation..."


@pytest.mark.parametrize("plain", [True, False])
def test_errors_raise_with_renodes_message(monitor, plain):
    _, client = monitor({"errors": {"cpu": "Could not find device cpu"}}, plain=plain)
    with pytest.raises(MonitorError, match="Renode refused 'cpu PerformanceInMips 168'") as caught:
        client.execute("cpu PerformanceInMips 168")
    assert "Could not find device cpu" in caught.value.output
    assert "There was an error executing command 'cpu PerformanceInMips 168'" in caught.value.output
    assert client.execute("version").startswith("Renode, version")  # still usable after an error


def test_a_missing_file_is_refused_with_renodes_words(monitor):
    _, client = monitor()
    client.execute('mach create "tinyrig"')
    with pytest.raises(MonitorError, match="Could not find file 'platforms/boards/no_such_board.repl'"):
        client.execute("machine LoadPlatformDescription @platforms/boards/no_such_board.repl")


def test_timeout_and_closed_connection(monitor):
    server, client = monitor({"hang": ["sysbus LoadELF"], "exit_on": {"quit": 0}})
    with pytest.raises(MonitorTimeout, match="no prompt within 1 s after 'sysbus LoadELF @/x.elf'"):
        client.execute("sysbus LoadELF @/x.elf", timeout_s=1)
    _, client2 = monitor({"exit_on": {"emulation": 1}})
    with pytest.raises(RenodeError, match="closed the connection after 'emulation CreateServerSocketTerminal"):
        client2.execute('emulation CreateServerSocketTerminal 1 "t" false')


def test_no_monitor_listening_times_out():
    client = MonitorClient("127.0.0.1", 1, timeout_s=1)
    with pytest.raises(MonitorTimeout, match="did not accept a connection on 127.0.0.1:1"):
        client.connect(0.5)


def test_telnet_sequences_are_stripped_across_reads():
    client = MonitorClient("127.0.0.1", 1)
    # IAC DO NAWS split over two reads, an escaped 255, and a subnegotiation with IAC IAC inside.
    assert client._strip_telnet(b"ab\xff\xfd") + client._strip_telnet(b"\x1fcd\xff\xffe") == b"abcd\xffe"
    assert client._strip_telnet(b"\xff\xfa\x1f\x00\xff\xff\x00\x10\xff\xf0(monitor) ") == b"(monitor) "


def test_split_echo_handles_wrapped_echo_and_missing_echo():
    assert _split_echo("sysbus Load\nELF @/x\nout", "sysbus LoadELF @/x") == "\nout"
    assert _split_echo("something else", "start") == "something else"


def test_red_is_recognised_as_renode_1_16_writes_it():
    colour = load_transcript()["sessions"]["colour"]["exchanges"]
    error = next(e["answer"] for e in colour if e["line"].startswith("cpu PerformanceInMips"))
    above_prompt = error.rsplit("\n", 1)[0]
    assert _has_red(above_prompt)  # ESC[;031m, recorded
    prompt_only = next(e["answer"] for e in colour if e["line"].startswith("mach create"))
    assert not _has_red(prompt_only.rsplit("\n", 1)[0])
