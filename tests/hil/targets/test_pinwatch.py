"""pinwatch plugin end to end: a bare-metal Cortex-M4 image with a known number of instructions
between stores to the mps2-an386 FPGAIO LED register, run under QEMU with -icount shift=0."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinyrig.hil.targets import pinwatch
from tinyrig.hil.targets.pinwatch import MarkerLog, MarkerStore, PinwatchError, build_plugin, plugin_args, symbol_range

LED = 0x40028000
TOOLS = ("qemu-system-arm", "arm-none-eabi-gcc", "arm-none-eabi-nm", "gcc")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_tools = pytest.mark.skipif(bool(MISSING), reason=f"not on PATH: {', '.join(MISSING)}")

# Every instruction between two marker stores is spelled out, so the expected differences are
# exact: 1000 nops + the store; movs + 100 x (subs, bne) + the store; and so on (see DELTAS).
FIRMWARE = r"""
    .syntax unified
    .cpu cortex-m4
    .thumb
    .text
vectors:
    .word 0x20010000
    .word reset

    .global reset
    .type reset, %function
reset:
    ldr r4, =0x40028000
    movs r5, #0
    bl seq_a
    bl seq_b
    movs r0, #0x20              @ SYS_EXIT_EXTENDED
    adr r1, exit_block
    bkpt 0xAB
    b .
    .align 2
exit_block:
    .word 0x20026, 0            @ ADP_Stopped_ApplicationExit, exit code 0
    .ltorg
    .size reset, . - reset

    .type seq_a, %function
seq_a:
    str r5, [r4]                @ 4th instruction from reset
    .rept 1000
    nop
    .endr
    str r5, [r4]                @ +1001
    movs r6, #100
1:  subs r6, #1
    bne 1b
    str r5, [r4]                @ +202
    str r5, [r4, #4]            @ neighbour above: not reported
    strb r5, [r4, #3]           @ +2: last byte of the register
    str r5, [r4, #-4]           @ neighbour below: not reported
    bx lr
    .size seq_a, . - seq_a

    .type seq_b, %function
seq_b:
    str r5, [r4]                @ +4 (str -4, bx lr, bl seq_b, this)
    .rept 10
    nop
    .endr
    str r5, [r4]                @ +11
    bx lr
    .size seq_b, . - seq_b
"""
FIRST = 4
DELTAS = [1001, 202, 2, 4, 11]
ADDRESSES = [LED, LED, LED, LED + 3, LED, LED]


@pytest.fixture(scope="module")
def firmware(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fw")
    (d / "fw.S").write_text(FIRMWARE)
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-Wl,-Ttext=0x0",
                    "-Wl,--entry=reset", "-o", str(d / "fw.elf"), str(d / "fw.S")], check=True)
    return d / "fw.elf"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    return build_plugin(tmp_path_factory.mktemp("cache"))


def run(elf: Path, plugin: Path, out: Path, pc_range=None, skip_range=None) -> list[MarkerStore]:
    cmd = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-icount", "shift=0",
           "-semihosting-config", "enable=on,target=native",
           *plugin_args(plugin, LED, out, pc_range, skip_range),
           "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    return MarkerLog(out).read_new()


@needs_tools
def test_exact_instruction_counts_between_markers(firmware, plugin, tmp_path):
    out = tmp_path / "log,with comma" / "marks.txt"  # QEMU option escaping of the path
    out.parent.mkdir()
    stores = run(firmware, plugin, out)
    counts = [s.instructions for s in stores]
    assert counts[0] == FIRST
    assert [b - a for a, b in zip(counts, counts[1:])] == DELTAS
    assert [s.address for s in stores] == ADDRESSES
    lo_a, hi_a = symbol_range(firmware, "seq_a")
    lo_b, hi_b = symbol_range(firmware, "seq_b")
    assert all(lo_a <= s.pc < hi_a for s in stores[:4]) and all(lo_b <= s.pc < hi_b for s in stores[4:])
    assert stores[1].pc - stores[0].pc == 2 + 1000 * 2  # 16-bit str, 1000 16-bit nops


@needs_tools
def test_runs_are_identical(firmware, plugin, tmp_path):
    run(firmware, plugin, tmp_path / "1.txt")
    run(firmware, plugin, tmp_path / "2.txt")
    assert (tmp_path / "1.txt").read_text() == (tmp_path / "2.txt").read_text() != ""


@needs_tools
def test_pc_range_limits_stores_but_counts_everything(firmware, plugin, tmp_path):
    full = run(firmware, plugin, tmp_path / "full.txt")
    lo, hi = symbol_range(firmware, "seq_b")
    assert hi - lo == 2 + 10 * 2 + 2 + 2
    only_b = run(firmware, plugin, tmp_path / "b.txt", (lo, hi))
    assert only_b == full[4:]


@needs_tools
def test_skip_range_is_not_counted(firmware, plugin, tmp_path):
    """Instructions in the skip range (tinyrig passes the timer interrupt handler) do not count."""
    skipped = run(firmware, plugin, tmp_path / "skip.txt", skip_range=symbol_range(firmware, "seq_b"))
    counts = [s.instructions for s in skipped]
    # str -4, bx lr and bl seq_b still count; seq_b's own 12 instructions do not.
    assert [b - a for a, b in zip(counts, counts[1:])] == DELTAS[:3] + [3, 0]


@needs_tools
def test_symbol_range_spans_several_and_names_missing(firmware):
    lo_a, _ = symbol_range(firmware, "seq_a")
    _, hi_b = symbol_range(firmware, "seq_b")
    assert symbol_range(firmware, "seq_b", "seq_a") == (lo_a, hi_b)
    with pytest.raises(PinwatchError, match="th_timestamp"):
        symbol_range(firmware, "seq_a", "th_timestamp")


def _plugin_copy(tmp_path) -> Path:
    copy = tmp_path / "plugin-src"
    shutil.copytree(pinwatch.PLUGIN_DIR, copy, ignore=shutil.ignore_patterns("cores"))
    return copy


@pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not on PATH")
def test_build_plugin_is_cached_by_source(tmp_path):
    source = _plugin_copy(tmp_path)
    first = build_plugin(tmp_path / "cache", plugin_dir=source)
    mtime = first.stat().st_mtime_ns
    assert build_plugin(tmp_path / "cache", plugin_dir=source) == first and first.stat().st_mtime_ns == mtime
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temporary left behind

    for name in ("pinwatch.c", "thumb_decode.h"):  # a source or a header: either rebuilds
        before = build_plugin(tmp_path / "cache", plugin_dir=source)
        with open(source / name, "a") as f:
            f.write("\n/* edited */\n")
        assert build_plugin(tmp_path / "cache", plugin_dir=source) != before


@pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not on PATH")
def test_build_plugin_reports_compile_error(tmp_path):
    source = _plugin_copy(tmp_path)
    (source / "cycle_model.c").write_text("int broken = ;\n")
    with pytest.raises(PinwatchError, match=rf"(?s){source}.*{source}/cycle_model.c:1"):
        build_plugin(tmp_path / "cache", plugin_dir=source)
    assert not list((tmp_path / "cache" / "qemu_plugin").iterdir())


def test_build_plugin_names_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PinwatchError, match="'gcc' not found"):
        build_plugin(tmp_path)


def test_plugin_args_escapes_commas_and_checks_range(tmp_path):
    args = plugin_args(Path("/x/p.so"), 0x40028000, Path("/a,b/log"), (0x100, 0x180))
    assert args == ["-plugin", "file=/x/p.so,addr=0x40028000,out=/a,,b/log,pc_lo=0x100,pc_hi=0x180"]
    with pytest.raises(ValueError):
        plugin_args(Path("/x/p.so"), 0x40028000, Path("/log"), (0x180, 0x100))


def test_marker_log_tails_and_keeps_partial_line(tmp_path):
    path = tmp_path / "marks.txt"
    log = MarkerLog(path)
    assert log.read_new() == []  # not created yet
    path.write_bytes(b"4 0x1e 0x40028000\n1005 0x7f")
    assert log.read_new() == [MarkerStore(4, 0x1E, LED)]
    with open(path, "ab") as f:
        f.write(b"0 0x40028003\n")
    assert log.read_new() == [MarkerStore(1005, 0x7F0, LED + 3)]
    assert log.read_new() == []
    with open(path, "ab") as f:
        f.write(b"garbage\n")
    with pytest.raises(PinwatchError, match="garbage"):
        log.read_new()
