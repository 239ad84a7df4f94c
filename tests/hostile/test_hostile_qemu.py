"""Hostile cases that need real firmware under real QEMU: tinyrig killed mid-run, a device that
hangs mid-window or sends escape sequences and markup, a model that breaks one benchmark of a
session, an image that does not fit, timestamp pins on an STM32 GPIO port, host files named on the
console. Firmware is built once per (board, benchmark) and taken from tinyrig's cache after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tinyrig_testing import hostile_models as hm
from tinyrig_testing.dut_proxy import DutProxy
from tinyrig_testing.hostile_support import (Result, TRACEBACK, assert_clear, assert_ok, leftover_emulators, reap, tinyrig_cli)
from tinyrig_testing import require_tools

pytestmark = pytest.mark.qemu

BOARDS = Path(__file__).resolve().parents[2] / "boards"
FAILED, MISMATCH, DB_EXIT, BUILD = 1, 4, 5, 8


@pytest.fixture(autouse=True)
def _tools():
    require_tools("qemu-system-arm", "arm-none-eabi-gcc")


@pytest.fixture(scope="module")
def an386_elf() -> Path:
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.boards import load_board
    from tinyrig.build.firmware_cache import prepare_firmware

    return prepare_firmware(load_board("qemu-mps2-an386"), get_benchmark("kws01"), hm.MODELS / "kws01.tflite",
                            "perf").build.elf


@pytest.fixture
def qemu_console(an386_elf):
    """Starts kws01 firmware under QEMU; returns its console URL (stopped after the test)."""
    from tinyrig.boards import load_board
    from tinyrig.hil.targets.qemu import QemuTarget

    targets = []

    def start() -> str:
        target = QemuTarget(load_board("qemu-mps2-an386"))
        targets.append(target)
        return target.start(an386_elf).url

    yield start
    for target in targets:
        target.stop()


def _board_variant(tmp_path: Path, source: str, name: str, replace: dict[str, str]) -> Path:
    text = (BOARDS / f"{source}.toml").read_text()
    text = text.replace(f'name = "{source}"', f'name = "{name}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _session(root: Path) -> tuple[Path, dict]:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder, json.loads((folder / "results.json").read_text())


# -- tinyrig killed mid-run -------------------------------------------------------------------------

def _start_run(tmp_path: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinyrig.cli", "run", "--benchmark", "kws01", "-n", "40",
                             "--sessions", str(tmp_path / "s"), "--no-record", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_sigint_as_at_a_terminal)


def _sigint_as_at_a_terminal() -> None:
    """A test suite started in the background (`pytest &`, some CI runners) passes SIGINT on as
    ignored, and Python then never turns it into KeyboardInterrupt: give tinyrig what a user's
    Ctrl-C finds."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_windows(proc: subprocess.Popen, root: Path, count: int, timeout_s: float = 120) -> None:
    """Until `count` windows are saved and the run's emulator is up."""
    from tinyrig.hil.targets.processes import tinyrig_emulators

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            _, results = _session(root)
            windows = results["benchmarks"].get("kws01", {}).get("windows", [])
        except (ValueError, FileNotFoundError, KeyError):
            windows = []
        if len(windows) >= count and tinyrig_emulators(started_by=proc.pid):
            return
        time.sleep(0.05)
    raise AssertionError("the run did not get going")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_tinyrig_killed_mid_run_leaves_no_emulator(how, tmp_path, observed):
    """However tinyrig ends, its QEMU goes with it; the windows measured stay, `--resume` finishes."""
    proc = _start_run(tmp_path)
    try:
        _wait_for_windows(proc, tmp_path / "s", 2)
        os.kill(proc.pid, getattr(signal, how))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = leftover_emulators(proc.pid)
    reap(left)
    observed.commands += 1
    observed.leaked += len(left)
    observed.tracebacks += TRACEBACK in out + err
    assert not left, f"emulators outlived tinyrig ({how}): {left}"
    assert TRACEBACK not in out + err, err
    expected_code = {"SIGKILL": -signal.SIGKILL, "SIGTERM": 143, "SIGINT": 130}[how]
    assert proc.returncode == expected_code, err
    folder, results = _session(tmp_path / "s")
    kept = results["benchmarks"]["kws01"]["windows"]
    assert len(kept) >= 2, "the finished windows are kept"
    if how != "SIGKILL":
        assert results["status"] == "interrupted"
        assert f"tinyrig run --resume {folder}" in err and ("terminated" if how == "SIGTERM" else "interrupted") in err
    resumed = tinyrig_cli("run", "--resume", folder, observed=observed)
    assert_ok(resumed)
    _, results = _session(tmp_path / "s")
    windows = results["benchmarks"]["kws01"]["windows"]
    assert results["status"] == "complete" and len(windows) == 5
    assert [w["instructions"] for w in windows[: len(kept)]] == [w["instructions"] for w in kept]


# -- a device that hangs, lies or sends escape sequences (kws01 firmware behind a proxy) -----------

def _run_on_port(tmp_path: Path, url: str, *extra, observed=None, timeout: float = 300) -> Result:
    return tinyrig_cli("run", "--board", "nucleo-l4r5zi", "--target", "hardware", "--no-flash", "--port", url,
                       "--benchmark", "kws01", "-n", "3", "-w", "1", "--sessions", tmp_path / "s", *extra,
                       observed=observed, timeout=timeout)


def test_device_silent_mid_window_then_resume_on_a_new_port(qemu_console, tmp_path, observed):
    """The board hangs in window 3: detected from window 2's pace (not after 900 s); the windows
    before stay; the board comes back on another port; `--resume --port` finishes the session and
    records it in the database the session started with."""
    team_db = tmp_path / "team.sqlite"
    hanging = DutProxy(qemu_console(), silent_after_infers=3)
    started = time.monotonic()
    first = _run_on_port(tmp_path, hanging.url, "--db", team_db, observed=observed)
    took = time.monotonic() - started
    hanging.close()
    line = assert_clear(first, FAILED, "kws01 failed", "the device stopped answering",
                        "in the last window")
    assert took < 120, f"a silent device held the run {took:.0f} s ({line})"
    folder, results = _session(tmp_path / "s")
    assert len(results["benchmarks"]["kws01"]["windows"]) == 2 and results["status"] == "incomplete"

    back = DutProxy(qemu_console())  # the same board, re-enumerated on another port
    resumed = tinyrig_cli("run", "--resume", folder, "--port", back.url, observed=observed)
    back.close()
    assert_ok(resumed, f"recorded in sqlite:///{team_db}")
    _, results = _session(tmp_path / "s")
    assert results["status"] == "complete" and len(results["benchmarks"]["kws01"]["windows"]) == 5
    assert results["options"]["port"] == back.url
    history = tinyrig_cli("history", "--db", team_db, "--json", observed=observed)
    (row,) = json.loads(history.out)["rows"]
    assert row["session_status"] == "complete"
    default = Path(os.environ["TINYRIG_DATA"]) / "results.sqlite"
    assert not default.exists(), "nothing went to the default database"


def test_device_error_is_shown_whole(qemu_console, tmp_path, observed):
    """A firmware error `e-[infer: ...]` reaches the terminal whole (rich used to eat the bracket)."""
    proxy = DutProxy(qemu_console(), host_command=lambda c: b"infer 0 1" if c.startswith(b"infer") else c)
    result = _run_on_port(tmp_path, proxy.url, "--no-record", observed=observed)
    proxy.close()
    assert_clear(result, FAILED, "kws01 failed", "e-[infer: N must be a whole number > 0, got '0']")


def test_escape_sequences_and_markup_from_the_device(qemu_console, tmp_path, observed):
    """What a device sends is shown as visible escapes, never executed by the terminal nor read
    as markup; the session log holds the same visible form."""
    evil = b"e-[\x1b]0;owned\x07\x1b[2J\xff\xfe [/x] [bold]boom]\r\n"
    proxy = DutProxy(qemu_console(), device_line=lambda line: evil + line if line.startswith(b"m-infer-done")
                     else line)
    result = _run_on_port(tmp_path, proxy.url, "--no-record", observed=observed)
    proxy.close()
    line = assert_clear(result, FAILED, "kws01 failed", "device error")
    assert "\\x1b]0;owned\\x07\\x1b[2J\\xff\\xfe [/x] [bold]boom]" in line, line
    folder, _ = _session(tmp_path / "s")
    log = (folder / "log.txt").read_text()
    assert "\x1b" not in log and "\\x1b[2J" in log


def test_device_whose_scores_differ_from_the_reference(qemu_console, tmp_path, observed):
    """Measured, but the scores are not tflite-micro's: the run says which benchmark, exit 4."""
    import re

    def lie(line: bytes) -> bytes:
        return re.sub(rb"m-results-\[[-0-9.]+", b"m-results-[0.999", line)

    proxy = DutProxy(qemu_console(), device_line=lie)
    result = _run_on_port(tmp_path, proxy.url, "--no-record", observed=observed)
    proxy.close()
    assert result.code == MISMATCH and TRACEBACK not in result.text, result.text
    (line,) = [l for l in result.err.splitlines() if l.startswith("kws01:")]
    assert "disagrees with tflite-micro" in line and "scores differ in 5 of 5 windows" in line
    _, results = _session(tmp_path / "s")
    assert results["benchmarks"]["kws01"]["status"] == "complete"  # every window kept


def test_line_noise_before_the_banner(qemu_console, tmp_path, observed):
    """Garbage on the line before the firmware speaks: the bench resynchronises and measures."""
    noise = bytes(range(256)) + b"\r\n%%m-ready\r\n\x1b[31m"
    proxy = DutProxy(qemu_console(), banner_noise=noise)
    result = _run_on_port(tmp_path, proxy.url, "--no-record", observed=observed)
    proxy.close()
    assert_ok(result, "complete")


# -- models, images and pins -----------------------------------------------------------------------

def test_bad_model_fails_its_benchmark_only(tmp_path, observed):
    """A zero scale in kws01 fails kws01 with one line naming file and tensor; ad01 still runs."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "kws01.tflite").write_bytes(hm.with_scale(0.0))
    (models / "ad01.tflite").write_bytes(hm.model_bytes("ad01"))
    result = tinyrig_cli("run", "--benchmark", "kws01,ad01", "--models", models, "--sessions", tmp_path / "s",
                         "--no-record", observed=observed)
    assert_clear(result, FAILED, "kws01 failed", str(models / "kws01.tflite"), "scale 0.0")
    _, results = _session(tmp_path / "s")
    assert results["benchmarks"]["kws01"]["status"] == "failed"
    assert results["benchmarks"]["ad01"]["status"] == "complete"
    assert len(results["benchmarks"]["ad01"]["windows"]) == 5


@pytest.mark.parametrize("fault", ["nan", "zero-point"])
def test_bad_model_in_run(fault, tmp_path, observed):
    models = tmp_path / "models"
    models.mkdir()
    data = hm.with_scale(float("nan")) if fault == "nan" else hm.with_zero_point(100000)
    (models / "kws01.tflite").write_bytes(data)
    result = tinyrig_cli("run", "--benchmark", "kws01", "--models", models, "--sessions", tmp_path / "s",
                         "--no-record", observed=observed)
    assert_clear(result, FAILED, "kws01 failed", "scale nan" if fault == "nan" else "zero point 100000")
    assert "maximum recursion depth" not in result.text


@pytest.mark.parametrize("region", ["RAM", "FLASH"])
def test_image_that_does_not_fit(region, tmp_path, observed):
    """The linker's own words, with the region and the bytes, on the one line."""
    size = {"RAM": "size = 0x00020000   # 128 KiB SRAM1+SRAM2 (CCM not used)",
            "FLASH": "size = 0x00100000   # 1 MiB"}[region]
    board = _board_variant(tmp_path, "qemu-netduinoplus2", f"tiny-{region.lower()}", {size: "size = 0x00004000"})
    result = tinyrig_cli("build", "--board", board, "--benchmark", "kws01", observed=observed)
    assert_clear(result, BUILD, "the image does not fit the board", f"{region} overflowed by")


def test_image_whose_stack_does_not_fit(tmp_path, observed):
    """.data and .bss fit, the stack reserve does not: tinyrig's linker script check, said as such
    (it printed PlatformIO's summary table's dashes as the reason)."""
    board = _board_variant(tmp_path, "qemu-netduinoplus2", "tiny-stack",
                           {"size = 0x00020000   # 128 KiB SRAM1+SRAM2 (CCM not used)": "size = 0x00007800"})
    result = tinyrig_cli("build", "--board", board, "--benchmark", "kws01", observed=observed)
    assert_clear(result, BUILD, "the image does not fit the board: no room is left in RAM for the stack reserve",
                 "of its 30 KB")
    assert "-----" not in result.text


def test_image_that_does_not_fit_in_run(tmp_path, observed):
    board = _board_variant(tmp_path, "qemu-netduinoplus2", "tiny-ram",
                           {"size = 0x00020000   # 128 KiB SRAM1+SRAM2 (CCM not used)": "size = 0x00004000"})
    result = tinyrig_cli("run", "--board", board, "--benchmark", "kws01", "--sessions", tmp_path / "s",
                         "--no-record", observed=observed)
    assert_clear(result, FAILED, "kws01 failed", "RAM overflowed by")


def test_stm32_gpio_timestamp_pin_under_qemu(tmp_path, observed):
    """The QEMU plugin watches BSRR, where the stm32-gpio driver's marker stores go."""
    board = _board_variant(tmp_path, "qemu-netduinoplus2", "netduino-gpio", {
        '[timestamp_pin]\ndriver = "none"':
            '[timestamp_pin]\ndriver = "stm32-gpio"\nregister = 0x40020000\npin = 5\nidle = "high"\n'
            'clock_enable_register = 0x40023830\nclock_enable_bit = 0'})
    result = tinyrig_cli("run", "--board", board, "--benchmark", "kws01", "--sessions", tmp_path / "s",
                         "--no-record", observed=observed)
    assert_ok(result)
    _, results = _session(tmp_path / "s")
    assert {w["instructions_source"] for w in results["benchmarks"]["kws01"]["windows"]} == {"markers"}


# -- the session folder and the database -------------------------------------------------------------

def test_markup_in_the_sessions_path(tmp_path, observed):
    root = tmp_path / "[/x]" / "[bold]"
    result = tinyrig_cli("run", "--benchmark", "kws01", "--sessions", root, "--no-record", observed=observed)
    assert_ok(result, str(root))


def test_run_with_a_corrupt_database(tmp_path, observed):
    """Measured and kept; the database is a warning, the exit status says so (5)."""
    db = tmp_path / "corrupt.sqlite"
    db.write_bytes(b"this is no database" * 100)
    result = tinyrig_cli("run", "--benchmark", "kws01", "--sessions", tmp_path / "s", "--db", db,
                         observed=observed)
    assert result.code == DB_EXIT and TRACEBACK not in result.text, result.text
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "file is not a database" in warnings[0] and "tinyrig record" in warnings[0]
    _, results = _session(tmp_path / "s")
    assert results["status"] == "complete" and len(results["benchmarks"]["kws01"]["windows"]) == 5


def test_accuracy_dataset_with_markup_file_names(tmp_path, observed):
    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    (folder / "[bold]a[-bold].bin").write_bytes(bytes(490))
    (folder / "y_labels.csv").write_text("[bold]a[-bold].bin,12,3\n")
    result = tinyrig_cli("run", "--mode", "accuracy", "--dataset", tmp_path / "data", "--benchmark", "kws01",
                         "--sessions", tmp_path / "s", "--no-record", observed=observed)
    assert_ok(result, "[bold]a[-bold].bin")


def test_accuracy_dataset_that_escapes_its_folder(tmp_path, observed):
    folder = tmp_path / "data" / "kws01"
    folder.mkdir(parents=True)
    (folder / "y_labels.csv").write_text("../../../../etc/hostname,12,3\n")
    result = tinyrig_cli("run", "--mode", "accuracy", "--dataset", tmp_path / "data", "--benchmark", "kws01",
                         "--sessions", tmp_path / "s", "--no-record", observed=observed)
    # The dataset is checked before anything is built: an option that cannot work.
    assert_clear(result, 2, "y_labels.csv:1", "inside it")


# -- host files named on the console (`tinyrig load`) ------------------------------------------------

@pytest.fixture(scope="module")
def loaded_dut(an386_elf):
    """A DUT whose first load came from the bench's own folder, and a second folder beside it."""
    from tinyrig.boards import load_board
    from tinyrig.hil.dut.client import Dut
    from tinyrig.hil.dut.client import input_file_bytes
    from tinyrig.hil.targets.qemu import QemuTarget

    require_tools("qemu-system-arm")
    target = QemuTarget(load_board("qemu-mps2-an386"))
    dut = Dut(target.start(an386_elf).url)
    with tempfile.TemporaryDirectory(prefix="tr") as mine, tempfile.TemporaryDirectory(prefix="tr") as other:
        mine, other = Path(mine), Path(other)
        (mine / "in.bin").write_bytes(input_file_bytes(bytes(range(245)) * 2))
        (mine / "raw.bin").write_bytes(bytes(490))
        (other / "in.bin").write_bytes(input_file_bytes(bytes(490)))
        os.mkfifo(other / "pipe")
        try:
            dut.open()
            dut.fast_load(str(mine / "in.bin"))
            yield dut, mine, other
        finally:
            dut.close()
            target.stop()


LOADS = {
    "etc-passwd": (lambda mine, other: "/etc/passwd", "only files in the folder of the first load"),
    "relative": (lambda mine, other: "in.bin", "give an absolute file path"),
    "dot-dot": (lambda mine, other: f"{mine}/../{other.name}/in.bin", "no '.', '..'"),
    "hidden": (lambda mine, other: f"{mine}/.in.bin", "no '.', '..'"),
    "other-folder": (lambda mine, other: f"{other}/in.bin", "only files in the folder of the first load"),
    "named-pipe": (lambda mine, other: f"{other}/pipe", "only files in the folder of the first load"),
    "no-header": (lambda mine, other: f"{mine}/raw.bin", "not an input file written by the bench"),
    "missing": (lambda mine, other: f"{mine}/absent.bin", "cannot open it"),
}


@pytest.mark.parametrize("case", sorted(LOADS))
def test_console_load_of_a_host_file(case, loaded_dut, observed):
    dut, mine, other = loaded_dut
    path, reason = LOADS[case]
    started = time.monotonic()
    lines = dut.command(f"tinyrig load {path(mine, other)}", allow_error=True, timeout_s=5)
    observed.commands += 1
    assert time.monotonic() - started < 5, "the emulator did not block"
    assert len(lines) == 1 and lines[0].startswith("e-[tinyrig load: ") and reason in lines[0], lines
    # The buffer still holds the bench's own input: no host file's bytes were read into it.
    printed = dut.command("db print")
    data = bytes(int(b, 16) for line in printed for b in line.removeprefix("m-buffer-").split("-"))
    assert data == bytes(range(245)) * 2
