"""One firmware running on one target with a connected DUT: the lifecycle, owned in one place.

    with Bench(target, firmware_elf, baudrate=..., transcript=...) as bench:
        profile = bench.handshake(expected_model="kws01", expected_mode="performance")
        loader = bench.loader(fast_load=True)
        ... bench.dut, bench.run ...
    # loader closed, instruments closed, DUT closed, target stopped: in that order, on every way out

`tinyrig run`, `tinyrig profile` and the pytest plugin all go through it, so they start, talk
to and stop a target the same way (in the spirit of pyOCD's Session).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from tinyrig.hil.dut.client import Dut, DutDisconnected, DutError, Profile
from tinyrig.hil.dut.loading import Loader, choose_loader
from tinyrig.hil.targets.base import Run, Target


class Bench:
    def __init__(self, target: Target, elf: Path, *, baudrate: int = 115200, transcript=None):
        self.target = target
        self.elf = Path(elf)
        self.baudrate = baudrate
        self.transcript = transcript
        self.run: Run | None = None
        self.dut: Dut | None = None
        self._stack = ExitStack()

    def __enter__(self) -> "Bench":
        self._stack.callback(self.target.stop)  # registered first, so it runs last
        try:
            self.run = self.target.start(self.elf)
            # A run may reach its console through a relay (an interface board): it says how.
            self.dut = self._stack.enter_context(Dut(self.run.url, baudrate=self.baudrate,
                                                     transcript=self.transcript,
                                                     serial_factory=getattr(self.run, "serial_factory", None)))
            chunk = getattr(self.run, "db_chunk_bytes", None)
            if chunk:
                self.dut.db_chunk_bytes = chunk
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def on_close(self, close: Callable[[], object]) -> None:
        """Closes an instrument (or anything) with the bench, before the DUT and the target."""
        self._stack.callback(close)

    def handshake(self, expected_model: str | None = None, expected_mode: str | None = None) -> Profile:
        """Waits for the firmware and checks it is the one meant: its model and timestamp mode."""
        profile = self.dut.open()
        if expected_model and profile.model != expected_model:
            raise DutError(f"the firmware reports model {profile.model!r}, expected {expected_model!r}", "profile")
        mode = self.dut.timestamp_mode()
        if expected_mode and mode not in (None, expected_mode):
            raise DutError(f"the firmware is in {mode} mode, {expected_mode} needs {expected_mode}")
        return profile

    def loader(self, fast_load: bool = True) -> Loader:
        """How inputs reach the firmware (closed with the bench)."""
        loader = choose_loader(self.dut, self.target.kind, fast_load, run=self.run)
        self._stack.callback(loader.close)
        return loader

    def explain(self, exc: DutError) -> DutError:
        """A DUT error with the target's own account added when the target has died."""
        # A lost connection usually means the emulator died: give the OS a moment to report its
        # exit, so the error can say how it ended.
        if self.run.exit_code() is None and isinstance(exc, DutDisconnected):
            self.target.wait(2.0)
        if self.run.exit_code() is not None:
            # The target's account goes on the headline: it is the reason, the lines are detail.
            return DutError(f"{exc.message}; {self.run.describe_exit()}", exc.command, exc.recent)
        return exc
