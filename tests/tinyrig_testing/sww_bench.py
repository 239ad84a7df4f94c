"""An sww01 bench made of real and simulated parts: the sww01 firmware under QEMU as the DUT,
behind a simulated interface board on a pty. The emulated DUT has no I2S, so before the host's
commands the board has it stream the same wav from a file (`tinyrig audio`)."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tinyrig.boards import load_board
from tinyrig.hil.dut.audio_files import read_wav, write_pcm
from tinyrig.hil.modes.sww_scoring import TruthEntry
from tinyrig.hil.targets.qemu import QemuTarget
from tinyrig_testing.sim_io_manager import IoManagerSim


@contextmanager
def emulated_sww_bench(elf: Path, truth: Path, entry: TruthEntry, recording, marker_log: Path) -> Iterator[IoManagerSim]:
    """The interface board (started) whose DUT is `elf` on qemu-mps2-an386; `recording` is what
    the board reports for `entry`'s wav."""
    scratch = Path(tempfile.mkdtemp(prefix="trbench", dir="/tmp"))  # short: a console command names it
    pcm = write_pcm(scratch / "a.pcm", read_wav(truth.parent / entry.wav_file))
    try:
        with QemuTarget(load_board("qemu-mps2-an386"), marker_log=marker_log, stream_pins=True,
                        icount_sleep=False) as qemu:
            run = qemu.start(elf)
            board = IoManagerSim(run.url, recordings={entry.wav_file: recording}, play_s=2.0,
                                 dut_setup=(f"tinyrig audio {pcm}",)).start()
            try:
                yield board
            finally:
                board.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
