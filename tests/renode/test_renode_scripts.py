"""The generated .resc and .robot files, parse-level: every command well-formed, and every address,
port and name consistent with the board file and with Renode's platform description."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import all_boards, load_board
from tinyrig.hil.targets import renode_pins
from tinyrig.renode import scripts as rs

RENODE_BOARDS = [b.name for b in all_boards() if b.emulator.renode_platform]
ELF = Path("/work/firmware build/program.elf")  # a space on purpose: the monitor wants it escaped

# One pattern per monitor command the scripts may contain (Renode's monitor syntax).
COMMAND_FORMS = {
    "mach": r'mach create "(?P<machine>[A-Za-z0-9_]+)"',
    "platform": r"machine LoadPlatformDescription @(?P<repl>platforms/\S+\.repl)",
    "elf": r"sysbus LoadELF (?P<elf>\$elf|\$\{ELF\}|@(?:\\ |\S)+)",
    "vtor": r"cpu VectorTableOffset (?P<vtor>0x[0-9a-f]{8})",
    "mips": r"cpu PerformanceInMips (?P<mips>\d+)",
    "systick": r"nvic Frequency (?P<hz>\d+)",
    "terminal": r'emulation CreateServerSocketTerminal (?P<port>\$uart_port|\d+) "(?P<term>[A-Za-z0-9_]+)" false',
    "connect": r"connector Connect (?P<uart>sysbus\.\w+) (?P<term2>[A-Za-z0-9_]+)",
    "hook": r'sysbus SetHookBeforePeripheralWrite (?P<port_name>sysbus\.\w+) "(?P<python>[^"]+)"',
    "start": r"start",
}


def _parse_resc(text: str) -> tuple[dict[str, str], dict[str, dict]]:
    variables, commands = {}, {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#") or line.startswith(":"):
            continue
        assignment = re.fullmatch(r"\$(\w+)\?=(\S.*)", line)
        if assignment:
            variables[assignment.group(1)] = assignment.group(2)
            continue
        for kind, pattern in COMMAND_FORMS.items():
            match = re.fullmatch(pattern, line)
            if match:
                assert kind not in commands, f"{kind} twice"
                commands[kind] = match.groupdict()
                break
        else:
            pytest.fail(f"not a command tinyrig emits: {line!r}")
    return variables, commands


@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_resc_commands_are_well_formed_and_match_the_board(name, tmp_path):
    board = load_board(name)
    platform = rs.platform_for(board)
    text = rs.render_resc(board, ELF, uart_port=4321, pin_log=tmp_path / "pins.log", benchmark="kws01")
    variables, c = _parse_resc(text)
    assert list(c) == list(COMMAND_FORMS)  # every command once, in this order, `start` last
    assert variables == {"elf": "@/work/firmware\\ build/program.elf", "uart_port": "4321"}
    assert c["elf"]["elf"] == "$elf" and c["terminal"]["port"] == "$uart_port"
    assert c["platform"]["repl"] == board.emulator.renode_platform
    assert int(c["vtor"]["vtor"], 16) == board.flash.base
    assert int(c["mips"]["mips"]) * 1_000_000 == board.clock_hz
    assert int(c["systick"]["hz"]) == board.timer.hz
    assert c["terminal"]["term"] == c["connect"]["term2"]
    assert c["connect"]["uart"] == "sysbus." + platform.uarts[board.console.base]
    assert c["hook"]["port_name"] == "sysbus." + platform.gpio_ports[board.timestamp_pin.register]
    assert f"open('{tmp_path / 'pins.log'}', 'a')" in c["hook"]["python"]


@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_board_memory_lies_inside_what_the_platform_maps(name):
    board = load_board(name)
    platform = rs.platform_for(board)
    for memory in (platform.memory, platform.fallback_memory) if platform.fallback else (platform.memory,):
        for region in (board.flash, board.ram):
            assert any(base <= region.base and region.end <= base + size for base, size in memory.values()), region


def test_the_shipped_f767_description_maps_what_the_board_and_tinyrig_need():
    """Read off the file itself: the RAM size it sets, the LEDs it wires, what it builds on."""
    platform = rs.platform_for(load_board("renode-nucleo-f767zi"))
    text = rs.shipped_platform(platform.fallback).read_text()
    assert f'using "{platform.fallback_basis}"' in text
    assert re.search(r"^sram:\n\s+size: 0x80000$", text, re.M)
    assert platform.fallback_memory["sram"] == (0x20000000, 0x80000)
    for (port, pin), led in platform.leds.items():
        assert f"{led}: Miscellaneous.LED @ gpioPortB {pin}" in text and f"{pin} -> {led}@0" in text


def test_write_renode_files_for_a_board_renode_does_not_always_ship(tmp_path):
    board = load_board("renode-nucleo-f767zi")
    project = tmp_path / "my project"  # a space: the monitor and Robot escapes are both exercised
    project.mkdir()
    (project / "tinyrig.json").write_text(json.dumps({"board": board.name, "benchmark": "kws01"}))
    resc, robot, repl = rs.write_renode_files(board, project)
    assert repl.read_text() == rs.shipped_platform("nucleo_f767zi.repl").read_text()
    token = rs.path_token(repl)
    assert f"machine LoadPlatformDescription {token}\n" in resc.read_text()
    assert "tinyrig's description built on platforms/cpus/stm32f746.repl" in resc.read_text()
    robot_api = pytest.importorskip("robot.api")
    from robot.utils import unescape

    model = robot_api.get_model(robot.read_text())
    keywords = next(s for s in model.sections if type(s).__name__ == "KeywordSection")
    loads = [" ".join(t.value for t in step.get_tokens("ARGUMENT")) for kw in keywords.body for step in kw.body
             if hasattr(step, "get_tokens") and "LoadPlatformDescription" in str(step)]
    assert [unescape(a) for a in loads] == [f"machine LoadPlatformDescription {token}"]


class _FakeCPU:
    ExecutedInstructions = 123456

    class PC:
        RawValue = 0x080001F4


class _FakeMachine:
    class LocalTimeSource:
        class ElapsedVirtualTime:
            TotalSeconds = 0.000734857


class _FakeSysbus:
    @staticmethod
    def GetCurrentCPU():
        return _FakeCPU()


@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_the_pin_hook_logs_exactly_the_writes_that_touch_the_pin(name, tmp_path):
    """Runs the hook's Python (it is plain Python 2/3) with stand-ins for Renode's objects."""
    board = load_board(name)
    log = tmp_path / "pins.log"
    code = compile(rs.pin_hook_python(board, log), "hook", "exec")
    pin = board.timestamp_pin.pin
    writes = [(0x18, 1 << pin), (0x18, 1 << (pin + 16)), (0x18, 1 << ((pin + 1) % 16)), (0x14, 1 << pin),
              (0x18, (1 << pin) | (1 << (pin + 16)))]
    for offset, value in writes:
        exec(code, {"sysbus": _FakeSysbus(), "machine": _FakeMachine(), "offset": offset, "value": value})
    events = renode_pins.PinLog(log).read_new()
    # Set, reset, and set+reset (set wins, as on STM32); other pins and other registers not logged.
    assert [e.level for e in events] == [1, 0, 1]
    assert events[0] == renode_pins.PinEvent(123456, 1, 0x080001F4, 0.000734857)


@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_robot_suite_parses_and_loads_exactly_one_input(name):
    robot_api = pytest.importorskip("robot.api", reason="robotframework not installed (pip install robotframework)")
    board = load_board(name)
    bench = get_benchmark("vww01")
    text = rs.render_robot(board, ELF, input_bytes=bench.input_bytes, benchmark=bench.id)
    model = robot_api.get_model(text)
    errors = [e for section in model.sections for e in getattr(section, "errors", ())]
    assert not errors
    tests = [t.name for t in robot_api.get_model(text).sections[-1].body if hasattr(t, "name")]
    assert tests == ["Boots And Identifies Itself", "Timestamp Pin Idles High", "Runs One Inference"]
    variables = dict(re.findall(r"^\$\{(\w+)\}\s{2,}(.+)$", text, re.M))
    from robot.utils import unescape

    assert unescape(variables["ELF"]) == rs.path_token(ELF)  # what Renode gets after Robot's unescaping
    assert variables["UART"] == rs.uart_peripheral(board) and variables["PIN_LED"] == rs.led_peripheral(board)
    sent = int(variables["FULL_CHUNKS"]) * len(variables["ZERO_CHUNK"]) // 2 + len(variables.get("LAST_CHUNK", "")) // 2
    assert sent == bench.input_bytes == int(variables["INPUT_BYTES"])
    assert len(variables["ZERO_CHUNK"]) // 2 == rs.DB_CHUNK_BYTES
    # Every ${NAME} used is defined here or by renode-test (RENODEKEYWORDS) or a FOR loop.
    used = set(re.findall(r"\$\{(\w+)\}", text)) - {"RENODEKEYWORDS", "i", "command"}
    assert used <= set(variables)
    assert "CreateServerSocketTerminal" not in text  # renode-test has its own terminal tester


def test_write_renode_files_for_a_generated_project(tmp_path):
    board = load_board("renode-stm32f4-discovery")
    bench = get_benchmark("kws01")
    project = tmp_path / "project"
    # write_renode_files reads only the manifest's board and benchmark (the project may be unbuilt).
    project.mkdir()
    (project / "tinyrig.json").write_text(json.dumps({"board": board.name, "benchmark": bench.id}))
    paths = rs.write_renode_files(board, project)
    assert [p.name for p in paths] == ["renode-stm32f4-discovery.resc", "renode-stm32f4-discovery.robot"]
    resc, robot = (p.read_text() for p in paths)
    elf = project.resolve() / ".pio" / "build" / "perf" / "program.elf"
    assert f"$elf?=@{elf}" in resc and f"${{ELF}}              @{elf}" in robot
    assert f"open('{project.resolve() / 'renode' / 'pins.log'}', 'a')" in resc
    assert "m-model-[kws01]" in robot and "${INPUT_BYTES}      490" in robot
    other = rs.write_renode_files(board, project, elf_path=tmp_path / "mine.elf")
    assert f"$elf?=@{tmp_path / 'mine.elf'}" in other[0].read_text()
    with pytest.raises(rs.RenodeScriptError, match="generated for board 'renode-stm32f4-discovery'"):
        rs.write_renode_files(load_board("renode-nucleo-f767zi"), project)
    with pytest.raises(rs.RenodeScriptError, match="no tinyrig.json"):
        rs.write_renode_files(board, tmp_path / "empty")


def test_boards_renode_cannot_describe_get_clear_errors(tmp_path):
    with pytest.raises(rs.RenodeScriptError, match="qemu-mps2-an386 has no Renode platform"):
        rs.machine_commands(load_board("qemu-mps2-an386"), "$elf", 1)
    text = Path(load_board("renode-stm32f4-discovery").path).read_text()
    odd = tmp_path / "renode-odd.toml"
    odd.write_text(text.replace('name = "renode-stm32f4-discovery"', 'name = "renode-odd"')
                   .replace("base = 0x40011000", "base = 0x40011400"))
    with pytest.raises(rs.RenodeScriptError, match=r"no UART at console.base 0x40011400 in .*usart1 @ 0x40011000"):
        rs.uart_peripheral(load_board(odd))
    other = tmp_path / "renode-other.toml"
    other.write_text(text.replace('name = "renode-stm32f4-discovery"', 'name = "renode-other"')
                     .replace("stm32f4_discovery-kit.repl", "stm32f4_discovery.repl"))
    with pytest.raises(rs.RenodeScriptError, match="no peripheral map for Renode platform"):
        rs.platform_for(load_board(other))
    with pytest.raises(rs.RenodeScriptError, match="quote, backslash or newline"):
        rs.path_token("/tmp/it's.elf")


def test_pin_log_waits_for_whole_lines_and_rejects_garbage(tmp_path):
    log = tmp_path / "pins.log"
    reader = renode_pins.PinLog(log)
    assert reader.read_new() == []  # not created yet: no write has happened
    log.write_text("10 1 8000100 0.000001\n20 0 80")
    assert [e.instructions for e in reader.read_new()] == [10]
    with open(log, "a") as f:
        f.write("00120 0.000002\n")
    assert reader.read_new() == [renode_pins.PinEvent(20, 0, 0x8000120, 0.000002)]
    with open(log, "a") as f:
        f.write("30 2 8000100 0.1\n")
    with pytest.raises(rs.RenodeScriptError, match="level 2 is not 0 or 1"):
        reader.read_new()
    events = [renode_pins.PinEvent(1, 1, 0, 0), renode_pins.PinEvent(2, 0, 0, 0), renode_pins.PinEvent(3, 0, 0, 0), renode_pins.PinEvent(4, 1, 0, 0)]
    assert [e.instructions for e in renode_pins.edges(events, level=1)] == [2, 4]
