"""How long an `infer N W` may stay silent before the device counts as gone.

A fixed timeout must cover the slowest window anyone could ask for (900 s), so a device that
hangs mid-run held the bench that long. Once one window has run, its wall time per inference
says how long the next should take: the deadline is that times the inferences asked for, times a
margin (a shared host can slow an emulator down several fold), never under a floor (start-up,
serial latency) and never over the cap, which also bounds the first window.
"""

from __future__ import annotations

import time

from tinyrig.hil.dut.client import Dut, DutTimeout, InferResult

FLOOR_S = 15.0
MARGIN = 4.0


class InferDeadline:
    def __init__(self, cap_s: float, *, floor_s: float = FLOOR_S, margin: float = MARGIN):
        self.cap_s = cap_s
        self.floor_s = min(floor_s, cap_s)
        self.margin = margin
        self.per_inference_s: float | None = None  # wall time per inference of the last window

    def timeout_s(self, iterations: int, warmup: int) -> float:
        if self.per_inference_s is None:
            return self.cap_s
        expected = (iterations + warmup) * self.per_inference_s
        return min(self.cap_s, max(self.floor_s, self.margin * expected))

    def observe(self, iterations: int, warmup: int, wall_s: float) -> None:
        self.per_inference_s = wall_s / max(1, iterations + warmup)

    def infer(self, dut: Dut, iterations: int, warmup: int) -> InferResult:
        """`dut.infer` under this deadline; a silent device raises DutTimeout saying what was expected."""
        timeout = self.timeout_s(iterations, warmup)
        started = time.monotonic()
        try:
            result = dut.infer(iterations, warmup, timeout_s=timeout)
        except DutTimeout as exc:
            if self.per_inference_s is None:
                basis = "the first window's limit (--infer-timeout)"
            else:
                basis = (f"{iterations + warmup} inferences at {self.per_inference_s:.3g} s each in the last window, "
                         f"x{self.margin:g}")
            raise DutTimeout(f"the device stopped answering: the window did not end within {timeout:.0f} s ({basis})",
                             exc.command, exc.recent) from None
        self.observe(iterations, warmup, time.monotonic() - started)
        return result
