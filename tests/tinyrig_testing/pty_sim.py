"""A simulated serial instrument on the master side of a pty.

The driver under test opens the slave side by its /dev/pts/N name through
pyserial, exactly as it would open /dev/ttyACM0, so the whole serial path
(termios, reads with timeouts, hang-ups) is the real one.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import threading
import time
import tty


class PtyInstrument:
    """Base: owns the pty and one thread that runs ``self.serve()``."""

    def __init__(self) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        # Raw from the start: no echo or CR/LF mangling before pyserial
        # configures the port itself.
        tty.setraw(self.slave_fd)
        os.set_blocking(self.master_fd, False)
        self.port = os.ttyname(self.slave_fd)
        self._stop = threading.Event()
        self._closed = False
        self._lock = threading.RLock()
        self.received = bytearray()  # every byte the driver sent, for asserts
        self.error: BaseException | None = None
        self.host_stalled = False
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    def start(self) -> "PtyInstrument":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.serve()
        except OSError:
            if not self._closed:  # a vanish() closes the fd under our feet
                raise
        except BaseException as exc:  # surfaced by close() so tests see it
            self.error = exc

    def serve(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------
    def read_available(self, timeout_s: float) -> bytes:
        """Bytes from the driver, waiting at most timeout_s for the first."""
        if self._closed:
            return b""
        r, _, _ = select.select([self.master_fd], [], [], timeout_s)
        if not r or self._closed:
            return b""
        try:
            data = os.read(self.master_fd, 4096)
        except BlockingIOError:
            return b""
        self.received += data
        return data

    def send(self, data: bytes) -> None:
        """Write all of data, unless the test is over or the host stopped reading.

        The master fd is non-blocking: a tty write would otherwise block
        until everything fits, holding the lock that vanish() needs.
        """
        view = memoryview(data)
        deadline = time.monotonic() + 2.0
        while view:
            with self._lock:
                if self._closed or self._stop.is_set():
                    return
                try:
                    n = os.write(self.master_fd, view)
                except BlockingIOError:
                    n = 0
            view = view[n:]
            if view:
                if time.monotonic() > deadline:
                    # The host stopped reading (e.g. after it failed the run):
                    # a real instrument would overflow; the simulation ends.
                    self.host_stalled = True
                    self._stop.set()
                    return
                select.select([], [self.master_fd], [], 0.05)

    def wait_host_drained(self, timeout_s: float = 2.0) -> None:
        """Wait until the driver has read everything sent so far.

        A hang-up discards bytes still queued in the pty, so a test that
        wants "the host had received N samples when the device vanished"
        waits for the queue to empty before hanging up.
        """
        # The kernel moves written bytes into the slave's read queue
        # asynchronously, so "empty" must hold for a while to mean drained.
        deadline = time.monotonic() + timeout_s
        empty_since = None
        while time.monotonic() < deadline:
            queued = struct.unpack("i", fcntl.ioctl(self.slave_fd, termios.FIONREAD, b"\0" * 4))[0]
            now = time.monotonic()
            if queued:
                empty_since = None
            elif empty_since is None:
                empty_since = now
            elif now - empty_since >= 0.05:
                return
            select.select([], [], [], 0.002)  # the pty offers no "drained" event
        raise TimeoutError("driver did not read what the simulator sent")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or self._closed

    def vanish(self) -> None:
        """Hang up: what the host sees when the USB cable is pulled."""
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self.master_fd)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.vanish()
        try:
            os.close(self.slave_fd)
        except OSError:
            pass
        if self.error is not None:
            raise self.error
