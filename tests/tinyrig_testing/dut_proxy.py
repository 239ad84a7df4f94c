"""A man in the middle on a DUT's console: real firmware (under QEMU) behind a TCP port that can
garble, rewrite or swallow what passes, the way a flaky cable, a hostile device or a board that
hangs would. `tinyrig run --target hardware --no-flash --port socket://127.0.0.1:PORT` talks to it
exactly as to a board on a serial port."""

from __future__ import annotations

import socket
import threading
from typing import Callable

Rewrite = Callable[[bytes], bytes]


class DutProxy:
    def __init__(self, upstream_url: str, *, device_line: Rewrite | None = None, host_command: Rewrite | None = None,
                 silent_after_infers: int | None = None, banner_noise: bytes = b""):
        """`device_line` rewrites each line the device sends (with its newline), `host_command` each
        command the host sends (without its '%'); after the host's `silent_after_infers`-th `infer`
        the device's answers are swallowed (it hangs mid-window); `banner_noise` goes to the host
        before anything the device says."""
        host, port = upstream_url.removeprefix("socket://").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.device_line = device_line or (lambda line: line)
        self.host_command = host_command or (lambda command: command)
        self.silent_after_infers = silent_after_infers
        self.banner_noise = banner_noise
        self.infers = 0
        self.silent = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            client, _ = self.server.accept()
        except OSError:
            return
        device = socket.create_connection(self.upstream)
        self._sockets += [client, device]
        if self.banner_noise:
            client.sendall(self.banner_noise)
        threading.Thread(target=self._pump, args=(device, client, b"\n", self._from_device), daemon=True).start()
        threading.Thread(target=self._pump, args=(client, device, b"%", self._from_host), daemon=True).start()

    def _from_device(self, line: bytes) -> bytes:
        return b"" if self.silent.is_set() else self.device_line(line)

    def _from_host(self, unit: bytes) -> bytes:
        command = self.host_command(unit[:-1])
        if command.startswith(b"infer"):
            self.infers += 1
            if self.silent_after_infers is not None and self.infers >= self.silent_after_infers:
                self.silent.set()
        return command + b"%"

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, separator: bytes, rewrite: Rewrite) -> None:
        pending = b""
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                pending += chunk
                *units, pending = pending.split(separator)
                out = b"".join(rewrite(unit + separator) for unit in units)
                if out:
                    sink.sendall(out)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass
