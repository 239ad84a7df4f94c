"""Instructions per hop of the sww01 stream under QEMU: the audio front end, the model, the rest.

Builds the sww01 firmware in its `profile` environment (the model marks every layer, and the
streaming engine marks the end of the front end), streams a few seconds of noise through QEMU
with the pins watched, and splits each hop's processing-pin pulse (exact instruction counts):

  front end   processing pin high -> the front end's mark (window shift, pre-emphasis, FFT,
              power spectrum, mel filters, int8 levels)
  model       the front end's mark -> the last layer mark (history copy into the input tensor,
              the layers, minus the profile markers' own cost)
  detection   the last layer mark -> processing pin low (threshold, pin pulse, activation log)

    python benchmarks/sww_frontend.py [--board qemu-mps2-an386] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyrig.benchmarks import get_benchmark
from tinyrig.boards import load_board
from tinyrig.build.firmware_cache import prepare_firmware
from tinyrig.hil.dut.audio_files import write_pcm
from tinyrig.hil.dut.client import Dut
from tinyrig.hil.modes.sww_timeline import PinFunctions
from tinyrig.hil.targets.qemu import QemuTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="qemu-mps2-an386")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--model", type=Path,
                        default=Path(os.environ.get("TINYRIG_MODELS", "../shared/mlperf-tiny/models")) / "sww01.tflite")
    args = parser.parse_args()
    board = load_board(args.board)
    firmware = prepare_firmware(board, get_benchmark("sww01"), args.model, "profile")
    functions = PinFunctions.from_elf(firmware.build.elf)
    rng = np.random.default_rng(0)
    samples = np.clip(rng.normal(0, 2000, int(args.seconds * 16000)), -32768, 32767).astype(np.int16)
    with tempfile.TemporaryDirectory(prefix="trfe") as tmp:
        audio = write_pcm(Path(tmp) / "a.pcm", samples)
        target = QemuTarget(board, marker_log=Path(tmp) / "marks.txt", stream_pins=True, icount_sleep=False)
        run = target.start(firmware.build.elf)
        stores = []
        try:
            with Dut(run.url) as dut:
                dut.open()
                dut.command(f"tinyrig audio {audio}")
                dut.command("start")
                hops = len(samples) // 512
                deadline = time.monotonic() + 120
                while sum(functions.classify(s.pc) == "board_processing_pin_low" for s in stores) < hops + 1:
                    stores += run.markers.read_new()
                    if time.monotonic() > deadline:
                        raise SystemExit("the stream did not finish in 120 s")
                    time.sleep(0.05)
                dut.command("stop")
        finally:
            target.stop()
    front, model, rest = [], [], []
    start = marks = None
    for store in stores:
        kind = functions.classify(store.pc)
        if kind == "board_processing_pin_high":
            start, marks = store.instructions, []
        elif kind == "board_pin_mark" and marks is not None:
            marks.append(store.instructions)
        elif kind == "board_processing_pin_low" and marks:
            # marks: front end end, calibration BEGIN/END, then BEGIN/END per layer.
            overhead = marks[2] - marks[1]
            layers = (len(marks) - 3) // 2
            front.append(marks[0] - start)
            model.append(marks[-1] - marks[0] - (layers + 1) * overhead)
            rest.append(store.instructions - marks[-1])
            marks = None
    print(f"{args.board}, {len(front)} hops: instructions per hop (median)")
    print(f"  front end   {statistics.median(front):>10,.0f}")
    print(f"  model       {statistics.median(model):>10,.0f}  (incl. the history copy and marker calls)")
    print(f"  detection   {statistics.median(rest):>10,.0f}")


if __name__ == "__main__":
    main()
