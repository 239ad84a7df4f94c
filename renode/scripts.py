"""Renode scripts for a board and a built ELF: the `.resc` that runs it, the `.robot` test that
checks it, and the pin-event log their GPIO hook writes.

Everything Renode is told comes from one list of monitor commands (`machine_commands`), so the
`.resc` a user runs by hand, the Robot test and tinyrig's own launcher (hil/renode.py) set the
machine up identically:

    mach create "tinyrig"
    machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl
    sysbus LoadELF @/abs/program.elf
    cpu VectorTableOffset 0x08000000        # the repl may map other memory lower (F7: ITCM at 0)
    cpu PerformanceInMips 168               # 1 instruction = 1 cycle of the board clock
    nvic Frequency 168000000                # SysTick counts that clock (repl default: 72 MHz)
    emulation CreateServerSocketTerminal 3456 "tinyrig_uart" false    # raw TCP, no telnet bytes
    connector Connect sysbus.usart1 tinyrig_uart
    sysbus SetHookBeforePeripheralWrite sysbus.gpioPortD "<python: log BSRR writes to the pin>"
    start

The GPIO hook appends one line per write to the timestamp pin's BSRR:
`<executed instructions> <level 0|1> <pc hex> <machine virtual seconds>`. Renode's facts used
here (peripheral names, addresses, command signatures) are cited in docs/renode.md.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from tinyrig.boards import Board

MACHINE_NAME = "tinyrig"
UART_TERMINAL = "tinyrig_uart"  # a plain identifier: the monitor takes it bare in `connector Connect`
DEFAULT_UART_PORT = 3456
# The firmware's protocol sends at most 31 data bytes per `db` command (hil/dut.py).
DB_CHUNK_BYTES = 31
RENODE_DIR_NAME = "renode"


class RenodeScriptError(ValueError):
    """A board cannot be described to Renode (no platform, unknown peripheral, bad path)."""


def _stm32_gpio_ports(names: str) -> dict[int, str]:
    # STM32F4/F7 GPIO ports sit 0x400 apart from 0x40020000 (GPIOA) on AHB1.
    return {0x40020000 + 0x400 * i: f"gpioPort{letter}" for i, letter in enumerate(names)}


@dataclass(frozen=True)
class RenodePlatform:
    """What tinyrig needs to know about one Renode platform file, read off its .repl files."""

    repl: str
    source: str  # the .repl files these facts come from
    uarts: dict[int, str]  # peripheral base address -> name on sysbus
    gpio_ports: dict[int, str]
    leds: dict[tuple[int, int], str] = field(default_factory=dict)  # (port base, pin) -> LED name
    # Memory the platform maps, name -> (base, size): a board's flash and RAM must lie inside.
    memory: dict[str, tuple[int, int]] = field(default_factory=dict)
    cpu: str = "cpu"
    nvic: str = "nvic"
    # Which Renode releases ship `repl` (said when the installed one lacks it), and a description
    # tinyrig ships in renode/platforms/ for those releases: same peripheral names and addresses,
    # built on `fallback_basis`, which they all have.
    availability: str = "every Renode tinyrig supports"
    fallback: str = ""
    fallback_basis: str = ""
    fallback_memory: dict[str, tuple[int, int]] = field(default_factory=dict)

    def description_files(self) -> list[str]:
        """Monitor path tokens to try in order: Renode's own file, then tinyrig's (if any)."""
        return [f"@{self.repl}"] + ([path_token(shipped_platform(self.fallback))] if self.fallback else [])


PLATFORMS: dict[str, RenodePlatform] = {
    "platforms/boards/stm32f4_discovery-kit.repl": RenodePlatform(
        repl="platforms/boards/stm32f4_discovery-kit.repl",
        source="platforms/boards/stm32f4_discovery-kit.repl, stm32f4_discovery.repl, platforms/cpus/stm32f4.repl",
        # STM32_UART (SR/DR layout) in stm32f4.repl.
        uarts={0x40011000: "usart1", 0x40004400: "usart2", 0x40004800: "usart3", 0x40004C00: "uart4",
               0x40005000: "uart5"},
        gpio_ports=_stm32_gpio_ports("ABCDEFGHIJK"),
        # stm32f4_discovery.repl: "UserLED: Miscellaneous.LED @ gpioPortD" wired from pin 12.
        leds={(0x40020C00, 12): "UserLED"},
        memory={"flash": (0x08000000, 0x200000), "sram": (0x20000000, 0x40000)},
    ),
    "platforms/boards/nucleo_f767zi.repl": RenodePlatform(
        repl="platforms/boards/nucleo_f767zi.repl",
        source="platforms/boards/nucleo_f767zi.repl, platforms/cpus/stm32f777.repl",
        # usart1/2/3/6 are STM32F7_USART, uart4/5/7/8 STM32_UART in stm32f777.repl.
        uarts={0x40011000: "usart1", 0x40004400: "usart2", 0x40004800: "usart3", 0x40004C00: "uart4",
               0x40005000: "uart5", 0x40011400: "usart6", 0x40007C00: "uart7", 0x40007800: "uart8"},
        gpio_ports=_stm32_gpio_ports("ABCDEFGHIJK"),
        leds={(0x40020400, 0): "GreenLED", (0x40020400, 7): "BlueLED", (0x40020400, 14): "RedLED"},
        memory={"itcm": (0x00000000, 0x4000), "flash": (0x08000000, 0x200000), "sram": (0x20000000, 0x10000000)},
        # renode/renode commit 708a90df, merged after the v1.16.1 tag: no release up to 1.16.1 has it.
        availability="Renode built from its master branch after 1.16.1 (April 2026); releases up to 1.16.1 lack it",
        fallback="nucleo_f767zi.repl",
        fallback_basis="platforms/cpus/stm32f746.repl",
        fallback_memory={"flash": (0x08000000, 0x200000), "sram": (0x20000000, 0x80000)},
    ),
}

# Offset of the register the pin driver writes, and how a written value maps to the pin level.
# stm32-gpio writes only BSRR (+0x18): bit n sets pin n, bit n+16 resets it; set wins if both.
_PIN_WRITE = {"stm32-gpio": 0x18}


def shipped_platform(name: str) -> Path:
    """A platform description tinyrig ships (renode/platforms/<name>)."""
    return Path(__file__).resolve().parent / "platforms" / name


def platform_for(board: Board) -> RenodePlatform:
    repl = board.emulator.renode_platform
    if not repl:
        raise RenodeScriptError(f"board {board.name} has no Renode platform (emulator.renode_platform in its board file)")
    try:
        return PLATFORMS[repl]
    except KeyError:
        raise RenodeScriptError(
            f"board {board.name}: tinyrig has no peripheral map for Renode platform {repl!r}; "
            f"known: {', '.join(sorted(PLATFORMS))}") from None


def uart_peripheral(board: Board) -> str:
    platform = platform_for(board)
    name = platform.uarts.get(board.console.base)
    if name is None:
        known = ", ".join(f"{n} @ {a:#010x}" for a, n in sorted(platform.uarts.items()))
        raise RenodeScriptError(f"board {board.name}: no UART at console.base {board.console.base:#010x} in "
                                f"{platform.repl} ({known})")
    return f"sysbus.{name}"


def pin_port(board: Board) -> str | None:
    """The sysbus GPIO port holding the timestamp pin, or None when the board has no pin."""
    if board.timestamp_pin.driver == "none":
        return None
    if board.timestamp_pin.driver not in _PIN_WRITE:
        raise RenodeScriptError(f"board {board.name}: pin driver {board.timestamp_pin.driver!r} has no Renode "
                                f"hook (supported: {', '.join(_PIN_WRITE)}, none)")
    platform = platform_for(board)
    name = platform.gpio_ports.get(board.timestamp_pin.register)
    if name is None:
        raise RenodeScriptError(f"board {board.name}: no GPIO port at timestamp_pin.register "
                                f"{board.timestamp_pin.register:#010x} in {platform.repl}")
    return f"sysbus.{name}"


def led_peripheral(board: Board) -> str | None:
    """The Renode LED wired to the timestamp pin (for Robot's LED tester), if the platform has one."""
    port = pin_port(board)
    if port is None:
        return None
    led = platform_for(board).leds.get((board.timestamp_pin.register, board.timestamp_pin.pin))
    return f"{port}.{led}" if led else None


def cpu_mips(board: Board) -> int:
    """`cpu PerformanceInMips` takes whole MIPS; the clock must be whole MHz to keep 1 instr = 1 cycle."""
    if board.clock_hz % 1_000_000:
        raise RenodeScriptError(f"board {board.name}: clock_hz {board.clock_hz} is not a whole number of MHz, "
                                "which Renode's PerformanceInMips needs")
    return board.clock_hz // 1_000_000


_UNSAFE_PATH = re.compile(r"[\"'\\\n\r]")


def path_token(path: Path | str) -> str:
    """A monitor path token: `@` and the absolute path, spaces escaped as the monitor wants."""
    text = str(Path(path).resolve())
    if _UNSAFE_PATH.search(text):
        raise RenodeScriptError(f"path {text!r} contains a quote, backslash or newline, which Renode's monitor "
                                "strings cannot carry; use a path without them")
    return "@" + text.replace(" ", "\\ ")


def pin_hook_python(board: Board, log_path: Path) -> str:
    """One line of Python for `SetHookBeforePeripheralWrite`: log writes that touch the pin.

    It runs inside Renode (IronPython) with `self`, `sysbus`, `machine`, `offset` and `value` set.
    It uses single quotes only and chr(10) for the newline, because the whole line travels inside
    a double-quoted monitor string.
    """
    path = str(Path(log_path).resolve())
    if _UNSAFE_PATH.search(path):
        raise RenodeScriptError(f"pin log path {path!r} contains a quote, backslash or newline")
    pin = board.timestamp_pin.pin
    mask = (1 << pin) | (1 << (pin + 16))
    offset = _PIN_WRITE[board.timestamp_pin.driver]
    return (f"if offset == {offset:#x} and (value & {mask:#x}): "
            f"c = sysbus.GetCurrentCPU(); "
            f"f = open('{path}', 'a'); "
            f"f.write('%d %d %x %.9f%s' % (c.ExecutedInstructions, (value >> {pin}) & 1, c.PC.RawValue, "
            f"machine.LocalTimeSource.ElapsedVirtualTime.TotalSeconds, chr(10))); "
            f"f.close()")


PLATFORM_COMMAND = "machine LoadPlatformDescription"


def machine_commands(board: Board, elf: str, uart_port: str | int, pin_log: Path | None = None,
                     machine: str = MACHINE_NAME, platform_file: str | None = None) -> list[str]:
    """Monitor commands that build the machine, up to (not including) `start`.

    `elf` is a monitor path token (`@/abs/file.elf` from path_token) or a variable (`$elf`);
    `uart_port` a port number or a variable. With `pin_log`, writes to the timestamp pin are logged.
    `platform_file` is the description to load (a path token), by default Renode's own board file.
    """
    platform = platform_for(board)
    commands = [
        f'mach create "{machine}"',
        f"{PLATFORM_COMMAND} {platform_file or '@' + platform.repl}",
        f"sysbus LoadELF {elf}",
        f"{platform.cpu} VectorTableOffset {board.flash.base:#010x}",
        f"{platform.cpu} PerformanceInMips {cpu_mips(board)}",
        f"{platform.nvic} Frequency {board.timer.hz}",
        f'emulation CreateServerSocketTerminal {uart_port} "{UART_TERMINAL}" false',
        f"connector Connect {uart_peripheral(board)} {UART_TERMINAL}",
    ]
    port = pin_port(board)
    if pin_log is not None and port is not None:
        commands.append(f'sysbus SetHookBeforePeripheralWrite {port} "{pin_hook_python(board, pin_log)}"')
    return commands


def _environment() -> jinja2.Environment:
    from tinyrig import templates

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(templates.__file__).resolve().parent / "renode")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _platform_note(board: Board, platform_file: Path | None) -> str:
    """What the scripts load, in words, for their header comment."""
    platform = platform_for(board)
    if platform_file is None:
        return f"Renode's {platform.repl}"
    return (f"{Path(platform_file).name} beside this file: tinyrig's description built on "
            f"{platform.fallback_basis}, because {platform.repl} is only in {platform.availability}")


def render_resc(board: Board, elf: Path, *, uart_port: int = DEFAULT_UART_PORT, pin_log: Path | None = None,
                benchmark: str = "", platform_file: Path | None = None) -> str:
    """A `.resc` a user runs with `renode --disable-xwt board.resc`; $elf and $uart_port overridable.

    `platform_file`: a description file to load instead of Renode's own board file.
    """
    commands = machine_commands(board, "$elf", "$uart_port", pin_log,
                                platform_file=path_token(platform_file) if platform_file else None)
    return _environment().get_template("machine.resc.j2").render(
        board=board, benchmark=benchmark, elf=path_token(elf), uart_port=uart_port, commands=commands,
        uart=uart_peripheral(board), pin_log=str(Path(pin_log).resolve()) if pin_log else "",
        mips=cpu_mips(board), platform_note=_platform_note(board, platform_file))


def render_robot(board: Board, elf: Path, *, input_bytes: int, benchmark: str = "",
                 platform_file: Path | None = None) -> str:
    """A Robot Framework suite for `renode-test`: boot, identify, pin idle level, one inference."""
    # renode-test drives the UART through its own terminal tester, so no socket terminal here.
    commands = [c for c in machine_commands(board, "${ELF}", DEFAULT_UART_PORT,
                                            platform_file=path_token(platform_file) if platform_file else None)
                if "CreateServerSocketTerminal" not in c and not c.startswith("connector Connect")]
    # Robot unescapes backslashes in arguments too: a space escaped for the monitor needs `\\ `.
    commands = [c.replace("\\", "\\\\") if c.startswith(PLATFORM_COMMAND) else c for c in commands]
    full, last = divmod(input_bytes, DB_CHUNK_BYTES)
    # Robot unescapes backslashes in variable values: double them so Renode gets `\ ` for a space.
    return _environment().get_template("benchmark.robot.j2").render(
        board=board, benchmark=benchmark, elf=path_token(elf).replace("\\", "\\\\"), commands=commands, uart=uart_peripheral(board),
        led=led_peripheral(board), input_bytes=input_bytes, full_chunks=full, zero_chunk="00" * DB_CHUNK_BYTES,
        last_chunk="00" * last, idle_high=board.timestamp_pin.idle == "high",
        platform_note=_platform_note(board, platform_file))


def write_renode_files(board: Board, project_dir: Path, elf_path: Path | None = None) -> list[Path]:
    """Writes `<project>/renode/<board>.resc` and `.robot` for a project made by `tinyrig generate`.

    The ELF defaults to the project's PlatformIO performance build (`.pio/build/perf/program.elf`,
    which need not exist yet); the pin log goes beside the scripts. Returns the written paths.
    """
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.codegen.firmware import MANIFEST_NAME

    project_dir = Path(project_dir).resolve()
    try:
        manifest = json.loads((project_dir / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        raise RenodeScriptError(f"{project_dir}: no {MANIFEST_NAME}; write the firmware project first") from None
    if manifest.get("board") != board.name:
        raise RenodeScriptError(f"{project_dir} was generated for board {manifest.get('board')!r}, not {board.name!r}")
    benchmark = get_benchmark(manifest["benchmark"])
    elf = Path(elf_path) if elf_path else project_dir / ".pio" / "build" / "perf" / "program.elf"
    out = project_dir / RENODE_DIR_NAME
    out.mkdir(parents=True, exist_ok=True)
    # A board file that not every supported Renode ships is replaced by tinyrig's description,
    # copied beside the scripts, so the project runs on any of them (and on a machine without tinyrig).
    platform = platform_for(board)
    platform_file = None
    if platform.fallback:
        platform_file = out / platform.fallback
        shutil.copyfile(shipped_platform(platform.fallback), platform_file)
    resc = out / f"{board.name}.resc"
    robot = out / f"{board.name}.robot"
    resc.write_text(render_resc(board, elf, pin_log=out / "pins.log", benchmark=benchmark.id,
                                platform_file=platform_file))
    robot.write_text(render_robot(board, elf, input_bytes=benchmark.input_bytes, benchmark=benchmark.id,
                                  platform_file=platform_file))
    return [resc, robot] + ([platform_file] if platform_file else [])

