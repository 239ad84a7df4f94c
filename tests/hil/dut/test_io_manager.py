"""The interface board (IO manager) relay: the bench drives a DUT behind it exactly as on a direct UART.

The board is simulated on a pty (tests/tinyrig_testing/sim_io_manager.py) speaking the protocol the
open runner speaks; behind it sits a DUT: a scripted console here, real firmware under QEMU in the
`qemu` tier."""

from __future__ import annotations

import socket
import threading

import pytest

from tinyrig.hil.dut.client import Dut, DutDisconnected
from tinyrig.hil.dut.io_manager import RELAYED_DB_BYTES, IoManager, IoManagerError, relayed_dut_factory
from tinyrig_testing.sim_io_manager import NAME, IoManagerSim


class ScriptedDut:
    """A console on loopback that answers the MLPerf Tiny commands the test needs."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.commands: list[str] = []
        self.loaded = bytearray()
        threading.Thread(target=self._serve, daemon=True).start()

    def _answer(self, command: str) -> str:
        if command == "profile":
            return "m-profile-[scripted]\r\nm-model-[kws01]\r\n"
        if command == "name":
            return "m-name-dut-[scripted]\r\n"
        if command.startswith("db load "):
            return f"m-[Expecting {command.split()[2]} bytes]\r\n"
        if command.startswith("db "):
            self.loaded += bytes.fromhex(command[3:])
            return "m-load-done\r\n"
        return ""

    def _serve(self):
        conn, _ = self.server.accept()
        with conn:
            conn.sendall(b"m-timestamp-mode-energy\r\nm-init-done\r\nm-ready\r\n")
            pending = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                pending += data
                while b"%" in pending:
                    raw, _, pending = pending.partition(b"%")
                    command = raw.decode().strip()
                    self.commands.append(command)
                    conn.sendall((self._answer(command) + "m-ready\r\n").encode())


@pytest.fixture
def board_and_dut():
    dut = ScriptedDut()
    board = IoManagerSim(dut.url).start()
    yield board, dut
    board.close()


def test_the_board_names_itself(board_and_dut):
    board, _ = board_and_dut
    with IoManager(board.port) as io:
        assert io.name() == NAME


def test_the_dut_answers_through_the_relay_without_the_boards_own_lines(board_and_dut):
    board, scripted = board_and_dut
    with Dut("relay", serial_factory=relayed_dut_factory(board.port)) as dut:
        profile = dut.open()
        assert (profile.model, profile.firmware) == ("kws01", "scripted")
        assert not any("passthrough" in line for line in dut.recent)
        dut.db_chunk_bytes = RELAYED_DB_BYTES
        data = bytes(range(256)) * 2
        dut.load(data)
    assert bytes(scripted.loaded) == data
    db = [c for c in board.dut_commands if c.startswith("db ") and not c.startswith("db load")]
    assert db and max(len(c) - 3 for c in db) == 2 * RELAYED_DB_BYTES
    assert all(c.startswith("dut") for c in board.board_commands)


def test_a_silent_board_is_named_with_its_port():
    board = IoManagerSim("socket://127.0.0.1:9", mute=True).start()
    try:
        with IoManager(board.port, timeout_s=0.5) as io, pytest.raises(IoManagerError, match=board.port):
            io.name()
    finally:
        board.close()


def test_a_missing_board_port_is_one_clear_error(tmp_path):
    with pytest.raises(DutDisconnected, match="interface board"):
        Dut("relay", serial_factory=relayed_dut_factory(str(tmp_path / "ttyACM9"))).open()


@pytest.mark.qemu
def test_real_firmware_behind_the_board_matches_the_reference(models_dir, tmp_path):
    """kws01's energy firmware under QEMU behind the simulated board: loaded in 26-byte `db`
    chunks, inferred, scored; the scores equal the tflite-micro interpreter's."""
    from tinyrig.benchmarks import get_benchmark
    from tinyrig.boards import load_board
    from tinyrig.build.firmware_cache import prepare_firmware
    from tinyrig.hil.dut.inputs import random_inputs
    from tinyrig.hil.dut.reference import ReferenceModel
    from tinyrig.hil.targets.qemu import QemuTarget
    from tinyrig_testing import require_tools

    require_tools("qemu-system-arm", "arm-none-eabi-gcc")
    board, benchmark = load_board("qemu-mps2-an386"), get_benchmark("kws01")
    model = models_dir / "kws01.tflite"
    firmware = prepare_firmware(board, benchmark, model, "energy")
    reference = ReferenceModel(model, benchmark)
    scale, zero_point = reference.input_quantization()
    (item,) = random_inputs(benchmark, 1, 3, scale, zero_point)
    with QemuTarget(board) as target:
        run = target.start(firmware.build.elf)
        sim = IoManagerSim(run.url).start()
        try:
            with Dut("relay", serial_factory=relayed_dut_factory(sim.port)) as dut:
                assert dut.open().model == "kws01"
                assert dut.timestamp_mode() in (None, "energy")
                dut.db_chunk_bytes = RELAYED_DB_BYTES
                dut.load(item.data)
                result = dut.infer(1, 0)
            assert [f"{s:.3f}" for s in result.scores] == reference.run(item.data).scores
        finally:
            sim.close()
